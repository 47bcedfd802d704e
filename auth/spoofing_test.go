package auth_test

import (
	"net/http"
	"net/http/httptest"
	"net/netip"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/tollgate/tollgate"
	"github.com/tollgate/tollgate/auth"
	apierrors "github.com/tollgate/tollgate/errors"
	"github.com/tollgate/tollgate/tollgatetest"
)

const officeKey = "sk-office-0123456789abcdef"

// officeStack authenticates a key that may be used only from 203.0.113.0/24
// and 2001:db8:aa::/48, with opts.
func officeStack(t *testing.T, opts ...auth.Option) http.Handler {
	t.Helper()
	store := auth.MustMemoryStore(auth.StaticKey{Key: officeKey, Principal: auth.Principal{
		KeyID: "office", Account: "acme",
		AllowedIPs: []netip.Prefix{netip.MustParsePrefix("203.0.113.0/24"), netip.MustParsePrefix("2001:db8:aa::/48")},
	}})
	a, err := auth.New(store, opts...)
	require.NoError(t, err)
	return a.Middleware(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) { w.WriteHeader(http.StatusNoContent) }))
}

// TestIPAllowListIgnoresSpoofedHeaders checks that a key restricted to an
// office network cannot be used from outside it by claiming an inside
// address in X-Forwarded-For or X-Real-IP, whether the Authenticator trusts
// no proxy (the default) or a proxy the client is not.
func TestIPAllowListIgnoresSpoofedHeaders(t *testing.T) {
	stacks := map[string]http.Handler{
		"default":          officeStack(t),
		"trusting 10/8":    officeStack(t, auth.ClientIPs(tollgate.MustIPResolver(tollgate.TrustProxyCIDRs("10.0.0.0/8")))),
		"trusting nothing": officeStack(t, auth.ClientIPs(tollgate.MustIPResolver())),
	}
	spoofs := []http.Header{
		{"X-Forwarded-For": {"203.0.113.9"}},
		{"X-Real-Ip": {"203.0.113.9"}},
		{"X-Forwarded-For": {"203.0.113.9, 10.0.0.1"}, "X-Real-Ip": {"203.0.113.9"}},
		{"X-Forwarded-For": {"2001:db8:aa::1"}},
		{"Forwarded": {"for=203.0.113.9"}},
	}
	for name, h := range stacks {
		for _, outside := range []string{"198.51.100.7:5000", "[2001:db8:bb::1]:443"} {
			for _, spoof := range spoofs {
				r := tollgatetest.Request(http.MethodPost, "/v1/chat/completions", officeKey, nil)
				r.RemoteAddr = outside
				for k, v := range spoof {
					r.Header[k] = v
				}
				rec := httptest.NewRecorder()
				h.ServeHTTP(rec, r)
				tollgatetest.AssertRecorderError(t, rec, http.StatusForbidden, apierrors.CodeIPNotAllowed)
			}
		}
		for _, inside := range []string{"203.0.113.200:1", "[2001:db8:aa:1::5]:1", "[::ffff:203.0.113.9]:1"} {
			r := tollgatetest.Request(http.MethodPost, "/v1/chat/completions", officeKey, nil)
			r.RemoteAddr = inside
			r.Header.Set("X-Forwarded-For", "198.51.100.7")
			rec := httptest.NewRecorder()
			h.ServeHTTP(rec, r)
			assert.Equal(t, http.StatusNoContent, rec.Code, "%s: %s is inside, whatever it forwards", name, inside)
		}
	}
}

// TestIPAllowListBehindATrustedProxy checks the resolver's right-to-left
// walk where it matters: behind a trusted proxy, the address the proxy
// appended decides, and entries the client prepended do not.
func TestIPAllowListBehindATrustedProxy(t *testing.T) {
	h := officeStack(t, auth.ClientIPs(tollgate.MustIPResolver(tollgate.TrustProxyCIDRs("10.0.0.0/8"))))
	cases := []struct {
		xff    string
		status int
	}{
		{"203.0.113.9", http.StatusNoContent},
		{"203.0.113.9, 10.0.0.7", http.StatusNoContent},
		{"203.0.113.9, 198.51.100.7", http.StatusForbidden}, // forged inside entry, real outside client
		{"198.51.100.7", http.StatusForbidden},
		{"garbage", http.StatusForbidden}, // no usable address: refused, never guessed
	}
	for _, tc := range cases {
		r := tollgatetest.Request(http.MethodPost, "/v1/chat/completions", officeKey, nil)
		r.RemoteAddr = "10.0.0.2:40000"
		r.Header.Set("X-Forwarded-For", tc.xff)
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, r)
		assert.Equal(t, tc.status, rec.Code, tc.xff)
	}
}
