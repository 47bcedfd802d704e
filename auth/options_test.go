package auth_test

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/tollgate/tollgate"
	"github.com/tollgate/tollgate/auth"
	apierrors "github.com/tollgate/tollgate/errors"
)

func TestNewValidates(t *testing.T) {
	store := auth.MustMemoryStore()
	tests := []struct {
		name  string
		store auth.KeyStore
		opts  []auth.Option
	}{
		{"nil store", nil, nil},
		{"no sources", store, []auth.Option{auth.Sources()}},
		{"zero source", store, []auth.Option{auth.Sources(auth.Source{})}},
		{"bad header", store, []auth.Option{auth.Sources(auth.Header("x:y"))}},
		{"zero key length", store, []auth.Option{auth.MaxKeyLength(0)}},
		{"empty scope", store, []auth.Option{auth.RequiredScopes("chat", "")}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := auth.New(tt.store, tt.opts...)
			assert.Error(t, err)
			assert.Panics(t, func() { auth.MustNew(tt.store, tt.opts...) })
			assert.Panics(t, func() { auth.Middleware(tt.store, tt.opts...) })
		})
	}
}

func TestAuthenticate(t *testing.T) {
	a := auth.MustNew(auth.MustMemoryStore(auth.StaticKey{Key: validKey, Principal: auth.Principal{KeyID: "valid"}}))
	r := httptest.NewRequest(http.MethodGet, "/ws", nil)
	r.Header.Set("Authorization", "Bearer "+validKey)
	p, err := a.Authenticate(r)
	require.NoError(t, err)
	assert.Equal(t, "valid", p.KeyID)

	r.Header.Set("Authorization", "Bearer sk-nope")
	p, err = a.Authenticate(r)
	assert.Nil(t, p)
	assert.ErrorIs(t, err, apierrors.New(apierrors.CodeInvalidAPIKey))
}

func TestOnRejectSeesOnlyFingerprints(t *testing.T) {
	const secret = "sk-live-abcdefghijklmnopqrstuvwxyz"
	var seen []*apierrors.Error
	store := auth.KeyStoreFunc(func(_ context.Context, h auth.KeyHash) (*auth.Principal, error) {
		if h == auth.HashKey(secret+"-down") {
			return nil, errors.New("timeout talking to db")
		}
		return nil, auth.ErrKeyNotFound
	})
	h := auth.Middleware(store, auth.OnReject(func(r *http.Request, e *apierrors.Error) {
		seen = append(seen, e)
	}))(http.NotFoundHandler())
	for _, key := range []string{secret, secret + "-down", "Bearer " + secret} {
		r := httptest.NewRequest(http.MethodGet, "/", nil)
		r.Header.Set("X-Api-Key", key)
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, r)
		assert.NotContains(t, rec.Body.String(), "abcdefghijklmnop")
	}
	require.Len(t, seen, 3)
	assert.Equal(t, apierrors.CodeInvalidAPIKey, seen[0].Code)
	assert.Contains(t, seen[0].Error(), "sk-…wxyz")
	assert.Equal(t, apierrors.CodeServiceUnavailable, seen[1].Code)
	assert.Contains(t, seen[1].Error(), "timeout talking to db")
	for _, e := range seen {
		assert.NotContains(t, e.Error(), "abcdefghijklmnop")
	}
}

func TestVerifyChecksum(t *testing.T) {
	key, err := auth.GenerateKey("tg_")
	require.NoError(t, err)
	var lookups int
	mem := auth.MustMemoryStore(auth.StaticKey{Key: key, Principal: auth.Principal{KeyID: "gen"}})
	store := auth.KeyStoreFunc(func(ctx context.Context, h auth.KeyHash) (*auth.Principal, error) {
		lookups++
		return mem.Lookup(ctx, h)
	})
	h := auth.Middleware(store, auth.VerifyChecksum())(http.HandlerFunc(func(http.ResponseWriter, *http.Request) {}))

	typo := key[:10] + string(key[10]^1) + key[11:]
	for _, tt := range []struct {
		key     string
		status  int
		lookups int
	}{{key, 200, 1}, {typo, 401, 1}, {"tg_short", 401, 1}} {
		r := httptest.NewRequest(http.MethodGet, "/", nil)
		r.Header.Set("Authorization", "Bearer "+tt.key)
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, r)
		assert.Equal(t, tt.status, rec.Code)
		assert.Equal(t, tt.lookups, lookups, "a bad checksum never reaches the store")
	}
}

