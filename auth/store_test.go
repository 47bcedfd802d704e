package auth_test

import (
	"context"
	"net/netip"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/tollgate/tollgate/auth"
)

func TestMemoryStoreLookup(t *testing.T) {
	s, err := auth.NewMemoryStore(
		auth.StaticKey{Key: "sk-one", Principal: auth.Principal{KeyID: "one", Account: "a"}},
		auth.StaticKey{Hash: auth.HashKey("sk-two"), Principal: auth.Principal{KeyID: "two"}},
	)
	require.NoError(t, err)
	assert.Equal(t, 2, s.Len())

	p, err := s.Lookup(context.Background(), auth.HashKey("sk-one"))
	require.NoError(t, err)
	assert.Equal(t, "one", p.KeyID)
	p, err = s.Lookup(context.Background(), auth.HashKey("sk-two"))
	require.NoError(t, err)
	assert.Equal(t, "two", p.KeyID)
	_, err = s.Lookup(context.Background(), auth.HashKey("sk-three"))
	assert.ErrorIs(t, err, auth.ErrKeyNotFound)
}

func TestMemoryStoreValidates(t *testing.T) {
	p := func(id string) auth.Principal { return auth.Principal{KeyID: id} }
	tests := []struct {
		name string
		keys []auth.StaticKey
		msg  string
	}{
		{"no id", []auth.StaticKey{{Key: "sk-1"}}, "needs an id"},
		{"no key", []auth.StaticKey{{Principal: p("a")}}, "neither"},
		{"key and hash", []auth.StaticKey{{Key: "sk-1", Hash: auth.HashKey("sk-1"), Principal: p("a")}}, "both"},
		{"unprintable key", []auth.StaticKey{{Key: "sk 1", Principal: p("a")}}, "characters"},
		{"duplicate key", []auth.StaticKey{{Key: "sk-1", Principal: p("a")}, {Hash: auth.HashKey("sk-1"), Principal: p("b")}}, "duplicates"},
		{"duplicate id", []auth.StaticKey{{Key: "sk-1", Principal: p("a")}, {Key: "sk-2", Principal: p("a")}}, "used twice"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := auth.NewMemoryStore(tt.keys...)
			require.Error(t, err)
			assert.Contains(t, err.Error(), tt.msg)
			assert.NotContains(t, err.Error(), "sk-", "errors never show a key")
			assert.Panics(t, func() { auth.MustMemoryStore(tt.keys...) })
		})
	}
}

func TestMemoryStoreOwnsItsCopy(t *testing.T) {
	k := auth.StaticKey{Key: "sk-one", Principal: auth.Principal{
		KeyID: "one", Models: []string{"a"}, Metadata: map[string]string{"x": "1"},
		AllowedIPs: []netip.Prefix{netip.MustParsePrefix("10.1.2.3/8"), netip.MustParsePrefix("::ffff:192.0.2.0/120")},
	}}
	s := auth.MustMemoryStore(k)
	k.Models[0] = "changed"
	k.Metadata["x"] = "changed"
	p, err := s.Lookup(context.Background(), auth.HashKey("sk-one"))
	require.NoError(t, err)
	assert.Equal(t, []string{"a"}, p.Models)
	assert.Equal(t, "1", p.Metadata["x"])
	assert.Equal(t, []netip.Prefix{netip.MustParsePrefix("10.0.0.0/8"), netip.MustParsePrefix("192.0.2.0/24")}, p.AllowedIPs,
		"prefixes are masked and unmapped")
}

