package ratelimittest

import (
	"context"
	"fmt"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/tollgate/tollgate"
	"github.com/tollgate/tollgate/ratelimit"
	"github.com/tollgate/tollgate/tollgatetest"
)

// NewLeaseStore returns a fresh, empty lease store whose every decision is
// made at clock's time.
type NewLeaseStore func(t *testing.T, clock tollgate.Clock) ratelimit.LeaseStore

type leaseEnv struct {
	t     *testing.T
	ctx   context.Context
	clock *tollgatetest.Clock
	store ratelimit.LeaseStore
}

// RunLeases runs the lease conformance suite against the stores newStore
// returns. Time works as in Run.
func RunLeases(t *testing.T, newStore NewLeaseStore) {
	t.Helper()
	cases := []struct {
		name string
		run  func(e *leaseEnv)
	}{
		{"AcquireUpToLimit", testAcquireUpToLimit},
		{"ReleaseFreesASlot", testReleaseFrees},
		{"ReleaseIsIdempotent", testReleaseIdempotent},
		{"LeasesExpire", testLeasesExpire},
		{"SlidingWindowCount", testSlidingWindow},
		{"LimitChange", testLeaseLimitChange},
		{"KeysAreIndependentAndPrefixJoinsKey", testLeaseKeys},
		{"InvalidArguments", testLeaseInvalid},
		{"ConcurrentHoldersNeverExceedLimit", testConcurrentLeases},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			clock := tollgatetest.NewClock(time.Time{})
			store := newStore(t, clock)
			require.NotNil(t, store, "the constructor returned no store")
			c.run(&leaseEnv{t: t, ctx: context.Background(), clock: clock, store: store})
		})
	}
}

func (e *leaseEnv) acquire(prefix, key string, limit int64, ttl time.Duration) ratelimit.Lease {
	e.t.Helper()
	l, err := e.store.Acquire(e.ctx, prefix, key, limit, ttl)
	require.NoError(e.t, err)
	return l
}

func (e *leaseEnv) release(prefix, key string, id ratelimit.LeaseID) {
	e.t.Helper()
	require.NoError(e.t, e.store.Release(e.ctx, prefix, key, id))
}

func testAcquireUpToLimit(e *leaseEnv) {
	t := e.t
	seen := map[ratelimit.LeaseID]bool{}
	for i := int64(1); i <= 3; i++ {
		l := e.acquire("", "k", 3, time.Minute)
		require.True(t, l.Acquired, "lease %d", i)
		assert.NotZero(t, l.ID)
		assert.False(t, seen[l.ID], "lease IDs are unique per key")
		seen[l.ID] = true
		assert.Equal(t, i, l.Active)
		assert.Equal(t, int64(3), l.Limit)
		sameTime(t, e.clock.Now().Add(time.Minute), l.ExpiresAt)
		assert.Zero(t, l.RetryAfter)
		e.clock.Advance(time.Second)
	}
	l := e.acquire("", "k", 3, time.Minute)
	assert.False(t, l.Acquired)
	assert.Zero(t, l.ID)
	assert.Equal(t, int64(3), l.Active)
	assert.Equal(t, 57*time.Second, l.RetryAfter, "the first lease lapses 60 s after it was taken")
	sameTime(t, e.clock.Now().Add(57*time.Second), l.ExpiresAt)
}

func testReleaseFrees(e *leaseEnv) {
	t := e.t
	a := e.acquire("", "k", 2, time.Minute)
	e.acquire("", "k", 2, time.Minute)
	require.False(t, e.acquire("", "k", 2, time.Minute).Acquired)
	e.release("", "k", a.ID)
	l := e.acquire("", "k", 2, time.Minute)
	assert.True(t, l.Acquired, "a released slot is free")
	assert.Equal(t, int64(2), l.Active)
}

func testReleaseIdempotent(e *leaseEnv) {
	t := e.t
	a := e.acquire("", "k", 1, time.Minute)
	e.release("", "k", a.ID)
	e.release("", "k", a.ID)
	e.release("", "k", a.ID+12345)
	e.release("", "nobody", 1)
	l := e.acquire("", "k", 1, time.Minute)
	assert.True(t, l.Acquired)
	assert.Equal(t, int64(1), l.Active, "double releases freed nothing extra")
	e.clock.Advance(2 * time.Minute)
	e.release("", "k", l.ID)
}

