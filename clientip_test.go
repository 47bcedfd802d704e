package tollgate_test

import (
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/tollgate/tollgate"
)

func ipRequest(remote string, header http.Header) *http.Request {
	r := httptest.NewRequest(http.MethodGet, "/", nil)
	r.RemoteAddr = remote
	for k, v := range header {
		r.Header[http.CanonicalHeaderKey(k)] = v
	}
	return r
}

func TestIPResolverClientIP(t *testing.T) {
	res, err := tollgate.NewIPResolver(tollgate.TrustProxyCIDRs("10.0.0.0/8", "2001:db8:ffff::/48", "192.0.2.7"))
	require.NoError(t, err)

	tests := []struct {
		name   string
		remote string
		header http.Header
		want   string // "" means no address
	}{
		{"remote ipv4", "203.0.113.5:4321", nil, "203.0.113.5"},
		{"remote ipv6", "[2001:db8::1]:443", nil, "2001:db8::1"},
		{"remote without port", "203.0.113.5", nil, "203.0.113.5"},
		{"remote mapped ipv4 is unmapped", "[::ffff:203.0.113.5]:80", nil, "203.0.113.5"},
		{"remote zone dropped", "[fe80::1%eth0]:80", nil, "fe80::1"},
		{"remote not an ip", "pipe", nil, ""},
		{"remote empty", "", nil, ""},
		{"untrusted peer header ignored", "203.0.113.5:1", http.Header{"X-Forwarded-For": {"1.1.1.1"}}, "203.0.113.5"},
		{"untrusted peer malformed header ignored", "203.0.113.5:1", http.Header{"X-Forwarded-For": {"garbage"}}, "203.0.113.5"},
		{"trusted peer without header", "10.1.2.3:1", nil, "10.1.2.3"},
		{"trusted peer forwarded", "10.1.2.3:1", http.Header{"X-Forwarded-For": {"198.51.100.9"}}, "198.51.100.9"},
		{"walk right to left past trusted hops", "10.1.2.3:1", http.Header{"X-Forwarded-For": {"6.6.6.6, 198.51.100.9, 10.9.9.9"}}, "198.51.100.9"},
		{"client-sent spoof on the left is skipped", "10.1.2.3:1", http.Header{"X-Forwarded-For": {"1.2.3.4,198.51.100.9"}}, "198.51.100.9"},
		{"several header lines in order", "10.1.2.3:1", http.Header{"X-Forwarded-For": {"6.6.6.6", "198.51.100.9, 10.0.0.1"}}, "198.51.100.9"},
		{"all hops trusted gives leftmost", "10.1.2.3:1", http.Header{"X-Forwarded-For": {"10.0.0.5, 10.0.0.6"}}, "10.0.0.5"},
		{"single host trust", "192.0.2.7:1", http.Header{"X-Forwarded-For": {"198.51.100.9"}}, "198.51.100.9"},
		{"ipv6 proxy", "[2001:db8:ffff::1]:1", http.Header{"X-Forwarded-For": {"2001:db8:1::9"}}, "2001:db8:1::9"},
		{"entry with port", "10.1.2.3:1", http.Header{"X-Forwarded-For": {"198.51.100.9:5555"}}, "198.51.100.9"},
		{"bracketed ipv6 entry", "10.1.2.3:1", http.Header{"X-Forwarded-For": {"[2001:db8:1::9]"}}, "2001:db8:1::9"},
		{"bracketed ipv6 entry with port", "10.1.2.3:1", http.Header{"X-Forwarded-For": {"[2001:db8:1::9]:80"}}, "2001:db8:1::9"},
		{"mapped entry unmapped", "10.1.2.3:1", http.Header{"X-Forwarded-For": {"::ffff:198.51.100.9"}}, "198.51.100.9"},
		{"spaces tolerated", "10.1.2.3:1", http.Header{"X-Forwarded-For": {"  198.51.100.9 ,\t10.0.0.1 "}}, "198.51.100.9"},
		{"malformed entry gives none", "10.1.2.3:1", http.Header{"X-Forwarded-For": {"198.51.100.9, nonsense"}}, ""},
		{"empty entry gives none", "10.1.2.3:1", http.Header{"X-Forwarded-For": {"198.51.100.9,,10.0.0.1"}}, ""},
		{"empty header gives none", "10.1.2.3:1", http.Header{"X-Forwarded-For": {""}}, ""},
		{"unknown token gives none", "10.1.2.3:1", http.Header{"X-Forwarded-For": {"unknown"}}, ""},
		{"malformed left of the client is not read", "10.1.2.3:1", http.Header{"X-Forwarded-For": {"junk, 198.51.100.9"}}, "198.51.100.9"},
		{"x-real-ip used without xff", "10.1.2.3:1", http.Header{"X-Real-IP": {"198.51.100.9"}}, "198.51.100.9"},
		{"xff preferred over x-real-ip", "10.1.2.3:1", http.Header{"X-Real-IP": {"198.51.100.1"}, "X-Forwarded-For": {"198.51.100.9"}}, "198.51.100.9"},
		{"malformed x-real-ip gives none", "10.1.2.3:1", http.Header{"X-Real-IP": {"198.51.100.9 extra"}}, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := res.ClientIP(ipRequest(tt.remote, tt.header))
			if tt.want == "" {
				assert.False(t, got.IsValid(), "got %v", got)
				return
			}
			assert.Equal(t, netip.MustParseAddr(tt.want), got)
		})
	}
}

