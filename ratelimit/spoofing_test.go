package ratelimit_test

import (
	"fmt"
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/tollgate/tollgate"
	"github.com/tollgate/tollgate/ratelimit"
)

// ipLimited is a per-client-address limit of three requests a minute,
// keyed by resolver.Key.
func ipLimited(t *testing.T, resolver *tollgate.IPResolver) http.Handler {
	t.Helper()
	f := newFixture(t)
	return f.handler(t, ok, []ratelimit.Policy{{Name: "ip", Key: resolver.Key, Limit: ratelimit.PerMinute(3)}})
}

func fromPeer(remote string, header ...string) *http.Request {
	r := httptest.NewRequest(http.MethodPost, "/v1/chat/completions", nil)
	r.RemoteAddr = remote
	for i := 0; i+1 < len(header); i += 2 {
		r.Header.Set(header[i], header[i+1])
	}
	return r
}

// TestSpoofedHeadersShareTheClientsBucket checks that a client that forges
// a new X-Forwarded-For or X-Real-IP on every request, from a peer the
// resolver does not trust, stays in its own bucket and is denied after its
// limit, while another client is unaffected.
func TestSpoofedHeadersShareTheClientsBucket(t *testing.T) {
	for name, resolver := range map[string]*tollgate.IPResolver{
		"trusting nothing":   tollgate.MustIPResolver(),
		"trusting a proxy":   tollgate.MustIPResolver(tollgate.TrustProxyCIDRs("10.0.0.0/8")),
		"custom header only": tollgate.MustIPResolver(tollgate.TrustProxyCIDRs("10.0.0.0/8"), tollgate.ForwardedHeaders("CF-Connecting-IP")),
	} {
		t.Run(name, func(t *testing.T) {
			h := ipLimited(t, resolver)
			for i := range 10 {
				forged := fmt.Sprintf("198.51.100.%d", i)
				r := fromPeer("203.0.113.7:4000", "X-Forwarded-For", forged+", 10.0.0.1", "X-Real-IP", forged, "CF-Connecting-IP", forged)
				want := http.StatusOK
				if i >= 3 {
					want = http.StatusTooManyRequests
				}
				assert.Equal(t, want, doReq(h, r).Code, "request %d", i)
			}
			assert.Equal(t, http.StatusOK, doReq(h, fromPeer("203.0.113.8:4000")).Code, "another client has its own bucket")
		})
	}
}

// TestIPv6ClientRotatingAddressesSharesOneBucket checks that a client
// walking through the addresses of its /64 is one client to an IP limit,
// and that the next /64 is another.
func TestIPv6ClientRotatingAddressesSharesOneBucket(t *testing.T) {
	h := ipLimited(t, tollgate.MustIPResolver())
	for i := range 10 {
		remote := fmt.Sprintf("[2001:db8:1:2:%x:%x::1]:443", i*7919%0x10000, i)
		want := http.StatusOK
		if i >= 3 {
			want = http.StatusTooManyRequests
		}
		assert.Equal(t, want, doReq(h, fromPeer(remote)).Code, "address %d (%s)", i, remote)
	}
	assert.Equal(t, http.StatusOK, doReq(h, fromPeer("[2001:db8:1:3::1]:443")).Code, "the next /64 is another client")
}

// TestTrustedProxyCannotBeBypassedByPrepending checks that behind a
// trusted proxy, which appends the address it saw, a client that prepends
// forged entries is still keyed by its real address (the rightmost
// untrusted one), and that distinct clients get distinct buckets.
func TestTrustedProxyCannotBeBypassedByPrepending(t *testing.T) {
	h := ipLimited(t, tollgate.MustIPResolver(tollgate.TrustProxyCIDRs("10.0.0.0/8")))
	for i := range 6 {
		forged := fmt.Sprintf("192.0.2.%d, 198.51.100.%d", i, i)
		r := fromPeer("10.0.0.2:1234", "X-Forwarded-For", forged+", 203.0.113.7, 10.0.0.9")
		want := http.StatusOK
		if i >= 3 {
			want = http.StatusTooManyRequests
		}
		require.Equal(t, want, doReq(h, r).Code, "request %d", i)
	}
	r := fromPeer("10.0.0.2:1234", "X-Forwarded-For", "203.0.113.8")
	assert.Equal(t, http.StatusOK, doReq(h, r).Code, "another client behind the same proxy")
}
