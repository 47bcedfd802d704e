package ratelimit_test

import (
	"context"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/tollgate/tollgate/ratelimit"
)

// gate is a handler that holds each request until released.
type gate struct {
	entered chan struct{}
	release chan struct{}
}

func newGate() *gate { return &gate{entered: make(chan struct{}, 16), release: make(chan struct{})} }

func (g *gate) ServeHTTP(w http.ResponseWriter, _ *http.Request) {
	g.entered <- struct{}{}
	<-g.release
	w.WriteHeader(http.StatusOK)
}

// hold starts a request in the background and waits until the handler has
// it; the returned channel yields its recorder when it completes.
func hold(t *testing.T, h http.Handler, g *gate, key string) <-chan *httptest.ResponseRecorder {
	t.Helper()
	done := make(chan *httptest.ResponseRecorder, 1)
	go func() { done <- do(h, key) }()
	select {
	case <-g.entered:
	case w := <-done:
		t.Fatalf("the request did not reach the handler: %d %s", w.Code, w.Body)
	}
	return done
}

func TestConcurrencyLimit(t *testing.T) {
	f := newFixture(t)
	g := newGate()
	h := f.handler(t, g, rpm(10), ratelimit.Concurrent(ratelimit.Concurrency{Key: byKey, Limit: 2}))
	first := hold(t, h, g, "k")
	second := hold(t, h, g, "k")

	w := do(h, "k")
	assert.Equal(t, 429, w.Code)
	code, msg := envelope(t, w)
	assert.Equal(t, "concurrent_limit_exceeded", code)
	assert.Equal(t, "Too many concurrent requests: at most 2 at a time", msg)
	assert.Equal(t, "1", w.Header().Get("Retry-After"))
	assert.Equal(t, "8", w.Header().Get("X-RateLimit-Remaining"), "headers show the buckets, uncharged")

	other := hold(t, h, g, "other")
	g.release <- struct{}{}
	g.release <- struct{}{}
	g.release <- struct{}{}
	for _, done := range []<-chan *httptest.ResponseRecorder{first, second, other} {
		assert.Equal(t, 200, (<-done).Code)
	}
	third := hold(t, h, g, "k")
	g.release <- struct{}{}
	w = <-third
	assert.Equal(t, 200, w.Code, "released slots are free again")
	assert.Equal(t, "7", w.Header().Get("X-RateLimit-Remaining"), "the denied request took no rate token")
	assert.Zero(t, f.leases.Len(), "every lease was released")
}

func TestConcurrencyReleasedOnPanic(t *testing.T) {
	f := newFixture(t)
	boom := http.HandlerFunc(func(http.ResponseWriter, *http.Request) { panic("boom") })
	h := f.handler(t, boom, nil, ratelimit.Concurrent(ratelimit.Concurrency{Key: byKey, Limit: 1}))
	for range 3 {
		assert.PanicsWithValue(t, "boom", func() { do(h, "k") }, "the panic goes on up")
	}
	assert.Zero(t, f.leases.Len(), "each panicking request released its lease")
}

func TestConcurrencyReleasedWhenClientLeaves(t *testing.T) {
	f := newFixture(t)
	ls := &ctxCheckingLeases{LeaseStore: f.leases}
	ctx, cancel := context.WithCancel(context.Background())
	leave := http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) { cancel() })
	mw, err := ratelimit.New(nil, nil, ratelimit.WithLeaseStore(ls), ratelimit.Concurrent(ratelimit.Concurrency{Key: byKey, Limit: 1}))
	require.NoError(t, err)
	doReq(mw(leave), keyed("k").WithContext(ctx))
	assert.Zero(t, ls.cancelled, "Release ran on a context the client's departure did not cancel")
	assert.Zero(t, f.leases.Len())
}

type ctxCheckingLeases struct {
	ratelimit.LeaseStore
	cancelled int
}

func (s *ctxCheckingLeases) Release(ctx context.Context, prefix, key string, id ratelimit.LeaseID) error {
	if ctx.Err() != nil {
		s.cancelled++
		return ctx.Err()
	}
	return s.LeaseStore.Release(ctx, prefix, key, id)
}

func TestConcurrencyLeaseExpiry(t *testing.T) {
	f := newFixture(t)
	g := newGate()
	h := f.handler(t, g, nil, ratelimit.Concurrent(ratelimit.Concurrency{Key: byKey, Limit: 1, TTL: 30 * time.Second}))
	stuck := hold(t, h, g, "k")
	assert.Equal(t, 429, do(h, "k").Code)
	f.clock.Advance(29 * time.Second)
	assert.Equal(t, 429, do(h, "k").Code)
	f.clock.Advance(time.Second)
	next := hold(t, h, g, "k")
	g.release <- struct{}{}
	g.release <- struct{}{}
	assert.Equal(t, 200, (<-stuck).Code)
	assert.Equal(t, 200, (<-next).Code)
}

func TestConcurrencyPerPlan(t *testing.T) {
	f := newFixture(t)
	g := newGate()
	limit := func(r *http.Request) int64 {
		if r.Header.Get("X-Key") == "vip" {
			return 0
		}
		return 1
	}
	h := f.handler(t, g, nil, ratelimit.Concurrent(ratelimit.Concurrency{Key: byKey, LimitFunc: limit}))
	a := hold(t, h, g, "vip")
	b := hold(t, h, g, "vip")
	c := hold(t, h, g, "basic")
	assert.Equal(t, 429, do(h, "basic").Code)
	for range 3 {
		g.release <- struct{}{}
	}
	for _, done := range []<-chan *httptest.ResponseRecorder{a, b, c} {
		assert.Equal(t, 200, (<-done).Code)
	}
}

func TestConcurrencyStoreFailure(t *testing.T) {
	for _, closed := range []bool{false, true} {
		var opts []ratelimit.Option
		if closed {
			opts = append(opts, ratelimit.FailClosed())
		}
		var reported int
		opts = append(opts, ratelimit.WithLeaseStore(failingLeases{}), ratelimit.OnError(func(*http.Request, error) { reported++ }),
			ratelimit.Concurrent(ratelimit.Concurrency{Key: byKey, Limit: 1}))
		mw, err := ratelimit.New(nil, nil, opts...)
		require.NoError(t, err)
		want := 200
		if closed {
			want = 503
		}
		assert.Equal(t, want, do(mw(ok), "k").Code, "fail closed: %v", closed)
		assert.Equal(t, 1, reported)
	}
}

type failingLeases struct{}

func (failingLeases) Acquire(context.Context, string, string, int64, time.Duration) (ratelimit.Lease, error) {
	return ratelimit.Lease{}, errDown
}

func (failingLeases) Release(context.Context, string, string, ratelimit.LeaseID) error {
	return errDown
}
