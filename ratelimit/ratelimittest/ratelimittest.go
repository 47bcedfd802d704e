// Package ratelimittest is the conformance suite every ratelimit.Store and
// ratelimit.LeaseStore must pass, the in-memory ones and the Redis ones
// alike, so that a backend can be swapped without changing one decision.
//
// A backend's test calls Run (and RunLeases for a lease store) with a
// constructor:
//
//	func TestConformance(t *testing.T) {
//		ratelimittest.Run(t, func(t *testing.T, clock tollgate.Clock) ratelimit.Store {
//			return redisstore.New(client, redisstore.WithClock(clock), redisstore.WithPrefix(t.Name()))
//		})
//	}
//
// # Time
//
// The suite walks a fixed timeline: it hands the constructor a manual
// clock (tollgatetest.Clock) and advances it, and expects every decision
// to be made at that clock's time. A backend that normally owns its time —
// Redis reads TIME inside its script — must therefore accept a clock for
// tests and pass its reading instead (as a script argument), so that the
// script's arithmetic, which is what the suite checks, runs on a known
// timeline. Every instant and duration the suite uses is a whole number of
// microseconds, and the rates it compares with rate.Limiter have intervals
// of whole microseconds too, so a backend with microsecond resolution
// passes as well as one with nanoseconds.
//
// RunRealTime checks the backend's own clock path with the real time: the
// decisions that do not depend on when they are made, and one refill,
// observed by polling a bucket that refills every few milliseconds. It
// takes well under a second.
//
// Each sub-test gets a fresh store from the constructor; stores may share
// a server as long as each constructor call starts from an empty keyspace
// (a fresh key prefix, say).
package ratelimittest

import (
	"context"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/tollgate/tollgate"
	"github.com/tollgate/tollgate/ratelimit"
	"github.com/tollgate/tollgate/tollgatetest"
)

// NewStore returns a fresh, empty store whose every decision is made at
// clock's time.
type NewStore func(t *testing.T, clock tollgate.Clock) ratelimit.Store

// env is one sub-test's store and clock.
type env struct {
	t     *testing.T
	ctx   context.Context
	clock *tollgatetest.Clock
	store ratelimit.Store
}

type storeCase struct {
	name string
	run  func(e *env)
}

// Run runs the conformance suite against the stores newStore returns.
func Run(t *testing.T, newStore NewStore) {
	t.Helper()
	cases := [][]storeCase{bucketCases, multiCases, debitCases, referenceCases}
	for _, group := range cases {
		for _, c := range group {
			t.Run(c.name, func(t *testing.T) {
				clock := tollgatetest.NewClock(time.Time{})
				store := newStore(t, clock)
				require.NotNil(t, store, "the constructor returned no store")
				c.run(&env{t: t, ctx: context.Background(), clock: clock, store: store})
			})
		}
	}
}

// take takes cost tokens from key and fails the test on an error.
func (e *env) take(key string, l ratelimit.Limit, cost int64) ratelimit.Result {
	e.t.Helper()
	r, err := e.store.Take(e.ctx, ratelimit.Charge{Key: key, Limit: l, Cost: cost})
	require.NoError(e.t, err, "Take(%q, %+v, %d)", key, l, cost)
	return r
}

// debit debits cost tokens from key and fails the test on an error.
func (e *env) debit(key string, l ratelimit.Limit, cost int64) ratelimit.Result {
	e.t.Helper()
	r, err := e.store.Debit(e.ctx, ratelimit.Charge{Key: key, Limit: l, Cost: cost})
	require.NoError(e.t, err, "Debit(%q, %+v, %d)", key, l, cost)
	return r
}

// remaining peeks at key's bucket.
func (e *env) remaining(key string, l ratelimit.Limit) int64 {
	e.t.Helper()
	return e.take(key, l, 0).Remaining
}

// drain takes every token of key's bucket, one at a time.
func (e *env) drain(key string, l ratelimit.Limit) {
	e.t.Helper()
	for i := int64(0); i < l.Burst; i++ {
		require.True(e.t, e.take(key, l, 1).Allowed, "token %d of a full bucket", i+1)
	}
}

// RunRealTime checks a store on its own clock: the store newStore returns
// reads the real time (the system clock, the Redis server's TIME). The
// checks hold whenever they run; the one refill is observed by polling a
// bucket that refills every 2 ms, for at most 2 s.
func RunRealTime(t *testing.T, newStore func(t *testing.T) ratelimit.Store) {
	t.Helper()
	hourly := ratelimit.Every(time.Hour, 3)
	ctx := context.Background()
	t.Run("BurstThenDeny", func(t *testing.T) {
		s := newStore(t)
		start := time.Now()
		for i := range 3 {
			r, err := s.Take(ctx, charge("k", hourly, 1))
			require.NoError(t, err)
			assert.True(t, r.Allowed, "take %d", i+1)
		}
		r, err := s.Take(ctx, charge("k", hourly, 1))
		require.NoError(t, err)
		assert.False(t, r.Allowed)
		assert.InDelta(t, float64(time.Hour), float64(r.RetryAfter), float64(time.Second))
		assert.InDelta(t, float64(3*time.Hour), float64(r.ResetAfter), float64(time.Second))
		assert.WithinDuration(t, start.Add(3*time.Hour), r.ResetAt, 2*time.Second, "ResetAt is on the real clock")
	})
	t.Run("TakeAllAtomic", func(t *testing.T) {
		s := newStore(t)
		_, err := s.Take(ctx, charge("b", hourly, 3))
		require.NoError(t, err)
		rs := make([]ratelimit.Result, 2)
		ok, err := s.TakeAll(ctx, []ratelimit.Charge{charge("a", hourly, 1), charge("b", hourly, 1)}, rs)
		require.NoError(t, err)
		assert.False(t, ok)
		r, err := s.Take(ctx, charge("a", hourly, 0))
		require.NoError(t, err)
		assert.Equal(t, int64(3), r.Remaining, "nothing taken from a")
	})
	t.Run("DebitIntoDebt", func(t *testing.T) {
		s := newStore(t)
		r, err := s.Debit(ctx, charge("k", hourly, 5))
		require.NoError(t, err)
		assert.False(t, r.Allowed)
		r, err = s.Take(ctx, charge("k", hourly, 0))
		require.NoError(t, err)
		assert.False(t, r.Allowed, "in debt")
	})
	t.Run("Refills", func(t *testing.T) { testRealRefill(t, newStore(t)) })
}

func testRealRefill(t *testing.T, s ratelimit.Store) {
	fast := ratelimit.Every(2*time.Millisecond, 1)
	ctx := context.Background()
	start := time.Now()
	r, err := s.Take(ctx, charge("k", fast, 1))
	require.NoError(t, err)
	require.True(t, r.Allowed)
	for deadline := start.Add(2 * time.Second); ; {
		r, err = s.Take(ctx, charge("k", fast, 1))
		require.NoError(t, err)
		if r.Allowed {
			break
		}
		assert.LessOrEqual(t, r.RetryAfter, fast.Interval)
		require.True(t, time.Now().Before(deadline), "the bucket never refilled")
	}
	assert.GreaterOrEqual(t, time.Since(start), time.Millisecond, "refilled no sooner than the interval allows")
}