func TestClientIPTrustsNoHeader(t *testing.T) {
	r := ipRequest("10.1.2.3:1", http.Header{"X-Forwarded-For": {"198.51.100.9"}})
	assert.Equal(t, netip.MustParseAddr("10.1.2.3"), tollgate.ClientIP(r))

	var zero tollgate.IPResolver
	assert.Equal(t, netip.MustParseAddr("10.1.2.3"), zero.ClientIP(r))
	var nilRes *tollgate.IPResolver
	assert.Equal(t, netip.MustParseAddr("10.1.2.3"), nilRes.ClientIP(r))
	assert.False(t, nilRes.Trusted(netip.MustParseAddr("10.1.2.3")))
}

func TestIPResolverCustomHeaders(t *testing.T) {
	res := tollgate.MustIPResolver(
		tollgate.TrustProxies(netip.MustParsePrefix("10.0.0.0/8")),
		tollgate.ForwardedHeaders("cf-connecting-ip"),
	)
	r := ipRequest("10.0.0.1:1", http.Header{
		"Cf-Connecting-Ip": {"198.51.100.9"},
		"X-Forwarded-For":  {"6.6.6.6"},
	})
	assert.Equal(t, netip.MustParseAddr("198.51.100.9"), res.ClientIP(r))
}

func TestIPResolverMappedPrefix(t *testing.T) {
	res := tollgate.MustIPResolver(tollgate.TrustProxyCIDRs("::ffff:10.0.0.0/104"))
	assert.True(t, res.Trusted(netip.MustParseAddr("10.2.3.4")))
	assert.True(t, res.Trusted(netip.MustParseAddr("::ffff:10.2.3.4")))
	assert.False(t, res.Trusted(netip.MustParseAddr("11.2.3.4")))
}

func TestNewIPResolverValidates(t *testing.T) {
	tests := []struct {
		name string
		opts []tollgate.IPResolverOption
	}{
		{"bad cidr", []tollgate.IPResolverOption{tollgate.TrustProxyCIDRs("10.0.0.0/33")}},
		{"bad address", []tollgate.IPResolverOption{tollgate.TrustProxyCIDRs("not-an-ip")}},
		{"zero prefix", []tollgate.IPResolverOption{tollgate.TrustProxies(netip.Prefix{})}},
		{"no headers", []tollgate.IPResolverOption{tollgate.ForwardedHeaders()}},
		{"empty header", []tollgate.IPResolverOption{tollgate.ForwardedHeaders("")}},
		{"bad header", []tollgate.IPResolverOption{tollgate.ForwardedHeaders("X Forwarded")}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := tollgate.NewIPResolver(tt.opts...)
			assert.Error(t, err)
			assert.Panics(t, func() { tollgate.MustIPResolver(tt.opts...) })
		})
	}
}

