package ratelimit_test

import (
	"context"
	"net/http"
	"net/http/httptest"
	"strconv"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/tollgate/tollgate/ratelimit"
)

// TestRaceManyKeys sends 64 goroutines' requests for 256 keys through the
// middleware on the real clock, each key allowed 5 per hour and each
// account (16 keys) 60: no key or account is granted more than its bucket
// holds, and every grant was charged to both.
func TestRaceManyKeys(t *testing.T) {
	const goroutines, keys, rounds = 64, 256, 2
	store := ratelimit.MustMemoryStore()
	var perKey [keys]atomic.Int64
	var perAccount [keys / 16]atomic.Int64
	counted := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		k, _ := strconv.Atoi(r.Header.Get("X-Key"))
		perKey[k].Add(1)
		perAccount[k/16].Add(1)
	})
	mw, err := ratelimit.New(store, []ratelimit.Policy{
		{Name: "key", Key: byKey, Limit: ratelimit.PerHour(5)},
		{Name: "account", Key: byAccount, Limit: ratelimit.PerHour(60)},
	})
	require.NoError(t, err)
	h := mw(counted)
	var denied atomic.Int64
	start := make(chan struct{})
	done := make(chan struct{})
	for g := range goroutines {
		go func() {
			defer func() { done <- struct{}{} }()
			<-start
			for i := range rounds * keys {
				k := (i*7 + g*13) % keys
				r := keyed(strconv.Itoa(k))
				r.Header.Set("X-Account", strconv.Itoa(k/16))
				if doReq(h, r).Code == http.StatusTooManyRequests {
					denied.Add(1)
				}
			}
		}()
	}
	close(start)
	for range goroutines {
		<-done
	}
	var total int64
	for k := range keys {
		assert.LessOrEqual(t, perKey[k].Load(), int64(5), "key %d", k)
		total += perKey[k].Load()
	}
	for a := range perAccount {
		assert.LessOrEqual(t, perAccount[a].Load(), int64(60), "account %d", a)
		assert.GreaterOrEqual(t, perAccount[a].Load(), int64(60), "account %d got its whole bucket", a)
	}
	assert.Equal(t, int64(goroutines*rounds*keys), total+denied.Load())
	_ = time.Hour
}

// TestStoreDecisionsAllocateNothing checks the zero-allocation promise of
// the memory stores' hot paths.
func TestStoreDecisionsAllocateNothing(t *testing.T) {
	s := ratelimit.MustMemoryStore()
	ls := ratelimit.MustMemoryLeaseStore()
	ctx := context.Background()
	lim := ratelimit.PerSecond(1_000_000)
	c := ratelimit.Charge{Prefix: "rpm:", Key: "key_1", Limit: lim, Cost: 1}
	charges := []ratelimit.Charge{c, {Prefix: "acct:", Key: "a", Limit: lim, Cost: 1}, {Key: "all", Limit: lim, Cost: 1}}
	results := make([]ratelimit.Result, 3)
	tests := map[string]func(){
		"Take":    func() { _, _ = s.Take(ctx, c) },
		"TakeAll": func() { _, _ = s.TakeAll(ctx, charges, results) },
		"Debit":   func() { _, _ = s.Debit(ctx, c) },
		"Denied":  func() { _, _ = s.Take(ctx, ratelimit.Charge{Key: "d", Limit: ratelimit.PerHour(1), Cost: 1}) },
		"Leases": func() {
			l, _ := ls.Acquire(ctx, "c:", "k", 4, time.Minute)
			_ = ls.Release(ctx, "c:", "k", l.ID)
		},
	}
	for name, f := range tests {
		f()
		assert.Zero(t, testing.AllocsPerRun(200, f), name)
	}
}

// TestMiddlewareAllocations bounds the middleware's own allocations: the
// State that tollgate.Begin creates when the limiter is the first layer
// (State, context, request), the one string holding every header value
// and the one array backing them.
func TestMiddlewareAllocations(t *testing.T) {
	f := newFixture(t)
	huge := ratelimit.Every(time.Nanosecond, 1<<40)
	tests := []struct {
		name     string
		policies []ratelimit.Policy
		max      float64
	}{
		{"one policy", []ratelimit.Policy{{Name: "rpm", Key: byKey, Limit: huge}}, 5},
		{"three policies", []ratelimit.Policy{{Name: "rpm", Key: byKey, Limit: huge}, {Name: "acct", Key: byAccount, Limit: huge},
			{Name: "all", Key: ratelimit.ConstantKey("all"), Limit: huge}}, 5},
	}
	for _, tt := range tests {
		h := f.handler(t, http.HandlerFunc(func(http.ResponseWriter, *http.Request) {}), tt.policies)
		r := keyed("k")
		r.Header.Set("X-Account", "a")
		w := &discard{h: http.Header{}}
		allocs := testing.AllocsPerRun(100, func() {
			clear(w.h)
			h.ServeHTTP(w, r)
		})
		assert.LessOrEqual(t, allocs, tt.max, tt.name)
	}
	_ = httptest.NewRecorder
}

// discard is a ResponseWriter that keeps nothing but its header map.
type discard struct{ h http.Header }

func (d *discard) Header() http.Header         { return d.h }
func (d *discard) Write(p []byte) (int, error) { return len(p), nil }
func (d *discard) WriteHeader(int)             {}
