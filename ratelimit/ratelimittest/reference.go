package ratelimittest

import (
	"fmt"
	"math"
	"math/rand/v2"
	"sync"
	"sync/atomic"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"golang.org/x/time/rate"

	"github.com/tollgate/tollgate/ratelimit"
	"github.com/tollgate/tollgate/tollgatetest"
)

var referenceCases = []storeCase{
	{"MatchesRateLimiter", testMatchesRateLimiter},
	{"ConcurrentTakesNeverExceedBurst", testConcurrentTakes},
	{"ConcurrentTakeAllNeverExceedsAnyBucket", testConcurrentTakeAll},
}

// tick is the suite's time step: 1/64 s. Rates that are powers of two up
// to 64 per second then have intervals of whole microseconds, and
// rate.Limiter's float arithmetic on multiples of tick is exact, so any
// difference between the two is a real one.
const tick = time.Second / 64

// testMatchesRateLimiter walks random timelines and checks every decision,
// remaining count and retry time against rate.Limiter's.
func testMatchesRateLimiter(e *env) {
	rates := []rate.Limit{0.125, 0.5, 1, 2, 4, 16, 64}
	rng := rand.New(rand.NewPCG(1, 2))
	for i, r := range rates {
		burst := 1 + rng.IntN(20)
		l := ratelimit.FromRate(r, burst)
		require.Equal(e.t, time.Duration(float64(time.Second)/float64(r)), l.Interval)
		walk(e, fmt.Sprintf("ref%d", i), l, rate.NewLimiter(r, burst), rng)
	}
}

func walk(e *env, key string, l ratelimit.Limit, ref *rate.Limiter, rng *rand.Rand) {
	t := e.t
	for step := range 300 {
		if rng.IntN(4) > 0 {
			e.clock.Advance(time.Duration(rng.IntN(3*int(l.Burst)*int(l.Interval/tick)+1)) * tick)
		}
		now := e.clock.Now()
		cost := int64(rng.IntN(int(l.Burst) + 1))
		before := ref.TokensAt(now)
		want := ref.AllowN(now, int(cost))
		got := e.take(key, l, cost)
		where := fmt.Sprintf("%s step %d at +%v: cost %d of %v with %.4f tokens", key, step, now.Sub(tollgatetest.Epoch), cost, l, before)
		require.Equal(t, want, got.Allowed, where)
		assert.Equal(t, int64(math.Floor(max(ref.TokensAt(now), 0))), got.Remaining, where)
		if !want {
			deficit := (float64(cost) - before) / float64(ref.Limit())
			assert.Equal(t, time.Duration(deficit*float64(time.Second)), got.RetryAfter, where)
		}
	}
}

// testConcurrentTakes has 64 goroutines race for the tokens of 16 buckets
// at a frozen time: each bucket must grant exactly its burst.
func testConcurrentTakes(e *env) {
	const goroutines, keys, rounds = 64, 16, 3
	l := ratelimit.Every(time.Hour, 10)
	var granted [keys]atomic.Int64
	race(goroutines, func(g int) {
		for r := range rounds {
			for k := range keys {
				key := fmt.Sprintf("c%d", (k+g+r)%keys)
				res, err := e.store.Take(e.ctx, charge(key, l, 1))
				if assert.NoError(e.t, err) && res.Allowed {
					granted[(k+g+r)%keys].Add(1)
				}
			}
		}
	})
	for k := range keys {
		assert.Equal(e.t, l.Burst, granted[k].Load(), "bucket c%d", k)
	}
}

// testConcurrentTakeAll races per-key charges that also draw on one shared
// bucket: the shared burst bounds the total and no key exceeds its own.
func testConcurrentTakeAll(e *env) {
	const goroutines, keys, rounds = 64, 16, 3
	own := ratelimit.Every(time.Hour, 10)
	shared := ratelimit.Every(time.Hour, 50)
	var granted [keys]atomic.Int64
	race(goroutines, func(g int) {
		results := make([]ratelimit.Result, 2)
		for r := range rounds {
			for k := range keys {
				i := (k + g + r) % keys
				charges := []ratelimit.Charge{charge(fmt.Sprintf("t%d", i), own, 1), charge("shared", shared, 1)}
				ok, err := e.store.TakeAll(e.ctx, charges, results)
				if assert.NoError(e.t, err) && ok {
					granted[i].Add(1)
				}
			}
		}
	})
	var total int64
	for k := range keys {
		n := granted[k].Load()
		assert.LessOrEqual(e.t, n, own.Burst, "key t%d", k)
		assert.Equal(e.t, own.Burst-n, e.remaining(fmt.Sprintf("t%d", k), own), "key t%d was charged only for its grants", k)
		total += n
	}
	assert.Equal(e.t, shared.Burst, total, "the shared bucket granted exactly its burst")
	assert.Zero(e.t, e.remaining("shared", shared))
}

// race runs f in n goroutines released together and waits for them all.
func race(n int, f func(g int)) {
	start := make(chan struct{})
	var wg sync.WaitGroup
	for g := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			<-start
			f(g)
		}()
	}
	close(start)
	wg.Wait()
}
