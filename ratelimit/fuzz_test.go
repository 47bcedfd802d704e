package ratelimit_test

import (
	"context"
	"math"
	"testing"
	"time"

	"golang.org/x/time/rate"

	"github.com/tollgate/tollgate/ratelimit"
	"github.com/tollgate/tollgate/tollgatetest"
)

// FuzzTakeMatchesRateLimiter replays the fuzzer's sequence of (time step,
// cost) pairs against a MemoryStore and a rate.Limiter and requires the
// same decision and remaining count at every step. Rates are powers of
// two and steps multiples of 1/64 s, where rate.Limiter's floats are exact.
func FuzzTakeMatchesRateLimiter(f *testing.F) {
	f.Add(uint8(2), uint8(3), []byte{0, 1, 0, 1, 0, 1, 0, 1, 16, 1, 5, 2})
	f.Add(uint8(6), uint8(20), []byte{0, 20, 0, 1, 255, 20, 3, 7, 1, 0})
	f.Add(uint8(0), uint8(1), []byte{0, 1, 64, 1, 63, 1, 1, 1})
	f.Fuzz(func(t *testing.T, rateExp, burst uint8, ops []byte) {
		r := rate.Limit(math.Ldexp(1, int(rateExp%10)-3)) // 1/8 … 64 per second
		b := int(burst%40) + 1
		limit := ratelimit.FromRate(r, b)
		clock := tollgatetest.NewClock(time.Time{})
		store := ratelimit.MustMemoryStore(ratelimit.WithClock(clock))
		ref := rate.NewLimiter(r, b)
		ctx := context.Background()
		for i := 0; i+1 < len(ops); i += 2 {
			clock.Advance(time.Duration(ops[i]) * time.Second / 64)
			cost := int64(ops[i+1]) % int64(b+2)
			now := clock.Now()
			res, err := store.Take(ctx, ratelimit.Charge{Key: "k", Limit: limit, Cost: cost})
			want := ref.AllowN(now, int(cost))
			if cost > int64(b) {
				if err == nil || want {
					t.Fatalf("step %d: cost %d > burst %d: err %v, rate.Limiter %v", i/2, cost, b, err, want)
				}
				continue
			}
			if err != nil {
				t.Fatalf("step %d: %v", i/2, err)
			}
			if res.Allowed != want {
				t.Fatalf("step %d: cost %d: allowed %v, rate.Limiter %v", i/2, cost, res.Allowed, want)
			}
			if tokens := int64(math.Floor(max(ref.TokensAt(now), 0))); res.Remaining != tokens {
				t.Fatalf("step %d: remaining %d, rate.Limiter %d", i/2, res.Remaining, tokens)
			}
		}
	})
}
