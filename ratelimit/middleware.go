package ratelimit

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"sync"

	"github.com/tollgate/tollgate"
)

// New returns middleware that enforces policies on every request, taking
// their tokens from store in one atomic TakeAll, so that a request denied
// by one policy consumes nothing from the others.
//
// The middleware joins the request's tollgate.State (tollgate.Begin) only
// when it needs it — to read the usage for token policies or the status
// for the penalty box — so a plain request limiter placed first adds no
// per-request allocation of its own besides its headers.
//
// For each request, in order: Skip may exempt it; the key, limit and cost
// of every policy are resolved (a policy whose key is empty or whose limit
// is zero does not apply); the concurrency lease is acquired; the policies
// and the penalty box's block are checked and charged at once; the
// configured headers are set — before the handler runs, so a stream has
// them from its first byte, and on denials too; a denial is written through
// apierrors.Write (429 with Retry-After and details.retryAfter, in the
// request's dialect); otherwise the handler runs, after which the lease is
// released, token policies are settled against the real usage, and a
// failure is counted by the penalty box.
//
// New fails on invalid policies or options, or when there is nothing to
// enforce; store may be nil only when there are no policies and no penalty
// box. The middleware is safe for concurrent use.
func New(store Store, policies []Policy, opts ...Option) (tollgate.Middleware, error) {
	l, err := newLimiter(store, policies, opts)
	if err != nil {
		return nil, err
	}
	return func(next http.Handler) http.Handler {
		if next == nil {
			next = http.DefaultServeMux
		}
		return &handler{l: l, next: next}
	}, nil
}

// MustNew is New that panics on an error, for use in program
// initialisation.
func MustNew(store Store, policies []Policy, opts ...Option) tollgate.Middleware {
	m, err := New(store, policies, opts...)
	if err != nil {
		panic(err)
	}
	return m
}

// maxPolicies bounds the policies of one middleware; charges index them
// with an int8.
const maxPolicies = 64

// limiter is a configured middleware.
type limiter struct {
	store      Store
	leases     LeaseStore
	policies   []policy
	conc       *concurrency
	penalty    *penalty
	skip       func(*http.Request) bool
	onLimited  func(*http.Request, Denial)
	onError    func(*http.Request, error)
	failClosed bool
	headers    headerConfig
	simple     bool
	tokens     bool
	needState  bool
	requests   sync.Pool
}

func newLimiter(store Store, policies []Policy, opts []Option) (*limiter, error) {
	cfg := config{headers: defaultHeaders()}
	for _, o := range opts {
		if o != nil {
			o(&cfg)
		}
	}
	ps, err := compilePolicies(policies)
	if err != nil {
		cfg.errs = append(cfg.errs, err)
	}
	switch {
	case len(policies) > maxPolicies:
		cfg.fail("at most %d policies", maxPolicies)
	case len(policies) == 0 && cfg.conc == nil && cfg.penalty == nil:
		cfg.fail("New: no policy, concurrency limit or penalty box to enforce")
	case store == nil && (len(policies) > 0 || cfg.penalty != nil):
		cfg.fail("New: nil store")
	}
	checkNames(&cfg, policies)
	if len(cfg.errs) > 0 {
		return nil, errors.Join(cfg.errs...)
	}
	l := &limiter{
		store: store, leases: cfg.leases, policies: ps,
		skip: cfg.skip, onLimited: cfg.onLimited, onError: cfg.onError,
		failClosed: cfg.failClosed, headers: cfg.headers,
	}
	if cfg.conc != nil {
		l.conc = &concurrency{Concurrency: *cfg.conc, prefix: cfg.conc.Name + ":"}
	}
	if cfg.penalty != nil {
		l.penalty = compilePenalty(cfg.penalty)
	}
	if l.leases == nil && (l.conc != nil || l.penalty != nil) {
		l.leases = MustMemoryLeaseStore()
	}
	for i := range ps {
		l.tokens = l.tokens || ps[i].Tokens
	}
	l.simple = len(ps) == 1 && !l.tokens && l.conc == nil && l.penalty == nil
	l.needState = l.tokens || l.penalty != nil
	n := len(ps) + 1
	l.requests.New = func() any {
		return &request{charges: make([]Charge, n), results: make([]Result, n), idx: make([]int8, n)}
	}
	return l, nil
}

