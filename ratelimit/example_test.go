package ratelimit_test

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"time"

	"github.com/tollgate/tollgate"
	"github.com/tollgate/tollgate/ratelimit"
	"github.com/tollgate/tollgate/tollgatetest"
)

// A bucket of three tokens, one more every 100 ms, on a manual clock.
func ExampleMemoryStore_Take() {
	clock := tollgatetest.NewClock(time.Time{})
	store := ratelimit.MustMemoryStore(ratelimit.WithClock(clock))
	ctx := context.Background()
	limit := ratelimit.Every(100*time.Millisecond, 3)
	for range 4 {
		r, _ := store.Take(ctx, ratelimit.Charge{Key: "k", Limit: limit, Cost: 1})
		fmt.Println(r.Allowed, r.Remaining, r.RetryAfter)
	}
	clock.Advance(100 * time.Millisecond)
	r, _ := store.Take(ctx, ratelimit.Charge{Key: "k", Limit: limit, Cost: 1})
	fmt.Println(r.Allowed, r.Remaining)
	// Output:
	// true 2 0s
	// true 1 0s
	// true 0 0s
	// false 0 100ms
	// true 0
}

// TakeAll charges several buckets at once, or none of them.
func ExampleMemoryStore_TakeAll() {
	store := ratelimit.MustMemoryStore()
	ctx := context.Background()
	perKey, perAccount := ratelimit.PerMinute(2), ratelimit.PerMinute(100)
	charges := []ratelimit.Charge{
		{Prefix: "key:", Key: "k1", Limit: perKey, Cost: 1},
		{Prefix: "account:", Key: "acme", Limit: perAccount, Cost: 1},
	}
	results := make([]ratelimit.Result, len(charges))
	for range 3 {
		ok, _ := store.TakeAll(ctx, charges, results)
		fmt.Println(ok, results[0].Remaining, results[1].Remaining)
	}
	// Output:
	// true 1 99
	// true 0 98
	// false 0 98
}

// A request limiter keyed by a header, with its headers and its 429.
func ExampleNew() {
	clock := tollgatetest.NewClock(time.Time{})
	store := ratelimit.MustMemoryStore(ratelimit.WithClock(clock))
	byClient := func(r *http.Request) (string, error) { return r.Header.Get("X-Client"), nil }
	limit := ratelimit.MustNew(store, []ratelimit.Policy{
		{Name: "rpm", Key: byClient, Limit: ratelimit.PerMinute(2)},
	}, ratelimit.IETFHeaders("", ""))
	h := limit(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {}))
	for range 3 {
		r := httptest.NewRequest(http.MethodGet, "/v1/models", nil)
		r.Header.Set("X-Client", "c1")
		w := httptest.NewRecorder()
		h.ServeHTTP(w, r)
		fmt.Printf("%d remaining=%s %s retry-after=%s\n", w.Code,
			w.Header().Get("X-RateLimit-Remaining"), w.Header().Get("RateLimit"), w.Header().Get("Retry-After"))
	}
	// Output:
	// 200 remaining=1 "rpm";r=1;t=30 retry-after=
	// 200 remaining=0 "rpm";r=0;t=60 retry-after=
	// 429 remaining=0 "rpm";r=0;t=60 retry-after=30
}

// Limits by plan, read from the request's tollgate.State, which the auth
// layer fills in.
func ExamplePlanLimits() {
	store := ratelimit.MustMemoryStore()
	byKey := func(r *http.Request) (string, error) { return tollgate.StateFrom(r.Context()).KeyID, nil }
	limit := ratelimit.MustNew(store, []ratelimit.Policy{{
		Name: "rpm",
		Key:  byKey,
		LimitFunc: ratelimit.PlanLimits(map[string]ratelimit.Limit{
			"free": ratelimit.PerMinute(20),
			"pro":  ratelimit.PerMinute(600),
		}, ratelimit.PerMinute(20)),
	}})
	auth := func(next http.Handler) http.Handler { // stands in for the auth package
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			w, r, st := tollgate.Begin(w, r)
			st.KeyID, st.Plan = "key_1", "pro"
			next.ServeHTTP(w, r)
		})
	}
	h := tollgate.Chain(auth, limit).ThenFunc(func(http.ResponseWriter, *http.Request) {})
	w := httptest.NewRecorder()
	h.ServeHTTP(w, httptest.NewRequest(http.MethodGet, "/", nil))
	fmt.Println(w.Header().Get("X-RateLimit-Limit"), w.Header().Get("X-RateLimit-Remaining"))
	// Output: 600 599
}

// A tokens-per-minute policy admits on an estimate and settles on the
// usage the handler reports: here 700 tokens against an estimate of 100.
func ExamplePolicy_tokens() {
	store := ratelimit.MustMemoryStore()
	byKey := func(*http.Request) (string, error) { return "key_1", nil }
	estimate := func(*http.Request) (int64, error) { return 100, nil }
	limit := ratelimit.MustNew(store, []ratelimit.Policy{
		{Name: "tpm", Key: byKey, Limit: ratelimit.PerHour(1000), Cost: estimate, Tokens: true},
	}, ratelimit.OpenAIHeaders(""))
	h := limit(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		tollgate.ReportUsage(r.Context(), tollgate.Usage{InputTokens: 500, OutputTokens: 200})
	}))
	for range 2 {
		w := httptest.NewRecorder()
		h.ServeHTTP(w, httptest.NewRequest(http.MethodPost, "/v1/chat/completions", nil))
		fmt.Println(w.Code, w.Header().Get("X-Ratelimit-Remaining-Tokens"))
	}
	// Output:
	// 200 900
	// 200 200
}

// A penalty box with the agents API's rule: 10 failures in 10 minutes
// block the key for 10 minutes.
func ExamplePenaltyBox() {
	store := ratelimit.MustMemoryStore()
	byKey := func(*http.Request) (string, error) { return "key_1", nil }
	limit := ratelimit.MustNew(store, nil, ratelimit.PenaltyBox(ratelimit.Penalty{Key: byKey}))
	h := limit(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		w.WriteHeader(http.StatusUnauthorized)
	}))
	for range 11 {
		w := httptest.NewRecorder()
		h.ServeHTTP(w, httptest.NewRequest(http.MethodGet, "/", nil))
		if w.Code == http.StatusTooManyRequests {
			fmt.Println(w.Code, w.Header().Get("Retry-After"))
		}
	}
	// Output: 429 600
}
