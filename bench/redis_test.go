package bench

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"os"
	"strconv"
	"sync/atomic"
	"testing"
	"time"

	"github.com/go-redis/redis_rate/v10"
	"github.com/redis/go-redis/v9"
	"github.com/ulule/limiter/v3"
	ulredis "github.com/ulule/limiter/v3/drivers/store/redis"

	"github.com/tollgate/tollgate/ratelimit"
	"github.com/tollgate/tollgate/redisstore"
)

// The same decision through three Redis-backed limiters on the same server
// in the same run: one request against a limit of 1000 per minute, on one
// of 1000 API keys. tollgate and redis_rate both run a GCRA script;
// ulule/limiter counts requests in fixed windows. Run with
//
//	TOLLGATE_REDIS_ADDR=127.0.0.1:6379 go test -run '^$' -bench Redis -benchtime=200ms ./bench
//
// and read the decisions/s column; each benchmark also runs in parallel
// (eight goroutines per CPU) to show what the connection pool sustains.

// redisDecider is one limiter under test: it decides one request for key.
type redisDecider func(ctx context.Context, key string) (allowed bool, err error)

var redisKeys = func() []string {
	keys := make([]string, 1000)
	for i := range keys {
		keys[i] = "key_" + strconv.Itoa(i)
	}
	return keys
}()

// connectRedis connects to TOLLGATE_REDIS_ADDR with a key prefix of its
// own, deleted afterwards; without the variable it skips (fails under
// CI=true).
func connectRedis(tb testing.TB) (*redis.Client, string) {
	addr := os.Getenv("TOLLGATE_REDIS_ADDR")
	if addr == "" {
		msg := "TOLLGATE_REDIS_ADDR is not set: start a redis-server and export its host:port"
		if os.Getenv("CI") == "true" {
			tb.Fatal(msg + " (required under CI=true)")
		}
		tb.Skip(msg)
	}
	c := redis.NewClient(&redis.Options{Addr: addr, ContextTimeoutEnabled: true, MaxRetries: -1})
	tb.Cleanup(func() { _ = c.Close() })
	if err := c.Ping(context.Background()).Err(); err != nil {
		tb.Fatalf("TOLLGATE_REDIS_ADDR=%s: %v", addr, err)
	}
	var r [6]byte
	_, _ = rand.Read(r[:])
	prefix := "tgbench:" + hex.EncodeToString(r[:]) + ":"
	tb.Cleanup(func() {
		ctx := context.Background()
		iter := c.Scan(ctx, 0, "*"+prefix+"*", 1000).Iterator()
		for iter.Next(ctx) {
			_ = c.Del(ctx, iter.Val()).Err()
		}
	})
	return c, prefix
}

func tollgateDecider(_ testing.TB, c *redis.Client, prefix string, perMinute int) redisDecider {
	s := redisstore.MustNew(c, redisstore.WithPrefix(prefix), redisstore.WithTimeout(5*time.Second)).Buckets()
	limit := ratelimit.PerMinute(int64(perMinute))
	return func(ctx context.Context, key string) (bool, error) {
		r, err := s.Take(ctx, ratelimit.Charge{Prefix: "rpm:", Key: key, Limit: limit, Cost: 1})
		return r.Allowed, err
	}
}

func redisRateDecider(_ testing.TB, c *redis.Client, prefix string, perMinute int) redisDecider {
	l := redis_rate.NewLimiter(c)
	limit := redis_rate.PerMinute(perMinute)
	return func(ctx context.Context, key string) (bool, error) {
		r, err := l.Allow(ctx, prefix+key, limit)
		if err != nil {
			return false, err
		}
		return r.Allowed > 0, nil
	}
}

func ululeDecider(tb testing.TB, c *redis.Client, prefix string, perMinute int) redisDecider {
	store, err := ulredis.NewStoreWithOptions(c, limiter.StoreOptions{Prefix: prefix + "ulule"})
	if err != nil {
		tb.Fatal(err)
	}
	l := limiter.New(store, limiter.Rate{Period: time.Minute, Limit: int64(perMinute)})
	return func(ctx context.Context, key string) (bool, error) {
		r, err := l.Get(ctx, key)
		return !r.Reached, err
	}
}

var redisPeers = []struct {
	name string
	make func(tb testing.TB, c *redis.Client, prefix string, perMinute int) redisDecider
}{
	{"tollgate", tollgateDecider},
	{"redis_rate", redisRateDecider},
	{"ulule", ululeDecider},
}

func BenchmarkRedisDecision(b *testing.B) {
	for _, p := range redisPeers {
		b.Run(p.name+"/serial", func(b *testing.B) {
			c, prefix := connectRedis(b)
			decide := p.make(b, c, prefix, 1_000)
			ctx := context.Background()
			b.ReportAllocs()
			for i := 0; b.Loop(); i++ {
				if _, err := decide(ctx, redisKeys[i%len(redisKeys)]); err != nil {
					b.Fatal(err)
				}
			}
			b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "decisions/s")
		})
		b.Run(p.name+"/parallel", func(b *testing.B) {
			c, prefix := connectRedis(b)
			decide := p.make(b, c, prefix, 1_000)
			ctx := context.Background()
			var next atomic.Int64
			b.ReportAllocs()
			b.SetParallelism(8)
			b.RunParallel(func(pb *testing.PB) {
				i := int(next.Add(1)) * 7919
				for pb.Next() {
					i++
					if _, err := decide(ctx, redisKeys[i%len(redisKeys)]); err != nil {
						b.Error(err)
						return
					}
				}
			})
			b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "decisions/s")
		})
	}
}

// TestRedisPeersAgree checks that the three limiters make the same
// decision before their speed is compared: a fresh key limited to 50 per
// minute admits 50 requests and refuses the next ones.
func TestRedisPeersAgree(t *testing.T) {
	for _, p := range redisPeers {
		t.Run(p.name, func(t *testing.T) {
			c, prefix := connectRedis(t)
			decide := p.make(t, c, prefix, 50)
			ctx := context.Background()
			allowed := 0
			for range 60 {
				ok, err := decide(ctx, "key_1")
				if err != nil {
					t.Fatal(err)
				}
				if ok {
					allowed++
				}
			}
			if allowed != 50 {
				t.Fatalf("%s allowed %d of 60 requests, want 50", p.name, allowed)
			}
		})
	}
}
