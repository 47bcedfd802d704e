package auth

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"sync"
)

// ErrKeyNotFound is what a KeyStore returns for a hash it does not know.
// The Authenticator turns it into a 401 invalid_api_key; any other error
// becomes a 503, since the key may well be valid.
var ErrKeyNotFound = errors.New("auth: key not found")

// KeyStore finds the principal behind an API key, by the key's SHA-256
// digest (HashKey) and never by the key itself: the plaintext never has to
// reach, or be stored in, the backing database. Looking up by digest also
// makes the database's ordinary (not constant-time) index comparison
// harmless: timing it reveals bits of a SHA-256 output, not of a key.
//
// Lookup returns ErrKeyNotFound (possibly wrapped) for an unknown digest
// and another error when the store cannot answer. The returned *Principal
// is shared among requests and must never be modified afterwards by the
// store or anyone else. Implementations must be safe for concurrent use.
// A slow store can be wrapped in NewCachedStore.
type KeyStore interface {
	Lookup(ctx context.Context, hash KeyHash) (*Principal, error)
}

// KeyStoreFunc adapts a function to KeyStore, for stores backed by the
// application's own database. The function must be safe for concurrent
// use; a nil KeyStoreFunc panics when called.
type KeyStoreFunc func(ctx context.Context, hash KeyHash) (*Principal, error)

// Lookup calls f.
func (f KeyStoreFunc) Lookup(ctx context.Context, hash KeyHash) (*Principal, error) {
	return f(ctx, hash)
}

// StaticKey is one key given to a MemoryStore, by its plaintext (Key) or
// its digest (Hash), with the principal it authenticates. Configuration
// files should carry digests; plaintext is convenient in tests and local
// development. The zero value is refused by NewMemoryStore: an entry needs
// a key ID and exactly one of Key and Hash.
type StaticKey struct {
	// Key is the API key. It is hashed when the store is built and not
	// kept.
	Key string `json:"key,omitempty"`
	// Hash is HashKey of the key, used when Key is empty.
	Hash KeyHash `json:"sha256,omitzero"`
	Principal
}

// digest returns the key's hash after checking the entry.
func (k *StaticKey) digest() (KeyHash, error) {
	if k.KeyID == "" {
		return KeyHash{}, errors.New("auth: a key needs an id")
	}
	switch {
	case k.Key != "" && !k.Hash.IsZero():
		return KeyHash{}, fmt.Errorf("auth: key %q has both a key and a hash; give one", k.KeyID)
	case k.Key != "":
		if !printableASCII(k.Key) {
			return KeyHash{}, fmt.Errorf("auth: key %q holds characters no request can carry", k.KeyID)
		}
		return HashKey(k.Key), nil
	case !k.Hash.IsZero():
		return k.Hash, nil
	}
	return KeyHash{}, fmt.Errorf("auth: key %q has neither a key nor a hash", k.KeyID)
}

// MemoryStore is a KeyStore held in memory: a map from key digest to
// principal. Lookups take a read lock and do not allocate. It is safe for
// concurrent use; Put, Delete and Replace take effect for the next lookup,
// so keys can be revoked or rotated at run time. The zero value is an empty
// store, ready to use.
type MemoryStore struct {
	mu   sync.RWMutex
	keys map[KeyHash]*Principal
}

// NewMemoryStore returns a store holding keys. It fails when an entry has
// no ID, neither or both of Key and Hash, or when two entries share a key
// or an ID.
func NewMemoryStore(keys ...StaticKey) (*MemoryStore, error) {
	m, err := buildKeyMap(keys)
	if err != nil {
		return nil, err
	}
	return &MemoryStore{keys: m}, nil
}

// MustMemoryStore is NewMemoryStore that panics on invalid keys, for use at
// start-up.
func MustMemoryStore(keys ...StaticKey) *MemoryStore {
	s, err := NewMemoryStore(keys...)
	if err != nil {
		panic(err)
	}
	return s
}

