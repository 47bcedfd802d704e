package ratelimit_test

import (
	"net/http"
	"net/http/httptest"
	"runtime"
	"strconv"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"golang.org/x/time/rate"

	"github.com/tollgate/tollgate/ratelimit"
)

// The middleware benchmarks push one prebuilt request through a trivial
// handler, as the bench module does for every peer: with a writer that
// discards everything (a fresh header map per request, as net/http gives)
// and with httptest.ResponseRecorder.

var (
	highLimit = ratelimit.Every(time.Nanosecond, 1<<40) // never denies
	nop       = http.HandlerFunc(func(http.ResponseWriter, *http.Request) {})
)

func benchHandler(b *testing.B, policies []ratelimit.Policy, opts ...ratelimit.Option) http.Handler {
	b.Helper()
	mw, err := ratelimit.New(ratelimit.MustMemoryStore(), policies, opts...)
	if err != nil {
		b.Fatal(err)
	}
	return mw(nop)
}

func onePolicy(l ratelimit.Limit) []ratelimit.Policy {
	return []ratelimit.Policy{{Name: "rpm", Key: byKey, Limit: l}}
}

func threePolicies(l ratelimit.Limit) []ratelimit.Policy {
	return []ratelimit.Policy{
		{Name: "key", Key: byKey, Limit: l},
		{Name: "account", Key: byAccount, Limit: l},
		{Name: "global", Key: ratelimit.ConstantKey("all"), Limit: l},
	}
}

func benchServe(b *testing.B, h http.Handler, wantStatus int) {
	r := keyed("key_42")
	r.Header.Set("X-Account", "acct_7")
	w := &discard{}
	b.ReportAllocs()
	for b.Loop() {
		w.h = http.Header{}
		h.ServeHTTP(w, r)
	}
	if wantStatus != http.StatusOK {
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, r)
		if rec.Code != wantStatus {
			b.Fatalf("status %d, want %d", rec.Code, wantStatus)
		}
	}
}

func BenchmarkMiddlewareAllowed(b *testing.B) {
	benchServe(b, benchHandler(b, onePolicy(highLimit)), http.StatusOK)
}

func BenchmarkMiddlewareAllowedRecorder(b *testing.B) {
	h := benchHandler(b, onePolicy(highLimit))
	r := keyed("key_42")
	b.ReportAllocs()
	for b.Loop() {
		h.ServeHTTP(httptest.NewRecorder(), r)
	}
}

func BenchmarkMiddlewareAllowedAllHeaders(b *testing.B) {
	benchServe(b, benchHandler(b, onePolicy(highLimit), ratelimit.OpenAIHeaders("")), http.StatusOK)
}

func BenchmarkMiddlewareAllowedNoHeaders(b *testing.B) {
	benchServe(b, benchHandler(b, onePolicy(highLimit), ratelimit.WithoutHeaders(ratelimit.XRateLimit, ratelimit.IETF)), http.StatusOK)
}

func BenchmarkMiddlewareAllowedThreePolicies(b *testing.B) {
	benchServe(b, benchHandler(b, threePolicies(highLimit)), http.StatusOK)
}

func BenchmarkMiddlewareDenied(b *testing.B) {
	benchServe(b, benchHandler(b, onePolicy(ratelimit.PerHour(1))), http.StatusTooManyRequests)
}

func BenchmarkMiddlewareDeniedThreePolicies(b *testing.B) {
	benchServe(b, benchHandler(b, threePolicies(ratelimit.PerHour(1))), http.StatusTooManyRequests)
}

func BenchmarkMiddlewareAllowedParallel(b *testing.B) {
	h := benchHandler(b, onePolicy(highLimit))
	var seq atomic.Int64
	b.ReportAllocs()
	b.RunParallel(func(pb *testing.PB) {
		r := keyed("key_" + strconv.FormatInt(seq.Add(1), 10))
		w := &discard{}
		for pb.Next() {
			w.h = http.Header{}
			h.ServeHTTP(w, r)
		}
	})
}

func BenchmarkMiddlewareDeniedParallel(b *testing.B) {
	h := benchHandler(b, onePolicy(ratelimit.PerHour(1)))
	var seq atomic.Int64
	b.ReportAllocs()
	b.RunParallel(func(pb *testing.PB) {
		r := keyed("key_" + strconv.FormatInt(seq.Add(1), 10))
		w := &discard{}
		for pb.Next() {
			w.h = http.Header{}
			h.ServeHTTP(w, r)
		}
	})
}

// BenchmarkBareHandler is the floor: the same request and writer, no
// middleware.
func BenchmarkBareHandler(b *testing.B) {
	benchServe(b, nop, http.StatusOK)
}

func BenchmarkMiddlewareAllowedIETF(b *testing.B) {
	benchServe(b, benchHandler(b, onePolicy(highLimit), ratelimit.IETFHeaders("", "")), http.StatusOK)
}

// naiveLimiter is the peer every benchmark table includes: a mutex-guarded
// map of rate.Limiter, setting the same three headers.
type naiveLimiter struct {
	mu       sync.Mutex
	limiters map[string]*rate.Limiter
	next     http.Handler
}

func (n *naiveLimiter) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	key := r.Header.Get("X-Key")
	n.mu.Lock()
	lim, found := n.limiters[key]
	if !found {
		lim = rate.NewLimiter(rate.Inf, 1<<30)
		n.limiters[key] = lim
	}
	n.mu.Unlock()
	now := time.Now()
	allowed := lim.AllowN(now, 1)
	h := w.Header()
	h.Set("X-RateLimit-Limit", strconv.Itoa(lim.Burst()))
	h.Set("X-RateLimit-Remaining", strconv.Itoa(int(lim.TokensAt(now))))
	h.Set("X-RateLimit-Reset", strconv.FormatInt(now.Unix()+1, 10))
	if !allowed {
		http.Error(w, "Too Many Requests", http.StatusTooManyRequests)
		return
	}
	n.next.ServeHTTP(w, r)
}

// BenchmarkNaiveRateLimiterMap is the naive peer, for a ratio in the same
// run.
func BenchmarkNaiveRateLimiterMap(b *testing.B) {
	benchServe(b, &naiveLimiter{limiters: map[string]*rate.Limiter{}, next: nop}, http.StatusOK)
}

// BenchmarkMiddlewareMillionKeys sends one request for each of 1,000,000
// distinct keys through the middleware and reports the heap its store
// retains per key.
func BenchmarkMiddlewareMillionKeys(b *testing.B) {
	const n = 1_000_000
	reqs := make([]*http.Request, n)
	for i := range reqs {
		reqs[i] = keyed("key_" + strconv.Itoa(i))
	}
	var perKey float64
	b.ReportAllocs()
	for b.Loop() {
		b.StopTimer()
		store := ratelimit.MustMemoryStore(ratelimit.WithMaxKeys(2 * n))
		h := ratelimit.MustNew(store, onePolicy(ratelimit.PerHour(100)))(nop)
		before := heapInUse()
		w := &discard{}
		b.StartTimer()
		for _, r := range reqs {
			w.h = http.Header{}
			h.ServeHTTP(w, r)
		}
		b.StopTimer()
		w.h = nil
		perKey = float64(heapInUse()-before) / n
		runtime.KeepAlive(h)
		b.StartTimer()
	}
	b.ReportMetric(perKey, "heapB/key")
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*n), "ns/key")
}
