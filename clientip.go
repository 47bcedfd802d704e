package tollgate

import (
	"errors"
	"fmt"
	"net/http"
	"net/netip"
	"net/textproto"
	"strings"
)

// ErrNoClientIP is returned by IPResolver.Key when a request has no usable
// client address: RemoteAddr is not an IP, or a trusted proxy sent a
// malformed forwarding header.
var ErrNoClientIP = errors.New("tollgate: no client IP")

// defaultForwardedHeaders are the headers an IPResolver reads, in this
// order, when the peer is a trusted proxy and ForwardedHeaders was not
// given. It is never modified.
var defaultForwardedHeaders = []string{"X-Forwarded-For", "X-Real-Ip"}

// IPResolver finds the address of the client behind a request. It uses the
// connection's peer (http.Request.RemoteAddr) unless that peer is one of
// the configured trusted proxies; only then does it read a forwarding
// header (X-Forwarded-For, then X-Real-IP, unless configured otherwise),
// walking its entries from right to left and returning the first address
// that is not itself a trusted proxy. Headers sent by anyone else are
// ignored, because any client can write them.
//
// A malformed entry met during the walk yields no address rather than a
// guess: a proxy that sends garbage is misconfigured, and the caller should
// fail closed. When every entry is a trusted proxy, the leftmost is the
// client.
//
// Returned addresses are normalised: IPv4-mapped IPv6 addresses are
// unmapped and zones are dropped, so they compare and match prefixes as
// expected.
//
// The zero value and a nil *IPResolver trust no proxy and return the
// RemoteAddr address. An IPResolver is immutable after construction and
// safe for concurrent use.
type IPResolver struct {
	trusted []netip.Prefix
	headers []string
}

// IPResolverOption configures NewIPResolver.
type IPResolverOption func(*ipResolverConfig)

type ipResolverConfig struct {
	trusted    []netip.Prefix
	headers    []string
	setHeaders bool
	err        error
}

// TrustProxies adds prefixes whose addresses are trusted to report the
// client's address in a forwarding header: your load balancers and reverse
// proxies, and nothing a client can reach around them.
func TrustProxies(prefixes ...netip.Prefix) IPResolverOption {
	return func(c *ipResolverConfig) { c.trusted = append(c.trusted, prefixes...) }
}

// TrustProxyCIDRs is TrustProxies for prefixes in text form ("10.0.0.0/8",
// "2001:db8::/32"); a bare address is taken as a single-host prefix. A
// string that does not parse makes NewIPResolver fail.
func TrustProxyCIDRs(cidrs ...string) IPResolverOption {
	return func(c *ipResolverConfig) {
		for _, s := range cidrs {
			p, err := parsePrefix(s)
			if err != nil {
				c.err = errors.Join(c.err, err)
				continue
			}
			c.trusted = append(c.trusted, p)
		}
	}
}

// ForwardedHeaders replaces the headers read from trusted proxies, in order
// of preference: the first one present on a request is the one used. Each
// is read as a comma-separated list (every line of it, in order), so a
// single-valued header such as CF-Connecting-IP works too.
func ForwardedHeaders(names ...string) IPResolverOption {
	return func(c *ipResolverConfig) {
		c.headers = append([]string(nil), names...)
		c.setHeaders = true
	}
}

// NewIPResolver returns a resolver configured by opts. It fails when a
// prefix or header name is invalid, or when ForwardedHeaders was given no
// names.
func NewIPResolver(opts ...IPResolverOption) (*IPResolver, error) {
	var cfg ipResolverConfig
	for _, o := range opts {
		o(&cfg)
	}
	if cfg.err != nil {
		return nil, cfg.err
	}
	res := &IPResolver{headers: defaultForwardedHeaders}
	for _, p := range cfg.trusted {
		if !p.IsValid() {
			return nil, fmt.Errorf("tollgate: invalid trusted proxy prefix %v", p)
		}
		res.trusted = append(res.trusted, normalizePrefix(p))
	}
	if cfg.setHeaders {
		if len(cfg.headers) == 0 {
			return nil, errors.New("tollgate: ForwardedHeaders needs at least one header name")
		}
		res.headers = make([]string, len(cfg.headers))
		for i, h := range cfg.headers {
			if !validHeaderName(h) {
				return nil, fmt.Errorf("tollgate: invalid forwarded header name %q", h)
			}
			res.headers[i] = http.CanonicalHeaderKey(h)
		}
	}
	return res, nil
}

// MustIPResolver is NewIPResolver that panics on invalid configuration, for
// use at start-up.
func MustIPResolver(opts ...IPResolverOption) *IPResolver {
	res, err := NewIPResolver(opts...)
	if err != nil {
		panic(err)
	}
	return res
}

// ClientIP returns the address of the request's peer (RemoteAddr), trusting
// no forwarding header. It returns the zero netip.Addr when RemoteAddr holds
// no IP address.
func ClientIP(r *http.Request) netip.Addr {
	return (*IPResolver)(nil).ClientIP(r)
}

