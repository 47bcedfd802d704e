package quota_test

import (
	"context"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/tollgate/tollgate"
	"github.com/tollgate/tollgate/quota"
)

// ids are prebuilt so the benchmarks measure the ledger, not strconv.
func ids(n int) []string {
	out := make([]string, n)
	for i := range out {
		out[i] = "req-" + strconv.Itoa(i)
	}
	return out
}

// BenchmarkMemoryReserveSettle is one request's ledger work: a hold and
// its settlement, on one account.
func BenchmarkMemoryReserveSettle(b *testing.B) {
	l := quota.MustMemoryLedger()
	ctx := context.Background()
	now := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	if _, err := l.Credit(ctx, "acct", 1<<62, "seed"); err != nil {
		b.Fatal(err)
	}
	keys := ids(b.N)
	b.ReportAllocs()
	b.ResetTimer()
	for i := range b.N {
		h, err := l.Reserve(ctx, "acct", 1_000, keys[i], now)
		if err != nil {
			b.Fatal(err)
		}
		if _, err := l.Settle(ctx, h, 900, now); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkMemoryReserveSettleParallel spreads requests over 1,024
// accounts from every core.
func BenchmarkMemoryReserveSettleParallel(b *testing.B) {
	l := quota.MustMemoryLedger()
	ctx := context.Background()
	now := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	accounts := make([]string, 1024)
	for i := range accounts {
		accounts[i] = "acct-" + strconv.Itoa(i)
		if _, err := l.Credit(ctx, accounts[i], 1<<50, "seed"); err != nil {
			b.Fatal(err)
		}
	}
	keys := ids(b.N + 1)
	var next atomic.Int64
	b.ReportAllocs()
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			i := next.Add(1)
			h, err := l.Reserve(ctx, accounts[i%1024], 1_000, keys[i], now)
			if err != nil {
				b.Error(err)
				return
			}
			if _, err := l.Settle(ctx, h, 900, now); err != nil {
				b.Error(err)
				return
			}
		}
	})
}

// BenchmarkWindowReserveSettle is a subscriber's request against a plan
// of three limits.
func BenchmarkWindowReserveSettle(b *testing.B) {
	s := quota.MustMemoryWindowStore()
	ctx := context.Background()
	now := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	limits := []quota.Limit{
		{Name: "5h", Window: quota.Rolling(5 * time.Hour), Unit: quota.Requests, Max: 1 << 40},
		{Name: "week", Window: quota.Rolling(7 * 24 * time.Hour), Unit: quota.Tokens, Max: 1 << 60},
		{Name: "month", Window: quota.Monthly(nil), Unit: quota.Money, Max: 1 << 60},
	}
	amounts := quota.Amounts{Requests: 1, Tokens: 1_000, Money: 500}
	keys := ids(b.N)
	b.ReportAllocs()
	b.ResetTimer()
	for i := range b.N {
		h, err := s.Reserve(ctx, "acct", limits, amounts, keys[i], now)
		if err != nil {
			b.Fatal(err)
		}
		if _, err := s.Settle(ctx, h, amounts, now); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkMiddleware is a whole non-streamed request through the
// middleware: estimate, reserve, handler, usage read from the body, settle.
func BenchmarkMiddleware(b *testing.B) {
	l := quota.MustMemoryLedger()
	if _, err := l.Credit(context.Background(), "acct", 1<<62, "seed"); err != nil {
		b.Fatal(err)
	}
	var n atomic.Int64
	h := tollgate.Chain(
		quota.Middleware(l, func(*http.Request) (string, error) { return "acct", nil }, quota.WithPricing(testPricing)),
	).Then(jsonUsage(12, 5))
	body := chatBody("gpt-test", 100)
	b.ReportAllocs()
	b.ResetTimer()
	for range b.N {
		req := httptest.NewRequest(http.MethodPost, "/", strings.NewReader(body))
		w, req, st := tollgate.Begin(httptest.NewRecorder(), req)
		st.RequestID = "req-" + strconv.FormatInt(n.Add(1), 10)
		h.ServeHTTP(w, req)
	}
}
