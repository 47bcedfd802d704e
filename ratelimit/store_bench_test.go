package ratelimit_test

import (
	"context"
	"flag"
	"runtime"
	"strconv"
	"sync/atomic"
	"testing"
	"time"

	"github.com/tollgate/tollgate/ratelimit"
)

// benchKeys returns n distinct keys shaped like API key IDs.
func benchKeys(n int) []string {
	keys := make([]string, n)
	for i := range keys {
		keys[i] = "key_" + strconv.Itoa(i)
	}
	return keys
}

func BenchmarkStoreTakeAllowed(b *testing.B) {
	s := ratelimit.MustMemoryStore()
	c := ratelimit.Charge{Prefix: "rpm:", Key: "key_42", Limit: ratelimit.PerSecond(1_000_000_000), Cost: 1}
	ctx := context.Background()
	b.ReportAllocs()
	for b.Loop() {
		if r, _ := s.Take(ctx, c); !r.Allowed {
			b.Fatal("denied")
		}
	}
}

func BenchmarkStoreTakeDenied(b *testing.B) {
	s := ratelimit.MustMemoryStore()
	c := ratelimit.Charge{Prefix: "rpm:", Key: "key_42", Limit: ratelimit.PerHour(1), Cost: 1}
	ctx := context.Background()
	_, _ = s.Take(ctx, c)
	b.ReportAllocs()
	for b.Loop() {
		if r, _ := s.Take(ctx, c); r.Allowed {
			b.Fatal("allowed")
		}
	}
}

func BenchmarkStoreTakeParallel(b *testing.B) {
	s := ratelimit.MustMemoryStore()
	keys := benchKeys(1024)
	lim := ratelimit.PerSecond(1_000_000_000)
	ctx := context.Background()
	var seq atomic.Uint32
	b.ReportAllocs()
	b.RunParallel(func(pb *testing.PB) {
		i := int(seq.Add(1)) * 7919
		for pb.Next() {
			i++
			_, _ = s.Take(ctx, ratelimit.Charge{Key: keys[i%len(keys)], Limit: lim, Cost: 1})
		}
	})
}

func BenchmarkStoreTakeAll3(b *testing.B) {
	s := ratelimit.MustMemoryStore()
	lim := ratelimit.PerSecond(1_000_000_000)
	charges := []ratelimit.Charge{
		{Prefix: "key:", Key: "key_42", Limit: lim, Cost: 1},
		{Prefix: "acct:", Key: "acct_7", Limit: lim, Cost: 1},
		{Prefix: "all:", Key: "", Limit: lim, Cost: 1},
	}
	results := make([]ratelimit.Result, 3)
	ctx := context.Background()
	b.ReportAllocs()
	for b.Loop() {
		_, _ = s.TakeAll(ctx, charges, results)
	}
}

// BenchmarkStoreMillionKeys takes one token for each of 1,000,000 distinct
// keys and reports the heap the store retains per key after a GC.
func BenchmarkStoreMillionKeys(b *testing.B) {
	const n = 1_000_000
	keys := benchKeys(n)
	lim := ratelimit.PerHour(100) // keys stay live for the whole run
	ctx := context.Background()
	b.ReportAllocs()
	var perKey float64
	for b.Loop() {
		b.StopTimer()
		before := heapInUse()
		s := ratelimit.MustMemoryStore(ratelimit.WithMaxKeys(2 * n))
		b.StartTimer()
		for _, k := range keys {
			_, _ = s.Take(ctx, ratelimit.Charge{Key: k, Limit: lim, Cost: 1})
		}
		b.StopTimer()
		perKey = float64(heapInUse()-before) / n
		runtime.KeepAlive(s)
		b.StartTimer()
	}
	b.ReportMetric(perKey, "heapB/key")
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*n), "ns/key")
}

func heapInUse() uint64 {
	runtime.GC()
	runtime.GC()
	var m runtime.MemStats
	runtime.ReadMemStats(&m)
	return m.HeapAlloc
}

func BenchmarkStoreTakeDeniedParallel(b *testing.B) {
	s := ratelimit.MustMemoryStore()
	keys := benchKeys(1024)
	lim := ratelimit.PerHour(1)
	ctx := context.Background()
	for _, k := range keys {
		_, _ = s.Take(ctx, ratelimit.Charge{Key: k, Limit: lim, Cost: 1})
	}
	var seq atomic.Uint32
	b.ReportAllocs()
	b.RunParallel(func(pb *testing.PB) {
		i := int(seq.Add(1)) * 7919
		for pb.Next() {
			i++
			_, _ = s.Take(ctx, ratelimit.Charge{Key: keys[i%len(keys)], Limit: lim, Cost: 1})
		}
	})
}

func BenchmarkLeaseAcquireRelease(b *testing.B) {
	s := ratelimit.MustMemoryLeaseStore()
	ctx := context.Background()
	b.ReportAllocs()
	for b.Loop() {
		l, _ := s.Acquire(ctx, "conc:", "key_42", 8, time.Minute)
		_ = s.Release(ctx, "conc:", "key_42", l.ID)
	}
}

var capKeys = flag.Int("keycap.keys", 2_000_000, "random keys BenchmarkStoreKeyCap sends (10000000 for the bench issue's figure)")

// BenchmarkStoreKeyCap pushes -keycap.keys random keys (2,000,000 unless
// set), every one live, through a store capped at a tenth as many, and
// reports the most keys it held and its heap per key: the cap holds, and
// memory with it.
func BenchmarkStoreKeyCap(b *testing.B) {
	n := *capKeys
	capKeys := n / 10
	lim := ratelimit.PerHour(100)
	ctx := context.Background()
	var held int
	var perKey float64
	for b.Loop() {
		before := heapInUse()
		s := ratelimit.MustMemoryStore(ratelimit.WithMaxKeys(capKeys))
		rng := uint64(0x9e3779b97f4a7c15)
		var buf [16]byte
		for i := range n {
			rng ^= rng << 13
			rng ^= rng >> 7
			rng ^= rng << 17
			key := strconv.AppendUint(buf[:0], rng, 36)
			_, _ = s.Take(ctx, ratelimit.Charge{Key: string(key), Limit: lim, Cost: 1})
			if i%1_000_000 == 0 {
				held = max(held, s.Len())
			}
		}
		held = max(held, s.Len())
		perKey = float64(heapInUse()-before) / float64(s.Len())
		if held > capKeys {
			b.Fatalf("held %d keys, cap %d", held, capKeys)
		}
		runtime.KeepAlive(s)
	}
	b.ReportMetric(float64(held), "maxKeys")
	b.ReportMetric(perKey, "heapB/key")
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*n), "ns/key")
}