func testLeasesExpire(e *leaseEnv) {
	t := e.t
	e.acquire("", "k", 2, 10*time.Second)
	e.clock.Advance(4 * time.Second)
	e.acquire("", "k", 2, 10*time.Second)
	e.clock.Advance(5 * time.Second)
	assert.False(t, e.acquire("", "k", 2, 10*time.Second).Acquired, "both still live at 9 s")
	e.clock.Advance(time.Second)
	l := e.acquire("", "k", 2, 10*time.Second)
	assert.True(t, l.Acquired, "the first lapsed at 10 s")
	assert.Equal(t, int64(2), l.Active)
	e.clock.Advance(time.Hour)
	l = e.acquire("", "k", 2, 10*time.Second)
	assert.Equal(t, int64(1), l.Active, "every old lease lapsed")
}

// testSlidingWindow counts events with leases that are never released, as
// the penalty box counts failures: 10 in any 10 minutes.
func testSlidingWindow(e *leaseEnv) {
	t := e.t
	for i := int64(1); i <= 10; i++ {
		l := e.acquire("fail:", "k", 10, 10*time.Minute)
		require.True(t, l.Acquired)
		assert.Equal(t, i, l.Active)
		e.clock.Advance(59 * time.Second)
	}
	assert.False(t, e.acquire("fail:", "k", 10, 10*time.Minute).Acquired, "10 events in 9m50s")
	e.clock.Advance(10 * time.Second)
	l := e.acquire("fail:", "k", 10, 10*time.Minute)
	assert.True(t, l.Acquired, "the first event left the window")
	assert.Equal(t, int64(10), l.Active)
}

func testLeaseLimitChange(e *leaseEnv) {
	t := e.t
	e.acquire("", "k", 2, time.Minute)
	e.acquire("", "k", 2, time.Minute)
	l := e.acquire("", "k", 3, time.Minute)
	assert.True(t, l.Acquired, "a higher limit admits one more")
	assert.Equal(t, int64(3), l.Active)
	l = e.acquire("", "k", 1, time.Minute)
	assert.False(t, l.Acquired)
	assert.Equal(t, int64(3), l.Active, "a lower limit keeps the leases held")
}

func testLeaseKeys(e *leaseEnv) {
	t := e.t
	e.acquire("p:", "k", 2, time.Minute)
	assert.Equal(t, int64(2), e.acquire("", "p:k", 2, time.Minute).Active, "Prefix+Key names one key")
	assert.False(t, e.acquire("p", ":k", 2, time.Minute).Acquired)
	assert.True(t, e.acquire("q:", "k", 2, time.Minute).Acquired, "another prefix is another key")
	assert.True(t, e.acquire("", "other", 2, time.Minute).Acquired)
}

func testLeaseInvalid(e *leaseEnv) {
	t := e.t
	for _, tt := range []struct {
		limit int64
		ttl   time.Duration
	}{{0, time.Second}, {-1, time.Second}, {1, 0}, {1, -time.Second}} {
		_, err := e.store.Acquire(e.ctx, "", "k", tt.limit, tt.ttl)
		assert.ErrorIs(t, err, ratelimit.ErrInvalidLease, "limit %d ttl %v", tt.limit, tt.ttl)
	}
	assert.Equal(t, int64(1), e.acquire("", "k", 1, time.Second).Active, "failed calls took nothing")
}

// testConcurrentLeases has 64 goroutines acquire and release on 4 keys
// with a limit of 3, tracking how many hold each key at once.
func testConcurrentLeases(e *leaseEnv) {
	const goroutines, keys, rounds, limit = 64, 4, 20, 3
	var holding, peak [keys]atomic.Int64
	var granted atomic.Int64
	race(goroutines, func(g int) {
		for r := range rounds {
			k := (g + r) % keys
			key := fmt.Sprintf("c%d", k)
			l, err := e.store.Acquire(e.ctx, "", key, limit, time.Hour)
			if !assert.NoError(e.t, err) || !l.Acquired {
				continue
			}
			granted.Add(1)
			n := holding[k].Add(1)
			for p := peak[k].Load(); n > p && !peak[k].CompareAndSwap(p, n); p = peak[k].Load() {
			}
			holding[k].Add(-1)
			assert.NoError(e.t, e.store.Release(e.ctx, "", key, l.ID))
		}
	})
	for k := range keys {
		assert.LessOrEqual(e.t, peak[k].Load(), int64(limit), "key c%d", k)
		assert.Equal(e.t, int64(1), e.acquire("", fmt.Sprintf("c%d", k), limit, time.Hour).Active, "every lease was released")
	}
	assert.Positive(e.t, granted.Load())
}
