package ratelimit_test

import (
	"context"
	"fmt"
	"math/rand/v2"
	"strconv"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"golang.org/x/time/rate"

	"github.com/tollgate/tollgate/ratelimit"
	"github.com/tollgate/tollgate/tollgatetest"
)

// TestEvictionChangesNoAnswer runs one random workload against a store
// swept after every call, a store left to sweep itself, and a map of
// rate.Limiter that never forgets anything: the three must agree on every
// decision.
func TestEvictionChangesNoAnswer(t *testing.T) {
	clock := tollgatetest.NewClock(time.Time{})
	swept := ratelimit.MustMemoryStore(ratelimit.WithClock(clock), ratelimit.WithShards(4))
	lazy := ratelimit.MustMemoryStore(ratelimit.WithClock(clock))
	refs := map[string]*rate.Limiter{}
	lim := ratelimit.FromRate(8, 4) // 125 ms per token, exact in float
	rng := rand.New(rand.NewPCG(7, 7))
	ctx := context.Background()
	for step := range 20000 {
		if rng.IntN(3) == 0 {
			clock.Advance(time.Duration(rng.IntN(64)) * time.Second / 64)
		}
		key := "k" + strconv.Itoa(rng.IntN(300))
		cost := int64(rng.IntN(3))
		ref, found := refs[key]
		if !found {
			ref = rate.NewLimiter(lim.Rate(), int(lim.Burst))
			refs[key] = ref
		}
		want := ref.AllowN(clock.Now(), int(cost))
		a, err := swept.Take(ctx, ratelimit.Charge{Key: key, Limit: lim, Cost: cost})
		require.NoError(t, err)
		b, err := lazy.Take(ctx, ratelimit.Charge{Key: key, Limit: lim, Cost: cost})
		require.NoError(t, err)
		require.Equal(t, want, a.Allowed, "step %d", step)
		require.Equal(t, a, b, "step %d", step)
		swept.Sweep()
	}
	assert.Less(t, swept.Len(), 300, "the swept store forgot the full buckets")
}

func TestIdleKeysAreSwept(t *testing.T) {
	clock := tollgatetest.NewClock(time.Time{})
	s := ratelimit.MustMemoryStore(ratelimit.WithClock(clock))
	ctx := context.Background()
	lim := ratelimit.Every(time.Second, 10)
	for i := range 20000 {
		_, err := s.Take(ctx, ratelimit.Charge{Key: "old" + strconv.Itoa(i), Limit: lim, Cost: 1})
		require.NoError(t, err)
	}
	require.Equal(t, 20000, s.Len())
	assert.Zero(t, s.Evicted(), "the cap never bit")
	clock.Advance(time.Second)
	for i := range 20000 {
		_, err := s.Take(ctx, ratelimit.Charge{Key: "new" + strconv.Itoa(i), Limit: lim, Cost: 1})
		require.NoError(t, err)
	}
	assert.Less(t, s.Len(), 30000, "new keys swept most of the idle ones on their way in")
	n := s.Len()
	assert.Equal(t, n-20000, s.Sweep(), "Sweep finds what is left of the old keys")
	assert.Equal(t, 20000, s.Len())
	clock.Advance(time.Second)
	assert.Equal(t, 20000, s.Sweep())
	assert.Zero(t, s.Len())
	r, err := s.Take(ctx, ratelimit.Charge{Key: "old1", Limit: lim})
	require.NoError(t, err)
	assert.Equal(t, int64(10), r.Remaining, "a forgotten key is a full bucket")
}

func TestKeyCapHolds(t *testing.T) {
	tests := []struct {
		name string
		opts []ratelimit.MemoryOption
		max  int
	}{
		{"one shard", []ratelimit.MemoryOption{ratelimit.WithShards(1), ratelimit.WithMaxKeys(500)}, 500},
		{"default shards shrink to fit", []ratelimit.MemoryOption{ratelimit.WithMaxKeys(1000)}, 1000},
		{"many shards", []ratelimit.MemoryOption{ratelimit.WithMaxKeys(1 << 14), ratelimit.WithShards(256)}, 1 << 14},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := ratelimit.MustMemoryStore(tt.opts...)
			ctx := context.Background()
			lim := ratelimit.PerHour(10)
			for i := range 100_000 {
				_, err := s.Take(ctx, ratelimit.Charge{Key: strconv.Itoa(i), Limit: lim, Cost: 1})
				require.NoError(t, err)
				if i%997 == 0 {
					require.LessOrEqual(t, s.Len(), tt.max, "after %d keys", i+1)
				}
			}
			assert.LessOrEqual(t, s.Len(), tt.max)
			assert.Greater(t, s.Len(), tt.max*3/4, "the cap is used, not wasted")
		})
	}
}

