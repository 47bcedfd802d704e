package redisstore_test

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/tollgate/tollgate/quota"
	"github.com/tollgate/tollgate/ratelimit"
	"github.com/tollgate/tollgate/redisstore"
	"github.com/tollgate/tollgate/tollgatetest"
)

// TestEveryKeyExpires exercises every store and then checks that each key
// it wrote carries a TTL, the balance of an account with money excepted.
func TestEveryKeyExpires(t *testing.T) {
	c := sharedClient(t)
	s := newStore(t, c)
	ctx, now := context.Background(), time.Now()
	lim := ratelimit.PerMinute(60)
	_, err := s.Buckets().Take(ctx, ratelimit.Charge{Prefix: "rpm:", Key: "k", Limit: lim, Cost: 5})
	require.NoError(t, err)
	_, err = s.Buckets().Debit(ctx, ratelimit.Charge{Prefix: "tpm:", Key: "k", Limit: lim, Cost: 500})
	require.NoError(t, err)
	_, err = s.Leases().Acquire(ctx, "conc:", "k", 2, time.Minute)
	require.NoError(t, err)
	_, err = s.Ledger().Credit(ctx, "rich", 1_000, "topup")
	require.NoError(t, err)
	_, err = s.Ledger().Reserve(ctx, "rich", 10, "r1", now)
	require.NoError(t, err)
	free, err := s.Ledger().Reserve(ctx, "free", 0, "r1", now)
	require.NoError(t, err)
	_, err = s.Ledger().Settle(ctx, free, 0, now)
	require.NoError(t, err)
	ls := []quota.Limit{{Name: "5h", Window: quota.Rolling(5 * time.Hour), Unit: quota.Requests, Max: 10}}
	h, err := s.Windows().Reserve(ctx, "sub", ls, quota.Amounts{Requests: 1}, "r1", now)
	require.NoError(t, err)
	_, err = s.Windows().Settle(ctx, h, quota.Amounts{Requests: 1}, now)
	require.NoError(t, err)

	prefix := strings.TrimSuffix(s.Ledger().Key("x"), "qa:{x}")
	keys, err := c.Keys(ctx, prefix+"*").Result()
	require.NoError(t, err)
	persistent := map[string]bool{prefix + "qa:{rich}": true, prefix + "qt:{rich}": true}
	// The TTL's range: the state's life plus a second of slack, less the
	// test's duration; a rolling bucket ends up to one step later.
	want := map[string][2]time.Duration{
		s.Buckets().Key("rpm:", "k"): {4 * time.Second, 6 * time.Second},
		s.Buckets().Key("tpm:", "k"): {499 * time.Second, 501 * time.Second},
		s.Leases().Key("conc:", "k"): {59 * time.Second, 61 * time.Second},
		s.Windows().Key("sub", "5h"): {5 * time.Hour, 5*time.Hour + 5*time.Minute + time.Second},
	}
	assert.Len(t, keys, 12, "%v", keys)
	for _, k := range keys {
		ttl, err := c.PTTL(ctx, k).Result()
		require.NoError(t, err)
		if persistent[k] {
			assert.Equal(t, time.Duration(-1), ttl, "%s holds money and never expires", k)
			continue
		}
		assert.Positive(t, ttl, "%s has a TTL", k)
		if w, ok := want[k]; ok {
			assert.True(t, w[0] <= ttl && ttl <= w[1], "%s lives %v, as long as its state: %v", k, ttl, w)
		}
	}
}

// TestTakeAllManyCharges takes more charges than fit on the stack, some
// to the same bucket.
func TestTakeAllManyCharges(t *testing.T) {
	s := newStore(t, sharedClient(t), redisstore.WithClock(tollgatetest.NewClock(time.Time{})))
	lim := ratelimit.Every(time.Minute, 4)
	charges := make([]ratelimit.Charge, 12)
	for i := range charges {
		charges[i] = ratelimit.Charge{Prefix: "p:", Key: fmt.Sprint(i % 6), Limit: lim, Cost: 2}
	}
	results := make([]ratelimit.Result, len(charges))
	ok, err := s.Buckets().TakeAll(context.Background(), charges, results)
	require.NoError(t, err)
	require.True(t, ok)
	for i, r := range results {
		assert.Equal(t, int64(2-2*(i/6)), r.Remaining, "charge %d", i)
	}
	ok, err = s.Buckets().TakeAll(context.Background(), charges, results)
	require.NoError(t, err)
	assert.False(t, ok)
	for i, r := range results {
		assert.False(t, r.Allowed, "charge %d", i)
		assert.Equal(t, 2*time.Minute, r.RetryAfter, "charge %d: two tokens of a minute each", i)
	}
}

// TestOddIntervals checks a rate whose interval is not a
// whole number of microseconds: the arithmetic stays nanosecond-exact.
func TestOddIntervals(t *testing.T) {
	c := sharedClient(t)
	s := newStore(t, c)
	// 8,571,428,571 ns. A minute's window, not a second's: on Redis's real
	// clock, a token comes back only if the takes below span an interval.
	lim := ratelimit.PerMinute(7)
	for i := range lim.Burst {
		r, err := s.Buckets().Take(context.Background(), ratelimit.Charge{Key: "k", Limit: lim, Cost: 1})
		require.NoError(t, err)
		assert.True(t, r.Allowed, "take %d", i)
	}
	r, err := s.Buckets().Take(context.Background(), ratelimit.Charge{Key: "k", Limit: lim, Cost: 1})
	require.NoError(t, err)
	assert.False(t, r.Allowed)
	assert.Greater(t, r.RetryAfter, time.Duration(0))
	assert.LessOrEqual(t, r.RetryAfter, lim.Interval)
	assert.Greater(t, r.ResetAfter, time.Duration(lim.Burst-1)*lim.Interval)
	assert.LessOrEqual(t, r.ResetAfter, lim.Window())
}
