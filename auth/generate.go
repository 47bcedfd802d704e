package auth

import (
	"crypto/rand"
	"crypto/subtle"
	"fmt"
	"hash/crc32"
	"io"
)

// Generated keys have this shape: the prefix, then keyBodyLen base62 digits
// holding 32 random bytes, then keyChecksumLen base62 digits holding the
// CRC-32 of everything before them.
const (
	keyRandomBytes = 32
	keyBodyLen     = 43 // ceil(256 / log2(62))
	keyChecksumLen = 6  // 62^6 > 2^32
	maxPrefixLen   = 32
	// GeneratedKeyLen is the length of a generated key without its prefix.
	GeneratedKeyLen = keyBodyLen + keyChecksumLen
)

const base62Digits = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"

// GenerateKey returns a new API key: prefix, then 32 bytes from
// crypto/rand in base62 (43 characters), then a 6-character base62
// checksum, as in "tg_live_" + 49 characters. The checksum lets CheckKey,
// and an Authenticator built with VerifyChecksum, refuse a mistyped or
// truncated key before any store lookup, and lets secret scanners
// recognise leaked keys with few false positives.
//
// The prefix may be empty and holds at most 32 letters, digits, '_' or
// '-'; ending it with '_' or '-' keeps Fingerprint readable ("tg_…a1b2").
// Store only HashKey(key); show the key to its owner once.
func GenerateKey(prefix string) (string, error) {
	return GenerateKeyFrom(rand.Reader, prefix)
}

// GenerateKeyFrom is GenerateKey reading its 32 random bytes from random,
// for tests that need a fixed key. Production code should call GenerateKey.
func GenerateKeyFrom(random io.Reader, prefix string) (string, error) {
	if err := validatePrefix(prefix); err != nil {
		return "", err
	}
	var secret [keyRandomBytes]byte
	if _, err := io.ReadFull(random, secret[:]); err != nil {
		return "", fmt.Errorf("auth: reading random bytes: %w", err)
	}
	out := make([]byte, 0, len(prefix)+GeneratedKeyLen)
	out = append(out, prefix...)
	out = appendBase62(out, secret[:], keyBodyLen)
	out = appendChecksum(out, crc32.ChecksumIEEE(out))
	return string(out), nil
}

// CheckKey reports whether key ends in a well-formed body and a checksum
// that matches it, as every key made by GenerateKey does. It catches
// typos, truncation and keys from another issuer without touching a store;
// it says nothing about whether the key exists.
func CheckKey(key string) bool {
	if len(key) < GeneratedKeyLen {
		return false
	}
	tail := key[len(key)-GeneratedKeyLen:]
	for i := 0; i < len(tail); i++ {
		if base62Value[tail[i]] < 0 {
			return false
		}
	}
	var want [keyChecksumLen]byte
	appendChecksum(want[:0], checksum(key[:len(key)-keyChecksumLen]))
	got := key[len(key)-keyChecksumLen:]
	var diff byte
	for i := range want {
		diff |= want[i] ^ got[i]
	}
	return subtle.ConstantTimeByteEq(diff, 0) == 1
}

// checksum returns the CRC-32 (IEEE) of s, as crc32.ChecksumIEEE would,
// reading the string in place: the library function would need s copied
// into a []byte on the heap.
func checksum(s string) uint32 {
	crc := ^uint32(0)
	for i := 0; i < len(s); i++ {
		crc = crc32.IEEETable[byte(crc)^s[i]] ^ crc>>8
	}
	return ^crc
}

func validatePrefix(prefix string) error {
	if len(prefix) > maxPrefixLen {
		return fmt.Errorf("auth: key prefix longer than %d characters", maxPrefixLen)
	}
	for i := 0; i < len(prefix); i++ {
		c := prefix[i]
		if base62Value[c] < 0 && c != '_' && c != '-' {
			return fmt.Errorf("auth: key prefix may hold only letters, digits, '_' and '-'")
		}
	}
	return nil
}

// appendBase62 appends the big-endian number in src as exactly width base62
// digits, most significant first. src is overwritten.
func appendBase62(dst, src []byte, width int) []byte {
	start := len(dst)
	dst = append(dst, make([]byte, width)...)
	for i := width - 1; i >= 0; i-- {
		var rem uint
		for j := range src {
			acc := rem<<8 | uint(src[j])
			src[j] = byte(acc / 62)
			rem = acc % 62
		}
		dst[start+i] = base62Digits[rem]
	}
	return dst
}

func appendChecksum(dst []byte, sum uint32) []byte {
	var b [4]byte
	b[0], b[1], b[2], b[3] = byte(sum>>24), byte(sum>>16), byte(sum>>8), byte(sum)
	return appendBase62(dst, b[:], keyChecksumLen)
}

// base62Value maps a byte to its base62 digit value, or -1.
var base62Value = func() (t [256]int8) {
	for i := range t {
		t[i] = -1
	}
	for i := 0; i < len(base62Digits); i++ {
		t[base62Digits[i]] = int8(i)
	}
	return t
}()