// TestKeyCapSparesHeavyKeys floods a capped store with single-use keys:
// the keys that spent their whole burst keep their state, since eviction
// picks the bucket closest to full.
func TestKeyCapSparesHeavyKeys(t *testing.T) {
	clock := tollgatetest.NewClock(time.Time{})
	s := ratelimit.MustMemoryStore(ratelimit.WithClock(clock), ratelimit.WithShards(1), ratelimit.WithMaxKeys(64))
	ctx := context.Background()
	heavy := ratelimit.Every(time.Hour, 10)
	for i := range 32 {
		_, err := s.Take(ctx, ratelimit.Charge{Key: fmt.Sprint("heavy", i), Limit: heavy, Cost: 10})
		require.NoError(t, err)
	}
	for i := range 10_000 {
		_, err := s.Take(ctx, ratelimit.Charge{Key: fmt.Sprint("flood", i), Limit: heavy, Cost: 1})
		require.NoError(t, err)
	}
	remembered := 0
	for i := range 32 {
		r, err := s.Take(ctx, ratelimit.Charge{Key: fmt.Sprint("heavy", i), Limit: heavy, Cost: 1})
		require.NoError(t, err)
		if !r.Allowed {
			remembered++
		}
	}
	assert.GreaterOrEqual(t, remembered, 30, "heavy keys survive a flood of throwaway keys")
	assert.LessOrEqual(t, s.Len(), 64)
	assert.Greater(t, s.Evicted(), uint64(9000), "the cap bit")
}

func TestMemoryOptions(t *testing.T) {
	bad := map[string][]ratelimit.MemoryOption{
		"zero keys":       {ratelimit.WithMaxKeys(0)},
		"negative keys":   {ratelimit.WithMaxKeys(-1)},
		"zero shards":     {ratelimit.WithShards(0)},
		"odd shards":      {ratelimit.WithShards(3)},
		"too many shards": {ratelimit.WithShards(1 << 17)},
	}
	for name, opts := range bad {
		_, err := ratelimit.NewMemoryStore(opts...)
		assert.Error(t, err, name)
		_, err = ratelimit.NewMemoryLeaseStore(opts...)
		assert.Error(t, err, name)
		assert.Panics(t, func() { ratelimit.MustMemoryStore(opts...) }, name)
		assert.Panics(t, func() { ratelimit.MustMemoryLeaseStore(opts...) }, name)
	}
	s, err := ratelimit.NewMemoryStore(nil, ratelimit.WithClock(nil), ratelimit.WithMaxKeys(1))
	require.NoError(t, err, "nil options and a nil clock are tolerated")
	r, err := s.Take(context.Background(), ratelimit.Charge{Key: "k", Limit: ratelimit.PerHour(1), Cost: 1})
	require.NoError(t, err)
	assert.WithinDuration(t, time.Now().Add(time.Hour), r.ResetAt, time.Second, "the system clock")
}

func TestLimitHelpers(t *testing.T) {
	tests := []struct {
		name  string
		limit ratelimit.Limit
		want  ratelimit.Limit
	}{
		{"PerSecond", ratelimit.PerSecond(10), ratelimit.Every(100*time.Millisecond, 10)},
		{"PerMinute", ratelimit.PerMinute(60), ratelimit.Every(time.Second, 60)},
		{"PerHour", ratelimit.PerHour(3600), ratelimit.Every(time.Second, 3600)},
		{"PerDay", ratelimit.PerDay(24), ratelimit.Every(time.Hour, 24)},
		{"PerMinute rounds down", ratelimit.PerMinute(7), ratelimit.Every(8571428571, 7)},
		{"Per zero", ratelimit.Per(0, time.Second), ratelimit.Limit{}},
		{"Per zero period", ratelimit.Per(5, 0), ratelimit.Limit{Burst: 5}},
		{"FromRate", ratelimit.FromRate(rate.Every(3*time.Second), 2), ratelimit.Every(3*time.Second, 2)},
		{"FromRate 1/7 s", ratelimit.FromRate(7, 1), ratelimit.Every(142857142, 1)},
		{"FromRate Inf", ratelimit.FromRate(rate.Inf, 1), ratelimit.Limit{}},
		{"FromRate zero", ratelimit.FromRate(0, 1), ratelimit.Limit{}},
		{"FromRate too fast", ratelimit.FromRate(2e9, 1), ratelimit.Limit{}},
		{"FromRate too slow", ratelimit.FromRate(1e-12, 1), ratelimit.Limit{}},
	}
	for _, tt := range tests {
		assert.Equal(t, tt.want, tt.limit, tt.name)
	}
	assert.Equal(t, rate.Limit(10), ratelimit.PerSecond(10).Rate())
	assert.Equal(t, rate.Limit(0), ratelimit.Limit{}.Rate())
	assert.Equal(t, time.Minute, ratelimit.PerMinute(60).Window())
	assert.True(t, ratelimit.Limit{}.IsZero())
	assert.NoError(t, ratelimit.PerDay(1_000_000).Validate())
	assert.ErrorIs(t, ratelimit.Every(time.Nanosecond, 1<<61).Validate(), ratelimit.ErrInvalidLimit)
}
