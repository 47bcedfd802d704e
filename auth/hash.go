package auth

import (
	"crypto/sha256"
	"crypto/subtle"
	"encoding/hex"
	"errors"
	"strings"
)

// KeyHash is the SHA-256 digest of an API key: what a KeyStore indexes and
// what may be written to a database or a key file. API keys made by
// GenerateKey carry 256 random bits, so a fast hash is enough; a slow
// password hash would only add latency to every request. A KeyHash is a
// value and safe to copy and share.
type KeyHash [sha256.Size]byte

// HashKey returns the SHA-256 digest of key. It does not allocate for keys
// of up to 256 bytes.
func HashKey(key string) KeyHash {
	if len(key) <= 256 {
		// Copying into a stack buffer is cheaper than the heap copy that
		// []byte(key) makes for anything longer than 32 bytes.
		var buf [256]byte
		n := copy(buf[:], key)
		return sha256.Sum256(buf[:n])
	}
	return sha256.Sum256([]byte(key))
}

// String returns the digest in lowercase hex. A digest is safe to log: it
// cannot be turned back into the key.
func (h KeyHash) String() string { return hex.EncodeToString(h[:]) }

// IsZero reports whether h is the zero digest, which no key hashes to in
// practice and which stands for "no hash" in configuration.
func (h KeyHash) IsZero() bool { return h == KeyHash{} }

// MarshalText encodes the digest as lowercase hex.
func (h KeyHash) MarshalText() ([]byte, error) {
	out := make([]byte, hex.EncodedLen(len(h)))
	hex.Encode(out, h[:])
	return out, nil
}

// UnmarshalText decodes 64 hex digits, optionally prefixed by "sha256:".
func (h *KeyHash) UnmarshalText(text []byte) error {
	s := strings.TrimPrefix(string(text), "sha256:")
	if hex.DecodedLen(len(s)) != len(h) {
		return errors.New("auth: a key hash is 64 hex digits")
	}
	var out KeyHash
	if _, err := hex.Decode(out[:], []byte(s)); err != nil {
		return errors.New("auth: a key hash is 64 hex digits")
	}
	*h = out
	return nil
}

// ParseKeyHash parses a digest written by KeyHash.String, optionally
// prefixed by "sha256:".
func ParseKeyHash(s string) (KeyHash, error) {
	var h KeyHash
	err := h.UnmarshalText([]byte(s))
	return h, err
}

// EqualHash reports whether a and b are the same digest, in constant time.
// Use it in a KeyStore that fetches a row by some other index (a key ID
// embedded in the key, say) and must then compare the stored digest with
// the presented one: a plain == would tell an attacker, through timing, how
// many leading bytes matched.
func EqualHash(a, b KeyHash) bool {
	return subtle.ConstantTimeCompare(a[:], b[:]) == 1
}

// equalString compares two strings in time that depends only on their
// lengths, never on where they differ.
func equalString(a, b string) bool {
	if len(a) != len(b) {
		return false
	}
	var diff byte
	for i := 0; i < len(a); i++ {
		diff |= a[i] ^ b[i]
	}
	return diff == 0
}

// Fingerprint returns a short, log-safe description of key: its prefix up
// to the first '-' or '_' (at most 8 characters), an ellipsis, and its last
// four characters, as in "sk-…a1b2". Keys shorter than 16 characters show
// no tail, since four characters of a short key are a large share of its
// secret. Characters that are not printable ASCII are replaced by '?', so
// the result is safe in any log line. It is what tollgate writes wherever
// it must refer to a key; the key itself never appears in an error, a log
// or a panic.
func Fingerprint(key string) string {
	var b strings.Builder
	b.Grow(16)
	prefix := ""
	if i := strings.IndexAny(key, "-_"); i >= 0 && i < 8 && i+1 < len(key) {
		prefix = key[:i+1]
	}
	writeSafe(&b, prefix)
	b.WriteString("…")
	if len(key) >= 16 {
		writeSafe(&b, key[len(key)-4:])
	}
	return b.String()
}

func writeSafe(b *strings.Builder, s string) {
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c < 0x21 || c > 0x7e {
			c = '?'
		}
		b.WriteByte(c)
	}
}