// checkNames rejects a concurrency limit or penalty box named like a
// policy: the names namespace their keys, which must not meet.
func checkNames(cfg *config, policies []Policy) {
	for _, p := range policies {
		if cfg.conc != nil && cfg.conc.Name == p.Name {
			cfg.fail("Concurrent: name %q is also a policy's", p.Name)
		}
		if cfg.penalty != nil && cfg.penalty.Name == p.Name {
			cfg.fail("PenaltyBox: name %q is also a policy's", p.Name)
		}
	}
}

// request is the per-request scratch of the general path, pooled.
type request struct {
	charges []Charge
	results []Result
	idx     []int8
	n       int
}

func (rq *request) add(c Charge, policy int8) {
	rq.charges[rq.n], rq.idx[rq.n] = c, policy
	rq.n++
}

func (rq *request) reset() {
	clear(rq.charges[:rq.n])
	clear(rq.results[:rq.n])
	rq.n = 0
}

type handler struct {
	l    *limiter
	next http.Handler
}

func (h *handler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	l := h.l
	if l.skip != nil && l.skip(r) {
		h.next.ServeHTTP(w, r)
		return
	}
	if l.simple {
		l.serveSimple(h.next, w, r)
		return
	}
	var st *tollgate.State
	if l.needState {
		w, r, st = tollgate.Begin(w, r)
	}
	rq := l.requests.Get().(*request)
	l.serve(h.next, w, r, st, rq)
	rq.reset()
	l.requests.Put(rq)
}

// serveSimple is the path of a middleware with one request policy and
// nothing else: one Take, no scratch.
func (l *limiter) serveSimple(next http.Handler, w http.ResponseWriter, r *http.Request) {
	p := &l.policies[0]
	c, ok := l.charge(w, r, p)
	if !ok {
		return
	}
	if c.Key == "" {
		next.ServeHTTP(w, r)
		return
	}
	res, err := l.store.Take(r.Context(), c)
	if err != nil {
		if !l.storeFailed(w, r, fmt.Errorf("ratelimit: take: %w", err)) {
			next.ServeHTTP(w, r)
		}
		return
	}
	rs, idx := [1]Result{res}, [1]int8{0}
	l.setHeaders(w.Header(), rs[:], idx[:])
	if !res.Allowed {
		l.deny(w, r, Denial{Reason: ReasonRate, Policy: p.Name, Key: c.Key, Result: res, Cost: c.Cost, RetryAfter: res.RetryAfter, message: p.message})
		return
	}
	next.ServeHTTP(w, r)
}

// serve is the general path: several policies, concurrency, penalty box,
// token settlement.
func (l *limiter) serve(next http.Handler, w http.ResponseWriter, r *http.Request, st *tollgate.State, rq *request) {
	for i := range l.policies {
		c, ok := l.charge(w, r, &l.policies[i])
		if !ok {
			return
		}
		if c.Key != "" {
			rq.add(c, int8(i))
		}
	}
	var penaltyKey string
	if l.penalty != nil {
		var ok bool
		if penaltyKey, ok = l.penaltyCharge(w, r, rq); !ok {
			return
		}
	}
	var leaseKey string
	var leaseID LeaseID
	if l.conc != nil {
		var ok bool
		if leaseKey, leaseID, ok = l.acquire(w, r, rq); !ok {
			return
		}
	}
	if rq.n > 0 {
		allowed, err := l.store.TakeAll(r.Context(), rq.charges[:rq.n], rq.results[:rq.n])
		if err != nil {
			l.release(r, leaseKey, leaseID)
			if !l.storeFailed(w, r, fmt.Errorf("ratelimit: take: %w", err)) {
				next.ServeHTTP(w, r)
			}
			return
		}
		l.setHeaders(w.Header(), rq.results[:rq.n], rq.idx[:rq.n])
		if !allowed {
			l.release(r, leaseKey, leaseID)
			l.deny(w, r, l.denial(rq))
			return
		}
	}
	if leaseKey == "" && penaltyKey == "" && !l.tokens {
		next.ServeHTTP(w, r)
		return
	}
	l.run(next, w, r, st, rq, leaseKey, leaseID, penaltyKey)
}