func buildKeyMap(keys []StaticKey) (map[KeyHash]*Principal, error) {
	m := make(map[KeyHash]*Principal, len(keys))
	ids := make(map[string]bool, len(keys))
	for i := range keys {
		h, err := keys[i].digest()
		if err != nil {
			return nil, err
		}
		if _, dup := m[h]; dup {
			return nil, fmt.Errorf("auth: key %q duplicates another key", keys[i].KeyID)
		}
		if ids[keys[i].KeyID] {
			return nil, fmt.Errorf("auth: key id %q is used twice", keys[i].KeyID)
		}
		ids[keys[i].KeyID] = true
		m[h] = keys[i].Principal.clone()
	}
	return m, nil
}

// Lookup returns the principal for hash, or ErrKeyNotFound.
func (s *MemoryStore) Lookup(_ context.Context, hash KeyHash) (*Principal, error) {
	s.mu.RLock()
	p := s.keys[hash]
	s.mu.RUnlock()
	if p == nil {
		return nil, ErrKeyNotFound
	}
	return p, nil
}

// Put adds a key or replaces the principal of an existing one. The store
// keeps its own copy of the principal.
func (s *MemoryStore) Put(key StaticKey) error {
	h, err := key.digest()
	if err != nil {
		return err
	}
	p := key.Principal.clone()
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.keys == nil {
		s.keys = make(map[KeyHash]*Principal)
	}
	s.keys[h] = p
	return nil
}

// Delete removes the key with digest hash and reports whether it was
// there. To refuse a key with the revoked_api_key code rather than
// invalid_api_key, Put it with RevokedAt set instead.
func (s *MemoryStore) Delete(hash KeyHash) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	_, ok := s.keys[hash]
	delete(s.keys, hash)
	return ok
}

// Replace swaps the whole set of keys at once, as when a key file is
// reloaded; on error the store is left unchanged.
func (s *MemoryStore) Replace(keys ...StaticKey) error {
	m, err := buildKeyMap(keys)
	if err != nil {
		return err
	}
	s.mu.Lock()
	s.keys = m
	s.mu.Unlock()
	return nil
}

// Len returns the number of keys held.
func (s *MemoryStore) Len() int {
	s.mu.RLock()
	defer s.mu.RUnlock()
	return len(s.keys)
}

// keyFile is the JSON shape ParseKeys reads.
type keyFile struct {
	Keys []StaticKey `json:"keys"`
}

// ParseKeys reads a key file: a JSON object whose "keys" member lists the
// keys, each with its principal's fields at the same level:
//
//	{"keys": [
//	  {"id": "key_1", "sha256": "9f86d0…", "account": "acme", "plan": "pro",
//	   "models": ["gpt-4o*"], "allowed_ips": ["203.0.113.0/24"],
//	   "scopes": ["chat"], "expires_at": "2027-01-01T00:00:00Z"},
//	  {"id": "dev", "key": "sk-dev-only", "account": "me"}
//	]}
//
// "sha256" is HashKey of the key in hex (as KeyHash.String writes it);
// "key" gives the plaintext instead, which is convenient for development
// but puts a secret in a file. Times are RFC 3339. Unknown members are
// refused, so that a typo ("model" for "models") cannot silently lift a
// restriction. Errors name entries by ID, never by key.
func ParseKeys(r io.Reader) ([]StaticKey, error) {
	dec := json.NewDecoder(r)
	dec.DisallowUnknownFields()
	var f keyFile
	if err := dec.Decode(&f); err != nil {
		return nil, fmt.Errorf("auth: key file: %w", err)
	}
	if _, err := dec.Token(); !errors.Is(err, io.EOF) {
		return nil, errors.New("auth: key file: unexpected data after the JSON object")
	}
	if f.Keys == nil {
		return nil, errors.New(`auth: key file: no "keys" member`)
	}
	for i := range f.Keys {
		if _, err := f.Keys[i].digest(); err != nil {
			return nil, fmt.Errorf("auth: key file entry %d: %w", i, err)
		}
	}
	return f.Keys, nil
}

// LoadKeys reads the key file at path; see ParseKeys for its format.
func LoadKeys(path string) ([]StaticKey, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("auth: %w", err)
	}
	defer f.Close()
	return ParseKeys(f)
}

// LoadMemoryStore returns a MemoryStore holding the keys of the file at
// path. To reload the file later, call LoadKeys and MemoryStore.Replace.
func LoadMemoryStore(path string) (*MemoryStore, error) {
	keys, err := LoadKeys(path)
	if err != nil {
		return nil, err
	}
	return NewMemoryStore(keys...)
}