// ClientIP returns the client's address as described on IPResolver, or the
// zero netip.Addr (IsValid false) when there is none. It does not allocate.
func (res *IPResolver) ClientIP(r *http.Request) netip.Addr {
	peer := parseRemoteAddr(r.RemoteAddr)
	if res == nil || !peer.IsValid() || !res.Trusted(peer) {
		return peer
	}
	for _, name := range res.headers {
		if lines := r.Header[name]; len(lines) > 0 {
			return res.walk(lines)
		}
	}
	return peer
}

// Trusted reports whether addr belongs to a trusted proxy prefix.
func (res *IPResolver) Trusted(addr netip.Addr) bool {
	if res == nil {
		return false
	}
	addr = normalizeAddr(addr)
	for _, p := range res.trusted {
		if p.Contains(addr) {
			return true
		}
	}
	return false
}

// walk reads the entries of a forwarding header from right to left, across
// all its lines, and returns the first one that is not a trusted proxy.
func (res *IPResolver) walk(lines []string) netip.Addr {
	var leftmost netip.Addr
	for i := len(lines) - 1; i >= 0; i-- {
		rest := lines[i]
		for {
			comma := strings.LastIndexByte(rest, ',')
			addr, ok := parseForwardedAddr(textproto.TrimString(rest[comma+1:]))
			if !ok {
				return netip.Addr{}
			}
			if !res.Trusted(addr) {
				return addr
			}
			leftmost = addr
			if comma < 0 {
				break
			}
			rest = rest[:comma]
		}
	}
	return leftmost
}

// Key returns a rate-limit key for the request's client: IPGroup of its
// address in text form, so that every address of one IPv6 /64 shares a key.
// It returns ErrNoClientIP when the request has no usable address. Its
// method value has the key-function type ratelimit and quota accept.
func (res *IPResolver) Key(r *http.Request) (string, error) {
	addr := res.ClientIP(r)
	if !addr.IsValid() {
		return "", ErrNoClientIP
	}
	return IPGroup(addr).String(), nil
}

// IPGroup returns the block a rate limit should treat as one client: the
// address itself (/32) for IPv4 and its /64 for IPv6, the smallest block
// providers hand a single subscriber, who could otherwise rotate through
// 2^64 addresses to dodge a per-address limit. An invalid addr yields the
// zero netip.Prefix.
func IPGroup(addr netip.Addr) netip.Prefix {
	if !addr.IsValid() {
		return netip.Prefix{}
	}
	addr = normalizeAddr(addr)
	bits := 32
	if addr.Is6() {
		bits = 64
	}
	p, _ := addr.Prefix(bits)
	return p
}

// parseRemoteAddr parses http.Request.RemoteAddr: "ip:port", "[ip]:port" or
// a bare address (some listeners leave the port out).
func parseRemoteAddr(s string) netip.Addr {
	if ap, err := netip.ParseAddrPort(s); err == nil {
		return normalizeAddr(ap.Addr())
	}
	if a, err := netip.ParseAddr(s); err == nil {
		return normalizeAddr(a)
	}
	return netip.Addr{}
}

// parseForwardedAddr parses one forwarding-header entry: an address,
// optionally bracketed (IPv6) and optionally followed by a port, as some
// proxies write them.
func parseForwardedAddr(s string) (netip.Addr, bool) {
	if s == "" {
		return netip.Addr{}, false
	}
	if a, err := netip.ParseAddr(s); err == nil {
		return normalizeAddr(a), true
	}
	if ap, err := netip.ParseAddrPort(s); err == nil {
		return normalizeAddr(ap.Addr()), true
	}
	if len(s) > 2 && s[0] == '[' && s[len(s)-1] == ']' {
		if a, err := netip.ParseAddr(s[1 : len(s)-1]); err == nil && a.Is6() {
			return normalizeAddr(a), true
		}
	}
	return netip.Addr{}, false
}

func normalizeAddr(a netip.Addr) netip.Addr {
	if a.Zone() != "" {
		a = a.WithZone("")
	}
	return a.Unmap()
}

// normalizePrefix turns an IPv4-mapped IPv6 prefix into its IPv4 form, so it
// matches the unmapped addresses the resolver compares, and masks host bits.
func normalizePrefix(p netip.Prefix) netip.Prefix {
	if a := p.Addr(); a.Is4In6() && p.Bits() >= 96 {
		p = netip.PrefixFrom(a.Unmap(), p.Bits()-96)
	}
	return p.Masked()
}

func parsePrefix(s string) (netip.Prefix, error) {
	s = strings.TrimSpace(s)
	if strings.IndexByte(s, '/') < 0 {
		a, err := netip.ParseAddr(s)
		if err != nil {
			return netip.Prefix{}, fmt.Errorf("tollgate: invalid trusted proxy %q: %w", s, err)
		}
		return netip.PrefixFrom(a.WithZone(""), a.BitLen()), nil
	}
	p, err := netip.ParsePrefix(s)
	if err != nil {
		return netip.Prefix{}, fmt.Errorf("tollgate: invalid trusted proxy %q: %w", s, err)
	}
	return p, nil
}

// validHeaderName reports whether s is a non-empty RFC 9110 token.
func validHeaderName(s string) bool {
	if s == "" {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c <= ' ' || c >= 0x7f || strings.IndexByte(`"(),/:;<=>?@[\]{}`, c) >= 0 {
			return false
		}
	}
	return true
}
