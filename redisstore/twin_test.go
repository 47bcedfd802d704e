package redisstore_test

import (
	"context"
	"math/rand/v2"
	"strconv"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/tollgate/tollgate/ratelimit"
	"github.com/tollgate/tollgate/redisstore"
	"github.com/tollgate/tollgate/tollgatetest"
)

// twinLimits mixes limits the TAKE script decides in plain numbers (a
// window under about 46 days) with limits only its exact path can hold.
var twinLimits = []ratelimit.Limit{
	ratelimit.PerSecond(5),
	ratelimit.PerMinute(1_000),
	ratelimit.Every(time.Hour, 3),
	ratelimit.Every(24*time.Hour, 40),         // 40 days: fast
	ratelimit.Every(24*time.Hour, 60),         // 60 days: exact
	ratelimit.Every(ratelimit.MaxWindow/4, 4), // the longest window
}

// TestBucketsTwinMemory walks the Redis buckets and the memory store
// through the same random Takes, TakeAlls, Debits and clock steps, and
// expects the same results to the nanosecond: whichever path the script
// takes, and however far a debit pushes a bucket.
func TestBucketsTwinMemory(t *testing.T) {
	c := sharedClient(t)
	clock := tollgatetest.NewClock(time.Time{})
	rs := newStore(t, c, redisstore.WithClock(clock)).Buckets()
	ms := ratelimit.MustMemoryStore(ratelimit.WithClock(clock))
	stores := map[string]ratelimit.Store{"redis": rs, "memory": ms}
	rng := rand.New(rand.NewPCG(3, 5))
	ctx := context.Background()
	for step := range 300 {
		op := twinOp(rng)
		got := map[string][]ratelimit.Result{}
		for name, s := range stores {
			rs, err := op(ctx, s)
			require.NoError(t, err, "%s, step %d", name, step)
			got[name] = rs
		}
		require.Equal(t, got["memory"], got["redis"], "step %d", step)
		clock.Advance([]time.Duration{0, time.Millisecond, 7 * time.Second, 3 * time.Hour, 30 * 24 * time.Hour}[rng.IntN(5)])
	}
}

// twinOp draws one call on one of four keys.
func twinOp(rng *rand.Rand) func(context.Context, ratelimit.Store) ([]ratelimit.Result, error) {
	charge := func() ratelimit.Charge {
		l := twinLimits[rng.IntN(len(twinLimits))]
		return ratelimit.Charge{Prefix: "twin:", Key: strconv.Itoa(rng.IntN(4)), Limit: l, Cost: rng.Int64N(l.Burst + 1)}
	}
	switch rng.IntN(4) {
	case 0:
		cs := []ratelimit.Charge{charge(), charge(), charge()}
		return func(ctx context.Context, s ratelimit.Store) ([]ratelimit.Result, error) {
			rs := make([]ratelimit.Result, len(cs))
			_, err := s.TakeAll(ctx, cs, rs)
			return rs, err
		}
	case 1:
		c := charge()
		c.Cost = rng.Int64N(1<<40) - 1<<20
		return func(ctx context.Context, s ratelimit.Store) ([]ratelimit.Result, error) {
			r, err := s.Debit(ctx, c)
			return []ratelimit.Result{r}, err
		}
	default:
		c := charge()
		return func(ctx context.Context, s ratelimit.Store) ([]ratelimit.Result, error) {
			r, err := s.Take(ctx, c)
			return []ratelimit.Result{r}, err
		}
	}
}

// scripterOnly hides every method of a client but redis.Scripter's, as a
// wrapper or a fake would: the store runs its scripts through EvalSha and
// Eval instead of Process.
type scripterOnly struct{ redis.Scripter }

func TestScripterWithoutProcess(t *testing.T) {
	srv := startPrivateRedis(t)
	rdb := redis.NewClient(&redis.Options{Addr: srv.addr, ContextTimeoutEnabled: true, MaxRetries: -1})
	t.Cleanup(func() { _ = rdb.Close() })
	clock := tollgatetest.NewClock(time.Time{})
	s := redisstore.MustNew(scripterOnly{rdb}, redisstore.WithClock(clock)).Buckets()
	ctx := context.Background()
	limits := []ratelimit.Limit{ratelimit.PerMinute(2), ratelimit.Every(30*24*time.Hour, 2)} // fast, exact
	for _, l := range limits {
		t.Run(l.Window().String(), func(t *testing.T) {
			c := ratelimit.Charge{Key: l.Window().String(), Limit: l, Cost: 1}
			for i, allowed := range []bool{true, true, false} {
				if i == 2 {
					require.NoError(t, rdb.ScriptFlush(ctx).Err(), "the script is sent again on NOSCRIPT")
				}
				r, err := s.Take(ctx, c)
				require.NoError(t, err)
				assert.Equal(t, allowed, r.Allowed, "take %d", i)
				assert.Equal(t, int64(2-min(i+1, 2)), r.Remaining, "take %d", i)
			}
		})
	}
}