func TestMemoryStorePutDeleteReplace(t *testing.T) {
	var s auth.MemoryStore // the zero value is ready
	ctx := context.Background()
	require.NoError(t, s.Put(auth.StaticKey{Key: "sk-1", Principal: auth.Principal{KeyID: "one"}}))
	p, err := s.Lookup(ctx, auth.HashKey("sk-1"))
	require.NoError(t, err)
	assert.Equal(t, "one", p.KeyID)

	revokedAt := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	require.NoError(t, s.Put(auth.StaticKey{Key: "sk-1", Principal: auth.Principal{KeyID: "one", RevokedAt: revokedAt}}))
	p, err = s.Lookup(ctx, auth.HashKey("sk-1"))
	require.NoError(t, err)
	assert.True(t, p.Revoked(revokedAt))
	assert.Error(t, s.Put(auth.StaticKey{Principal: auth.Principal{KeyID: "x"}}))

	assert.True(t, s.Delete(auth.HashKey("sk-1")))
	assert.False(t, s.Delete(auth.HashKey("sk-1")))
	_, err = s.Lookup(ctx, auth.HashKey("sk-1"))
	assert.ErrorIs(t, err, auth.ErrKeyNotFound)

	require.NoError(t, s.Replace(auth.StaticKey{Key: "sk-2", Principal: auth.Principal{KeyID: "two"}}))
	assert.Error(t, s.Replace(auth.StaticKey{Key: "sk-3"}), "a bad set is refused")
	assert.Equal(t, 1, s.Len(), "and leaves the store unchanged")
}

func TestMemoryStoreConcurrentUse(t *testing.T) {
	s := auth.MustMemoryStore(auth.StaticKey{Key: "sk-1", Principal: auth.Principal{KeyID: "one"}})
	var wg sync.WaitGroup
	for i := range 4 {
		wg.Go(func() {
			for range 200 {
				_, _ = s.Lookup(context.Background(), auth.HashKey("sk-1"))
				if i == 0 {
					_ = s.Put(auth.StaticKey{Key: "sk-2", Principal: auth.Principal{KeyID: "two"}})
					s.Delete(auth.HashKey("sk-2"))
				}
			}
		})
	}
	wg.Wait()
	assert.Equal(t, 1, s.Len())
}

func TestLoadKeys(t *testing.T) {
	keys, err := auth.LoadKeys(filepath.Join("testdata", "keys.json"))
	require.NoError(t, err)
	require.Len(t, keys, 3)
	first := keys[0]
	assert.Equal(t, auth.HashKey("sk-live-example-file-key-1"), first.Hash)
	assert.Equal(t, "key_live_1", first.KeyID)
	assert.Equal(t, "acme", first.Account)
	assert.Equal(t, "pro", first.Plan)
	assert.Equal(t, []string{"gpt-4o", "claude-*"}, first.Models)
	assert.Equal(t, []netip.Prefix{netip.MustParsePrefix("203.0.113.0/24"), netip.MustParsePrefix("2001:db8::/32")}, first.AllowedIPs)
	assert.Equal(t, []string{"chat", "embeddings"}, first.Scopes)
	assert.Equal(t, time.Date(2030, 1, 1, 0, 0, 0, 0, time.UTC), first.ExpiresAt)
	assert.Equal(t, "alice@example.com", first.Metadata["owner"])
	assert.Equal(t, "sk-dev-local-only", keys[1].Key)
	assert.False(t, keys[2].RevokedAt.IsZero())

	s, err := auth.LoadMemoryStore(filepath.Join("testdata", "keys.json"))
	require.NoError(t, err)
	assert.Equal(t, 3, s.Len())
}

func TestParseKeysRefusesBadFiles(t *testing.T) {
	tests := []struct{ name, json string }{
		{"not json", `keys: []`},
		{"no keys member", `{}`},
		{"unknown member", `{"keys":[{"id":"a","key":"sk-1","model":["x"]}]}`},
		{"bad hash", `{"keys":[{"id":"a","sha256":"abc"}]}`},
		{"bad prefix", `{"keys":[{"id":"a","key":"sk-1","allowed_ips":["10.0.0.0/40"]}]}`},
		{"bad time", `{"keys":[{"id":"a","key":"sk-1","expires_at":"tomorrow"}]}`},
		{"no id", `{"keys":[{"key":"sk-secret-value"}]}`},
		{"trailing data", `{"keys":[]} {"keys":[]}`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := auth.ParseKeys(strings.NewReader(tt.json))
			require.Error(t, err)
			assert.NotContains(t, err.Error(), "sk-secret-value")
		})
	}
	_, err := auth.LoadKeys(filepath.Join(t.TempDir(), "missing.json"))
	assert.ErrorIs(t, err, os.ErrNotExist)
}
