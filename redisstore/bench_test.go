package redisstore_test

import (
	"context"
	"strconv"
	"sync/atomic"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"
	"github.com/stretchr/testify/require"

	"github.com/tollgate/tollgate/quota"
	"github.com/tollgate/tollgate/ratelimit"
	"github.com/tollgate/tollgate/redisstore"
)

// The decision benchmarked everywhere: one request against a 1000 rpm
// limit, on one of 1000 API keys.
var benchLimit = ratelimit.PerMinute(1_000)

var benchKeys = func() []string {
	keys := make([]string, 1000)
	for i := range keys {
		keys[i] = "key_" + strconv.Itoa(i)
	}
	return keys
}()

func benchStore(b *testing.B, rdb redis.Scripter, c *redis.Client) *redisstore.Store {
	return redisstore.MustNew(rdb, redisstore.WithPrefix(uniquePrefix(b, c)), redisstore.WithTimeout(5*time.Second))
}

func reportDecisions(b *testing.B) {
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "decisions/s")
}

func BenchmarkTake(b *testing.B) {
	c := sharedClient(b)
	s := benchStore(b, c, c).Buckets()
	ctx := context.Background()
	b.ReportAllocs()
	for i := 0; b.Loop(); i++ {
		if _, err := s.Take(ctx, ratelimit.Charge{Prefix: "rpm:", Key: benchKeys[i%len(benchKeys)], Limit: benchLimit, Cost: 1}); err != nil {
			b.Fatal(err)
		}
	}
	reportDecisions(b)
}

func BenchmarkTakeParallel(b *testing.B) {
	c := sharedClient(b)
	benchParallel(b, benchStore(b, c, c).Buckets())
}

// BenchmarkTakeAutoPipeline sends the parallel decisions through
// go-redis's autopipeliner, which batches concurrent scripts into one
// write and one read.
func BenchmarkTakeAutoPipeline(b *testing.B) {
	c := sharedClient(b)
	ap, err := c.AutoPipeline()
	require.NoError(b, err)
	b.Cleanup(func() { _ = ap.Close() })
	benchParallel(b, benchStore(b, ap, c).Buckets())
}

func benchParallel(b *testing.B, s *redisstore.BucketStore) {
	ctx := context.Background()
	var next atomic.Int64
	b.ReportAllocs()
	b.SetParallelism(8)
	b.RunParallel(func(pb *testing.PB) {
		i := int(next.Add(1)) * 7919
		for pb.Next() {
			i++
			if _, err := s.Take(ctx, ratelimit.Charge{Prefix: "rpm:", Key: benchKeys[i%len(benchKeys)], Limit: benchLimit, Cost: 1}); err != nil {
				b.Error(err)
				return
			}
		}
	})
	reportDecisions(b)
}

// BenchmarkThreePolicies charges a request against three policies: in
// one TakeAll script (one round trip, atomic), and as three Takes.
func BenchmarkThreePolicies(b *testing.B) {
	c := sharedClient(b)
	s := benchStore(b, c, c).Buckets()
	ctx := context.Background()
	charges := func(i int) []ratelimit.Charge {
		key := benchKeys[i%len(benchKeys)]
		return []ratelimit.Charge{
			{Prefix: "rpm:", Key: key, Limit: benchLimit, Cost: 1},
			{Prefix: "tpm:", Key: key, Limit: ratelimit.PerMinute(1_000_000), Cost: 500},
			{Prefix: "acct:", Key: "acme", Limit: ratelimit.PerSecond(1_000_000), Cost: 1},
		}
	}
	b.Run("TakeAll", func(b *testing.B) {
		results := make([]ratelimit.Result, 3)
		b.ReportAllocs()
		for i := 0; b.Loop(); i++ {
			if _, err := s.TakeAll(ctx, charges(i), results); err != nil {
				b.Fatal(err)
			}
		}
		reportDecisions(b)
	})
	b.Run("ThreeTakes", func(b *testing.B) {
		b.ReportAllocs()
		for i := 0; b.Loop(); i++ {
			for _, c := range charges(i) {
				if _, err := s.Take(ctx, c); err != nil {
					b.Fatal(err)
				}
			}
		}
		reportDecisions(b)
	})
}

func BenchmarkAcquireRelease(b *testing.B) {
	c := sharedClient(b)
	s := benchStore(b, c, c).Leases()
	ctx := context.Background()
	b.ReportAllocs()
	for i := 0; b.Loop(); i++ {
		key := benchKeys[i%len(benchKeys)]
		l, err := s.Acquire(ctx, "conc:", key, 4, time.Minute)
		if err != nil || !l.Acquired {
			b.Fatal(l, err)
		}
		if err := s.Release(ctx, "conc:", key, l.ID); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkReserveSettle(b *testing.B) {
	c := sharedClient(b)
	s := benchStore(b, c, c).Ledger()
	ctx := context.Background()
	_, err := s.Credit(ctx, "acme", 1<<62, "topup")
	require.NoError(b, err)
	b.ReportAllocs()
	for i := 0; b.Loop(); i++ {
		now := time.Now()
		h, err := s.Reserve(ctx, "acme", 1_000, "r"+strconv.Itoa(i), now)
		if err != nil {
			b.Fatal(err)
		}
		if _, err := s.Settle(ctx, h, 900, now); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkWindowReserveSettle(b *testing.B) {
	c := sharedClient(b)
	s := benchStore(b, c, c).Windows()
	ctx := context.Background()
	ls := []quota.Limit{
		{Name: "5h", Window: quota.Rolling(5 * time.Hour), Unit: quota.Requests, Max: 1 << 40},
		{Name: "month", Window: quota.Monthly(nil), Unit: quota.Money, Max: 1 << 60},
	}
	b.ReportAllocs()
	for i := 0; b.Loop(); i++ {
		now := time.Now()
		h, err := s.Reserve(ctx, "acme", ls, quota.Amounts{Requests: 1, Money: 1_000}, "r"+strconv.Itoa(i), now)
		if err != nil {
			b.Fatal(err)
		}
		if _, err := s.Settle(ctx, h, quota.Amounts{Requests: 1, Money: 900}, now); err != nil {
			b.Fatal(err)
		}
	}
}
