package ratelimit

import (
	"fmt"
	"net/http"
	"net/textproto"
)

// Option configures the middleware built by New. A nil Option is ignored;
// an invalid one makes New fail.
type Option func(*config)

type config struct {
	leases     LeaseStore
	conc       *Concurrency
	penalty    *Penalty
	skip       func(*http.Request) bool
	onLimited  func(*http.Request, Denial)
	onError    func(*http.Request, error)
	failClosed bool
	headers    headerConfig
	errs       []error
}

func (c *config) fail(format string, args ...any) {
	c.errs = append(c.errs, fmt.Errorf("ratelimit: "+format, args...))
}

// Skip exempts the requests for which skip returns true: they pass through
// untouched, without headers. Use it for health checks or internal
// callers.
func Skip(skip func(*http.Request) bool) Option {
	return func(c *config) { c.skip = skip }
}

// OnLimited registers a hook called for every denial, before the error is
// written, with what was denied and why: for metrics and logs. It runs on
// the request's goroutine and must not write the response.
func OnLimited(hook func(*http.Request, Denial)) Option {
	return func(c *config) { c.onLimited = hook }
}

// OnError registers a hook called when a store fails, and when a key, cost
// or limit function returns an error or an invalid value, before the
// middleware fails open or closed. Use it to log and count.
func OnError(hook func(*http.Request, error)) Option {
	return func(c *config) { c.onError = hook }
}

// FailOpen makes the middleware let a request through, unlimited and
// without headers, when a store fails. It is the default: a rate limiter
// that is down should not take the API down with it.
func FailOpen() Option {
	return func(c *config) { c.failClosed = false }
}

// FailClosed makes the middleware answer 503 service_unavailable when a
// store fails.
func FailClosed() Option {
	return func(c *config) { c.failClosed = true }
}

// WithLeaseStore sets the store of concurrency leases and penalty-box
// failure counts. Without it, Concurrent and PenaltyBox use a
// MemoryLeaseStore of their own, which counts per process: replicas behind
// a load balancer need a shared one (redisstore).
func WithLeaseStore(s LeaseStore) Option {
	return func(c *config) {
		if s == nil {
			c.fail("WithLeaseStore: nil store")
		}
		c.leases = s
	}
}

// HeaderFamily names a family of rate-limit response headers. The zero
// HeaderFamily names none, and WithoutHeaders rejects it.
type HeaderFamily uint8

// The header families. XRateLimit is on by default; IETFHeaders and
// OpenAIHeaders turn the others on. Each header field costs a map insert
// per response, so the default is the one family every client library
// reads. Retry-After is always sent with a denial.
const (
	// XRateLimit is X-RateLimit-Limit, -Remaining and -Reset for the most
	// restrictive request policy (token policies when there are no others).
	XRateLimit HeaderFamily = iota + 1
	// IETF is draft-ietf-httpapi-ratelimit-headers-10: RateLimit-Policy
	// ("name";q=…;w=…) and RateLimit ("name";r=…;t=…), listing every
	// policy that applied.
	IETF
	// OpenAI is x-ratelimit-{limit,remaining,reset}-{requests,tokens}, for
	// the most restrictive request and token policies, with resets as Go
	// durations ("6m0s", "20ms").
	OpenAI
)

// WithoutHeaders switches header families off.
func WithoutHeaders(families ...HeaderFamily) Option {
	return func(c *config) {
		for _, f := range families {
			switch f {
			case XRateLimit:
				c.headers.x = false
			case IETF:
				c.headers.ietf = false
			case OpenAI:
				c.headers.openai = false
			default:
				c.fail("WithoutHeaders: unknown family %d", f)
			}
		}
	}
}

// XRateLimitHeaders turns the X-RateLimit family on and renames its
// headers; an empty name keeps X-RateLimit-Limit, X-RateLimit-Remaining or
// X-RateLimit-Reset.
func XRateLimitHeaders(limit, remaining, reset string) Option {
	return func(c *config) {
		c.headers.x = true
		c.headers.xNames = [3]string{
			c.name(limit, c.headers.xNames[0]),
			c.name(remaining, c.headers.xNames[1]),
			c.name(reset, c.headers.xNames[2]),
		}
	}
}

// XRateLimitResetDelta makes X-RateLimit-Reset the number of seconds until
// the reset instead of its Unix time.
func XRateLimitResetDelta() Option {
	return func(c *config) { c.headers.xDelta = true }
}

// IETFHeaders turns the IETF family on and renames its headers; an empty
// name keeps RateLimit-Policy or RateLimit.
func IETFHeaders(policy, state string) Option {
	return func(c *config) {
		c.headers.ietf = true
		c.headers.ietfNames = [2]string{
			c.name(policy, c.headers.ietfNames[0]),
			c.name(state, c.headers.ietfNames[1]),
		}
	}
}

// OpenAIHeaders turns the OpenAI family on, its headers named prefix
// followed by "limit-requests", "remaining-requests", "reset-requests",
// "limit-tokens", "remaining-tokens" and "reset-tokens"; an empty prefix
// means "x-ratelimit-".
func OpenAIHeaders(prefix string) Option {
	return func(c *config) {
		if prefix == "" {
			prefix = "x-ratelimit-"
		}
		c.headers.openai = true
		for i, suffix := range openAISuffixes {
			c.headers.oaNames[i] = c.name(prefix+suffix, "")
		}
	}
}

// name canonicalises a configured header name, keeping def when it is
// empty and recording an error when it is not a valid field name.
func (c *config) name(name, def string) string {
	if name == "" {
		return def
	}
	for _, b := range []byte(name) {
		if b <= ' ' || b >= 0x7f || b == ':' {
			c.fail("invalid header name %q", name)
			return def
		}
	}
	return textproto.CanonicalMIMEHeaderKey(name)
}
