package auth_test

import (
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/tollgate/tollgate/auth"
)

// badKeyFiles are key files that must be refused with an error: never a
// panic, never a partial set of keys.
func badKeyFiles() map[string]string {
	return map[string]string{
		"empty":              ``,
		"truncated":          `{"keys":[{"id":"a","key":"sk-a`,
		"not an object":      `[1,2,3]`,
		"keys not a list":    `{"keys":{"id":"a"}}`,
		"id wrong type":      `{"keys":[{"id":7,"key":"sk-a"}]}`,
		"models wrong type":  `{"keys":[{"id":"a","key":"sk-a","models":"gpt-4o"}]}`,
		"bad expiry":         `{"keys":[{"id":"a","key":"sk-a","expires_at":"tomorrow"}]}`,
		"bad hash":           `{"keys":[{"id":"a","sha256":"xyz"}]}`,
		"bad ip":             `{"keys":[{"id":"a","key":"sk-a","allowed_ips":["not-an-ip"]}]}`,
		"unknown member":     `{"keys":[{"id":"a","key":"sk-a","model":["x"]}]}`,
		"nul in key":         "{\"keys\":[{\"id\":\"a\",\"key\":\"sk-\\u0000secret-value\"}]}",
		"raw nul":            "{\"keys\":[{\"id\":\"a\",\"key\":\"sk-\x00\"}]}",
		"invalid utf-8 key":  "{\"keys\":[{\"id\":\"a\",\"key\":\"sk-\xff\xfe-secret-value\"}]}",
		"non-ascii key":      `{"keys":[{"id":"a","key":"sk-ключ-secret-value"}]}`,
		"deeply nested":      `{"keys":[{"id":"a","key":"sk-a","scopes":` + strings.Repeat("[", 20_000) + strings.Repeat("]", 20_000) + `}]}`,
		"trailing data":      `{"keys":[]} {"keys":[]}`,
		"no keys member":     `{}`,
		"key and hash":       `{"keys":[{"id":"a","key":"sk-a","sha256":"` + auth.HashKey("sk-a").String() + `"}]}`,
		"duplicate ids":      `{"keys":[{"id":"a","key":"sk-a"},{"id":"a","key":"sk-b"}]}`,
		"oversized garbage":  strings.Repeat("\x00", 1<<20),
		"huge string member": `{"keys":[{"id":"` + strings.Repeat("x", 1<<20) + `"`,
	}
}

// TestParseKeysRefusesHostileFiles checks every bad key file is an error that
// names no plaintext key.
func TestParseKeysRefusesHostileFiles(t *testing.T) {
	for name, file := range badKeyFiles() {
		t.Run(name, func(t *testing.T) {
			keys, err := auth.ParseKeys(strings.NewReader(file))
			if err == nil {
				// Some files parse but cannot make a store.
				_, err = auth.NewMemoryStore(keys...)
			}
			require.Error(t, err)
			assert.NotContains(t, err.Error(), "secret-value", "errors name entries by ID, never by key")
		})
	}
}

// FuzzParseKeys checks that any input either parses into keys that make a
// store, with every key findable by its digest, or is an error; never a
// panic, and never an error that repeats a plaintext key.
func FuzzParseKeys(f *testing.F) {
	for _, file := range badKeyFiles() {
		if len(file) < 4096 {
			f.Add(file)
		}
	}
	f.Add(`{"keys":[{"id":"a","key":"sk-a","account":"acme","plan":"pro","models":["gpt-4o*"],"allowed_ips":["203.0.113.0/24"],"scopes":["chat"],"expires_at":"2027-01-01T00:00:00Z"}]}`)
	f.Add(`{"keys":[{"id":"h","sha256":"sha256:` + auth.HashKey("sk-h").String() + `"}]}`)
	f.Fuzz(func(t *testing.T, file string) {
		keys, err := auth.ParseKeys(strings.NewReader(file))
		if err != nil {
			for _, k := range keys {
				if k.Key != "" && strings.Contains(err.Error(), k.Key) {
					t.Fatalf("error %q repeats a key", err)
				}
			}
			return
		}
		store, err := auth.NewMemoryStore(keys...)
		if err != nil {
			return
		}
		for _, k := range keys {
			h := k.Hash
			if k.Key != "" {
				h = auth.HashKey(k.Key)
			}
			p, err := store.Lookup(t.Context(), h)
			if err != nil || p.KeyID != k.KeyID {
				t.Fatalf("key %q not found by its digest: %v", k.KeyID, err)
			}
		}
	})
}
