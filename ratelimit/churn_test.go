package ratelimit_test

import (
	"context"
	"math/rand/v2"
	"os"
	"runtime"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/tollgate/tollgate/ratelimit"
	"github.com/tollgate/tollgate/tollgatetest"
)

// churnKeys is how many random keys a key-churn test sends: a million by
// default, which the race detector gets through in seconds, and ten
// million with TOLLGATE_SOAK=1 (the figures in docs/reliability.md).
func churnKeys() int {
	if os.Getenv("TOLLGATE_SOAK") == "1" {
		return 10_000_000
	}
	return 1_000_000
}

// TestKeyChurnStaysUnderTheCap floods a capped memory store with random
// keys, as an attacker rotating throwaway keys (or IPv6 addresses) would:
// the store never holds more keys than its cap, its heap stays within the
// cap's budget, and the legitimate keys, which spent their allowance before
// the flood, stay limited throughout it and get exactly their limit back
// when it refills. The attacker's keys are what the cap forgets.
func TestKeyChurnStaysUnderTheCap(t *testing.T) {
	const (
		maxKeys = 100_000
		legit   = 50
		workers = 4
		rounds  = 10
	)
	total := churnKeys()
	legitLimit := ratelimit.PerHour(10)
	flood := ratelimit.PerSecond(5) // each throwaway key spends one token in five

	before := heapInUse()
	clock := tollgatetest.NewClock(time.Time{})
	store, err := ratelimit.NewMemoryStore(ratelimit.WithClock(clock), ratelimit.WithMaxKeys(maxKeys))
	require.NoError(t, err)
	ctx := context.Background()
	take := func(key string, l ratelimit.Limit) ratelimit.Result {
		res, err := store.Take(ctx, ratelimit.Charge{Prefix: "rpm:", Key: key, Limit: l, Cost: 1})
		require.NoError(t, err)
		return res
	}
	legitKey := func(i int) string { return "legit-" + strconv.Itoa(i) }
	for i := range legit {
		for n := range legitLimit.Burst {
			require.True(t, take(legitKey(i), legitLimit).Allowed, "key %d request %d", i, n)
		}
	}

	start := time.Now()
	perRound := total / rounds / workers
	for round := range rounds {
		var wg sync.WaitGroup
		for w := range workers {
			wg.Add(1)
			go func() {
				defer wg.Done()
				rng := rand.New(rand.NewPCG(uint64(round), uint64(w)))
				buf := make([]byte, 0, 24)
				for range perRound {
					buf = strconv.AppendUint(append(buf[:0], "flood-"...), rng.Uint64(), 36)
					res, err := store.Take(ctx, ratelimit.Charge{Prefix: "rpm:", Key: string(buf), Limit: flood, Cost: 1})
					if err != nil || !res.Allowed {
						t.Errorf("a fresh key is allowed: %v %+v", err, res)
						return
					}
				}
			}()
		}
		wg.Wait()
		// Time moves on a little each round, so buckets of earlier rounds
		// fill up and are swept rather than evicted.
		clock.Advance(20 * time.Millisecond)
		require.LessOrEqual(t, store.Len(), maxKeys, "round %d", round)
		for i := range legit {
			res := take(legitKey(i), legitLimit)
			require.False(t, res.Allowed, "round %d: legitimate key %d was forgotten and refilled", round, i)
			require.Positive(t, res.RetryAfter)
		}
	}
	elapsed := time.Since(start)

	after := heapInUse()
	grown := int64(after) - int64(before)
	runtime.KeepAlive(store)
	t.Logf("%d random keys in %v (%.0f ns/key); %d held, %d evicted; heap grew %d bytes (%.1f B per capped key)",
		total, elapsed.Round(time.Millisecond), float64(elapsed.Nanoseconds())/float64(total),
		store.Len(), store.Evicted(), grown, float64(grown)/maxKeys)
	assert.LessOrEqual(t, store.Len(), maxKeys)
	assert.Positive(t, store.Evicted(), "the cap bit")
	// 27 bytes a key at worst in the table; 64 leaves room for the shards
	// and the allocator's rounding, and is far below one key's string.
	assert.Less(t, grown, int64(64*maxKeys), "the heap is bounded by the cap, not by the flood")

	// An hour later the legitimate keys have exactly their limit again.
	clock.Advance(time.Hour)
	for i := range legit {
		for n := range legitLimit.Burst {
			require.True(t, take(legitKey(i), legitLimit).Allowed, "key %d request %d after the refill", i, n)
		}
		assert.False(t, take(legitKey(i), legitLimit).Allowed, "key %d: no more than its limit", i)
	}
}
