package ratelimit

import (
	"context"
	"fmt"
	"net/http"
	"time"
)

// DefaultLeaseTTL is how long a concurrency lease lasts unless
// Concurrency.TTL says otherwise. A lease is released when its request
// ends; the TTL only matters when a process dies holding one.
const DefaultLeaseTTL = 10 * time.Minute

// Concurrency limits how many requests of one key run at once. Each request
// acquires a lease before the request-rate policies are charged (so a
// request turned away for concurrency costs no rate tokens) and releases
// it when the handler returns, panics, or the client goes away. It is
// configuration, read once by Concurrent; the zero value has no key and is
// rejected.
type Concurrency struct {
	// Name identifies the limit in denials and namespaces its keys;
	// "concurrency" when empty.
	Name string
	// Key picks the key; required.
	Key KeyFunc
	// Limit is the number of concurrent requests allowed per key.
	Limit int64
	// LimitFunc, when set, chooses the limit per request (per plan); 0
	// exempts the request.
	LimitFunc func(*http.Request) int64
	// TTL bounds a lease's life, so that a holder that crashed never keeps
	// a slot; DefaultLeaseTTL when zero. Set it above the longest request
	// (streams included): a lease that lapses while its request runs frees
	// its slot early.
	TTL time.Duration
}

// Concurrent adds a concurrency limit to the middleware. Denials answer 429
// concurrent_limit_exceeded with Retry-After: 1.
func Concurrent(c Concurrency) Option {
	return func(cfg *config) {
		if c.Name == "" {
			c.Name = "concurrency"
		}
		if c.TTL == 0 {
			c.TTL = DefaultLeaseTTL
		}
		switch {
		case validName(c.Name) != nil:
			cfg.fail("Concurrent: %v", validName(c.Name))
		case c.Key == nil:
			cfg.fail("Concurrent: Key is required")
		case c.LimitFunc == nil && c.Limit <= 0:
			cfg.fail("Concurrent: Limit must be positive, or LimitFunc set")
		case c.TTL < 0:
			cfg.fail("Concurrent: negative TTL")
		}
		cfg.conc = &c
	}
}

// concurrency is a compiled Concurrency.
type concurrency struct {
	Concurrency
	prefix string
}

// acquire takes a lease for r. It returns the key it leased ("" when the
// limit does not apply or the store failed open) and false when the
// response has been written (an error or a denial).
func (l *limiter) acquire(w http.ResponseWriter, r *http.Request, rq *request) (string, LeaseID, bool) {
	cc := l.conc
	key, err := cc.Key(r)
	if err != nil {
		l.reject(w, r, err)
		return "", 0, false
	}
	limit := cc.Limit
	if cc.LimitFunc != nil {
		limit = cc.LimitFunc(r)
	}
	if key == "" || limit <= 0 {
		return "", 0, true
	}
	lease, err := l.leases.Acquire(r.Context(), cc.prefix, key, limit, cc.TTL)
	if err != nil {
		return "", 0, !l.storeFailed(w, r, fmt.Errorf("ratelimit: acquire lease: %w", err))
	}
	if !lease.Acquired {
		l.peek(w, r, rq)
		l.deny(w, r, Denial{Reason: ReasonConcurrency, Policy: cc.Name, Key: key, Lease: lease, Cost: 1, RetryAfter: time.Second})
		return "", 0, false
	}
	return key, lease.ID, true
}

// release ends the lease taken for a request, on a context that outlives
// the request's so that a client leaving does not keep its slot.
func (l *limiter) release(r *http.Request, key string, id LeaseID) {
	if key == "" {
		return
	}
	ctx := context.WithoutCancel(r.Context())
	if err := l.leases.Release(ctx, l.conc.prefix, key, id); err != nil {
		l.report(r, fmt.Errorf("ratelimit: release lease: %w", err))
	}
}

// peek sets the headers of a request turned away before its charges were
// taken, from the buckets' current state.
func (l *limiter) peek(w http.ResponseWriter, r *http.Request, rq *request) {
	if rq.n == 0 {
		return
	}
	for j := range rq.n {
		rq.charges[j].Cost = 0
	}
	if _, err := l.store.TakeAll(r.Context(), rq.charges[:rq.n], rq.results[:rq.n]); err != nil {
		l.report(r, err)
		return
	}
	l.setHeaders(w.Header(), rq.results[:rq.n], rq.idx[:rq.n])
}