func TestIPGroup(t *testing.T) {
	tests := []struct{ addr, want string }{
		{"203.0.113.5", "203.0.113.5/32"},
		{"::ffff:203.0.113.5", "203.0.113.5/32"},
		{"2001:db8:1:2:3:4:5:6", "2001:db8:1:2::/64"},
		{"2001:db8:1:2:ffff::1", "2001:db8:1:2::/64"},
		{"fe80::1%eth0", "fe80::/64"},
	}
	for _, tt := range tests {
		t.Run(tt.addr, func(t *testing.T) {
			assert.Equal(t, tt.want, tollgate.IPGroup(netip.MustParseAddr(tt.addr)).String())
		})
	}
	assert.False(t, tollgate.IPGroup(netip.Addr{}).IsValid())
}

func TestIPResolverKey(t *testing.T) {
	res := tollgate.MustIPResolver(tollgate.TrustProxyCIDRs("10.0.0.0/8"))
	var key func(*http.Request) (string, error) = res.Key

	k1, err := key(ipRequest("[2001:db8:1:2::1]:1", nil))
	require.NoError(t, err)
	k2, err := key(ipRequest("[2001:db8:1:2::ffff]:1", nil))
	require.NoError(t, err)
	assert.Equal(t, "2001:db8:1:2::/64", k1)
	assert.Equal(t, k1, k2, "one /64 shares a key")

	k3, err := key(ipRequest("10.0.0.1:1", http.Header{"X-Forwarded-For": {"198.51.100.9"}}))
	require.NoError(t, err)
	assert.Equal(t, "198.51.100.9/32", k3)

	_, err = key(ipRequest("10.0.0.1:1", http.Header{"X-Forwarded-For": {"bogus"}}))
	assert.ErrorIs(t, err, tollgate.ErrNoClientIP)
}

func TestClientIPDoesNotAllocate(t *testing.T) {
	res := tollgate.MustIPResolver(tollgate.TrustProxyCIDRs("10.0.0.0/8"))
	direct := ipRequest("203.0.113.5:4321", nil)
	proxied := ipRequest("10.0.0.1:1", http.Header{"X-Forwarded-For": {"198.51.100.9, 10.0.0.2"}})
	assert.Zero(t, testing.AllocsPerRun(100, func() { _ = res.ClientIP(direct) }))
	assert.Zero(t, testing.AllocsPerRun(100, func() { _ = res.ClientIP(proxied) }))
}

func BenchmarkClientIP(b *testing.B) {
	res := tollgate.MustIPResolver(tollgate.TrustProxyCIDRs("10.0.0.0/8"))
	b.Run("remote", func(b *testing.B) {
		r := ipRequest("203.0.113.5:4321", nil)
		b.ReportAllocs()
		for b.Loop() {
			_ = res.ClientIP(r)
		}
	})
	b.Run("forwarded", func(b *testing.B) {
		r := ipRequest("10.0.0.1:1", http.Header{"X-Forwarded-For": {"198.51.100.9, 10.0.0.2, 10.0.0.3"}})
		b.ReportAllocs()
		for b.Loop() {
			_ = res.ClientIP(r)
		}
	})
}

func ExampleIPResolver() {
	res := tollgate.MustIPResolver(tollgate.TrustProxyCIDRs("10.0.0.0/8"))

	r := httptest.NewRequest(http.MethodGet, "/", nil)
	r.RemoteAddr = "10.0.0.7:51234" // the load balancer
	r.Header.Set("X-Forwarded-For", "1.2.3.4, 198.51.100.9")
	fmt.Println(res.ClientIP(r))

	key, _ := res.Key(r)
	fmt.Println(key)
	// Output:
	// 198.51.100.9
	// 198.51.100.9/32
}
