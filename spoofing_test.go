package tollgate_test

import (
	"net/http"
	"net/netip"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/tollgate/tollgate"
)

// spoofHeaders are forwarding headers a client may forge: plausible
// addresses, lists, several lines, IPv6, garbage, NUL bytes and invalid
// UTF-8, and one very long list.
func spoofHeaders() []http.Header {
	long := strings.TrimSuffix(strings.Repeat("198.51.100.1, ", 10_000), ", ")
	return []http.Header{
		{"X-Forwarded-For": {"1.2.3.4"}},
		{"X-Real-Ip": {"1.2.3.4"}},
		{"X-Forwarded-For": {"1.2.3.4, 5.6.7.8"}, "X-Real-Ip": {"9.9.9.9"}},
		{"X-Forwarded-For": {"10.0.0.1", "2001:db8::1"}},
		{"X-Forwarded-For": {"[2001:db8::1]:443"}},
		{"X-Forwarded-For": {"unknown"}},
		{"X-Forwarded-For": {"127.0.0.1\x00"}},
		{"X-Forwarded-For": {"\xff\xfe"}},
		{"X-Forwarded-For": {""}},
		{"X-Forwarded-For": {long}},
		{"Forwarded": {"for=1.2.3.4"}, "True-Client-Ip": {"1.2.3.4"}, "Cf-Connecting-Ip": {"1.2.3.4"}},
	}
}

// TestSpoofedForwardingHeadersChangeNothing checks that, from a peer that
// is not a trusted proxy, no forwarding header moves the rate-limit key or
// the client address, whatever the resolver trusts.
func TestSpoofedForwardingHeadersChangeNothing(t *testing.T) {
	resolvers := map[string]*tollgate.IPResolver{
		"nil":         nil,
		"no proxies":  tollgate.MustIPResolver(),
		"lb in 10/8":  tollgate.MustIPResolver(tollgate.TrustProxyCIDRs("10.0.0.0/8", "fd00::/8")),
		"cloudflare":  tollgate.MustIPResolver(tollgate.TrustProxyCIDRs("10.0.0.0/8"), tollgate.ForwardedHeaders("CF-Connecting-IP")),
		"trust ipv6 ": tollgate.MustIPResolver(tollgate.TrustProxyCIDRs("2001:db8:ffff::/48")),
	}
	peers := []struct{ remote, key string }{
		{"203.0.113.7:5555", "203.0.113.7/32"},
		{"[2001:db8:1:2:3:4:5:6]:443", "2001:db8:1:2::/64"},
		{"[::ffff:203.0.113.7]:80", "203.0.113.7/32"},
		{"[fe80::1%eth0]:80", "fe80::/64"},
	}
	for name, res := range resolvers {
		for _, p := range peers {
			want := ipRequest(p.remote, nil)
			wantAddr := res.ClientIP(want)
			for _, h := range spoofHeaders() {
				r := ipRequest(p.remote, h)
				key, err := res.Key(r)
				require.NoError(t, err, "%s %s", name, p.remote)
				assert.Equal(t, p.key, key, "%s: peer %s, headers %q", name, p.remote, h)
				assert.Equal(t, wantAddr, res.ClientIP(r), "%s: peer %s", name, p.remote)
			}
		}
	}
}

// TestIPv6ClientsGroupedBySlash64 checks that every address of one /64
// shares a key, whichever way it is written, and that the neighbouring /64
// does not.
func TestIPv6ClientsGroupedBySlash64(t *testing.T) {
	res := tollgate.MustIPResolver()
	key := func(remote string) string {
		k, err := res.Key(ipRequest(remote, nil))
		require.NoError(t, err, remote)
		return k
	}
	same := []string{
		"[2001:db8:aa:bb::1]:1", "[2001:db8:aa:bb:ffff:ffff:ffff:ffff]:2", "[2001:0db8:00aa:00bb:1234:5678:9abc:def0]:3",
		"[2001:db8:aa:bb::1%eth0]:4", "2001:db8:aa:bb::42",
	}
	for _, remote := range same {
		assert.Equal(t, "2001:db8:aa:bb::/64", key(remote), remote)
	}
	assert.Equal(t, "2001:db8:aa:bc::/64", key("[2001:db8:aa:bc::1]:1"), "the next /64 is another client")
	assert.Equal(t, "198.51.100.7/32", key("198.51.100.7:1"), "IPv4 clients are single addresses")
	assert.NotEqual(t, key("198.51.100.7:1"), key("198.51.100.8:1"))
}

// FuzzIPResolverKey checks the resolver's promises on arbitrary input: it
// never panics; from an untrusted peer no header changes the key; and a
// key, when there is one, is an IPGroup prefix of the client address.
func FuzzIPResolverKey(f *testing.F) {
	f.Add("203.0.113.7:1", "1.2.3.4", "5.6.7.8")
	f.Add("10.1.2.3:1", "6.6.6.6, 198.51.100.9, 10.9.9.9", "")
	f.Add("10.1.2.3:1", "", "198.51.100.9")
	f.Add("[fd00::1]:1", "[2001:db8::1]:80, fd00::2", "x")
	f.Add("10.0.0.1:1", "unknown", "\x00")
	f.Add("garbage", "1.2.3.4", "1.2.3.4")
	f.Add("[::ffff:10.0.0.1]:1", "::ffff:198.51.100.9", "")
	res := tollgate.MustIPResolver(tollgate.TrustProxyCIDRs("10.0.0.0/8", "fd00::/8"))
	f.Fuzz(func(t *testing.T, remote, xff, realIP string) {
		h := http.Header{"X-Forwarded-For": {xff}, "X-Real-Ip": {realIP}}
		r := ipRequest(remote, h)
		peer := tollgate.ClientIP(r)
		addr := res.ClientIP(r)
		key, err := res.Key(r)
		if !peer.IsValid() {
			if addr.IsValid() || err == nil {
				t.Fatalf("no peer address but client %v, key %q", addr, key)
			}
			return
		}
		if !res.Trusted(peer) && addr != peer {
			t.Fatalf("untrusted peer %v: headers moved the client to %v", peer, addr)
		}
		if addr.IsValid() != (err == nil) {
			t.Fatalf("client %v but key error %v", addr, err)
		}
		if err == nil {
			p, perr := netip.ParsePrefix(key)
			if perr != nil || p != tollgate.IPGroup(addr) || !p.Contains(addr) {
				t.Fatalf("key %q is not the group of %v", key, addr)
			}
		}
	})
}