func TestClientIPsBehindProxy(t *testing.T) {
	store := auth.MustMemoryStore(auth.StaticKey{Key: validKey, Principal: auth.Principal{
		KeyID: "office", AllowedIPs: []netip.Prefix{netip.MustParsePrefix("203.0.113.0/24")},
	}})
	direct := auth.Middleware(store)(http.HandlerFunc(func(http.ResponseWriter, *http.Request) {}))
	proxied := auth.Middleware(store, auth.ClientIPs(tollgate.MustIPResolver(tollgate.TrustProxyCIDRs("10.0.0.0/8"))))(
		http.HandlerFunc(func(http.ResponseWriter, *http.Request) {}))
	tests := []struct {
		name    string
		handler http.Handler
		remote  string
		xff     string
		status  int
	}{
		{"direct, allowed", direct, "203.0.113.5:1", "", 200},
		{"direct, header not trusted", direct, "10.0.0.1:1", "203.0.113.5", 403},
		{"proxy, forwarded allowed", proxied, "10.0.0.1:1", "203.0.113.5", 200},
		{"proxy, forwarded denied", proxied, "10.0.0.1:1", "198.51.100.1", 403},
		{"proxy, spoofed left entry ignored", proxied, "10.0.0.1:1", "203.0.113.5, 198.51.100.1", 403},
		{"proxy, malformed header", proxied, "10.0.0.1:1", "garbage", 403},
		{"unknown peer address", direct, "@", "", 403},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := httptest.NewRequest(http.MethodGet, "/", nil)
			r.RemoteAddr = tt.remote
			if tt.xff != "" {
				r.Header.Set("X-Forwarded-For", tt.xff)
			}
			r.Header.Set("X-Api-Key", validKey)
			rec := httptest.NewRecorder()
			tt.handler.ServeHTTP(rec, r)
			assert.Equal(t, tt.status, rec.Code)
		})
	}
}

func TestStoreMisbehaviour(t *testing.T) {
	tests := []struct {
		name   string
		lookup func() (*auth.Principal, error)
		status int
	}{
		{"nil principal, nil error", func() (*auth.Principal, error) { return nil, nil }, 401},
		{"wrapped not found", func() (*auth.Principal, error) { return nil, errors.Join(errors.New("row"), auth.ErrKeyNotFound) }, 401},
		{"principal without id", func() (*auth.Principal, error) { return &auth.Principal{Account: "a"}, nil }, 503},
		{"context deadline", func() (*auth.Principal, error) { return nil, context.DeadlineExceeded }, 503},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			store := auth.KeyStoreFunc(func(context.Context, auth.KeyHash) (*auth.Principal, error) { return tt.lookup() })
			h := auth.Middleware(store)(http.HandlerFunc(func(http.ResponseWriter, *http.Request) {
				t.Error("the handler must not run")
			}))
			r := httptest.NewRequest(http.MethodGet, "/", nil)
			r.Header.Set("X-Api-Key", validKey)
			rec := httptest.NewRecorder()
			assert.NotPanics(t, func() { h.ServeHTTP(rec, r) })
			assert.Equal(t, tt.status, rec.Code)
		})
	}
}

func TestNoChallengeWithoutSchemeSource(t *testing.T) {
	h := auth.Middleware(auth.MustMemoryStore(), auth.Sources(auth.Header("X-Api-Key")))(http.NotFoundHandler())
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/", nil))
	assert.Equal(t, http.StatusUnauthorized, rec.Code)
	assert.Empty(t, rec.Header().Get("WWW-Authenticate"))
	assert.True(t, strings.Contains(rec.Body.String(), "the X-Api-Key header"))
}