// run calls the handler of an admitted request and, when it returns or
// panics, releases its lease, settles its token policies and counts its
// failure.
func (l *limiter) run(next http.Handler, w http.ResponseWriter, r *http.Request, st *tollgate.State, rq *request, leaseKey string, leaseID LeaseID, penaltyKey string) {
	if l.tokens {
		st.ObserveUsage()
	}
	completed := false
	defer func() {
		l.release(r, leaseKey, leaseID)
		if completed && l.tokens {
			l.settle(r, st, rq)
		}
		if penaltyKey != "" && (!completed || l.penalty.IsFailure(st.Status())) {
			l.recordFailure(r, penaltyKey)
		}
	}()
	next.ServeHTTP(w, r)
	completed = true
}

// charge resolves p's charge for r: a zero Charge when p does not apply,
// and false when the response has been written (an error, or a cost that
// exceeds the burst).
func (l *limiter) charge(w http.ResponseWriter, r *http.Request, p *policy) (Charge, bool) {
	key, err := p.Key(r)
	if err != nil {
		l.reject(w, r, err)
		return Charge{}, false
	}
	if key == "" {
		return Charge{}, true
	}
	limit := p.limit(r)
	if limit.IsZero() {
		return Charge{}, true
	}
	if p.LimitFunc != nil && limit.Validate() != nil {
		l.reject(w, r, fmt.Errorf("ratelimit: policy %s: LimitFunc returned %+v: %w", p.Name, limit, ErrInvalidLimit))
		return Charge{}, false
	}
	cost, err := p.cost(r)
	switch {
	case err != nil:
		l.reject(w, r, err)
		return Charge{}, false
	case cost < 0:
		l.reject(w, r, fmt.Errorf("ratelimit: policy %s: Cost returned %d: %w", p.Name, cost, ErrInvalidCost))
		return Charge{}, false
	case cost > limit.Burst:
		l.deny(w, r, Denial{Reason: ReasonTooLarge, Policy: p.Name, Key: key, Result: Result{Limit: limit}, Cost: cost})
		return Charge{}, false
	}
	return Charge{Prefix: p.prefix, Key: key, Limit: limit, Cost: cost}, true
}

// denial picks what to tell a denied request: the penalty box's block
// first, else the denying policy that asks for the longest wait.
func (l *limiter) denial(rq *request) Denial {
	best := -1
	for j := range rq.n {
		res := &rq.results[j]
		if res.Allowed {
			continue
		}
		if rq.idx[j] < 0 {
			return Denial{Reason: ReasonPenalty, Policy: l.penalty.Name, Key: rq.charges[j].Key, Result: *res, RetryAfter: res.RetryAfter}
		}
		if best < 0 || res.RetryAfter > rq.results[best].RetryAfter {
			best = j
		}
	}
	if best < 0 {
		return Denial{Reason: ReasonRate}
	}
	p := &l.policies[rq.idx[best]]
	d := Denial{Reason: ReasonRate, Policy: p.Name, Key: rq.charges[best].Key, Result: rq.results[best],
		Cost: rq.charges[best].Cost, RetryAfter: rq.results[best].RetryAfter, message: p.message}
	if p.Tokens {
		d.Reason = ReasonTokens
	}
	return d
}

// settle debits each token policy with the difference between the
// request's real usage and the estimate it was admitted on: more when it
// used more (into debt if need be, so that the next requests wait until the
// debt is repaid), a refund when it used less. Requests whose usage nobody
// reported or observed keep their estimate, and so do those whose usage
// is partial (a stream cut before its final count) and below it: a partial
// count is only a lower bound.
func (l *limiter) settle(r *http.Request, st *tollgate.State, rq *request) {
	u, source := st.Usage()
	if source == tollgate.UsageUnknown {
		return
	}
	partial := source == tollgate.UsagePartial
	used := u.Tokens()
	ctx := context.WithoutCancel(r.Context())
	for j := range rq.n {
		if rq.idx[j] < 0 || !l.policies[rq.idx[j]].Tokens {
			continue
		}
		c := rq.charges[j]
		if c.Cost = used - c.Cost; c.Cost == 0 || partial && c.Cost < 0 {
			continue
		}
		if _, err := l.store.Debit(ctx, c); err != nil {
			l.report(r, fmt.Errorf("ratelimit: settle %s: %w", l.policies[rq.idx[j]].Name, err))
		}
	}
}
