package quota_test

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"time"

	"github.com/tollgate/tollgate"
	"github.com/tollgate/tollgate/quota"
)

// A prepaid account: hold the estimate, settle the real cost, top up.
func ExampleMemoryLedger() {
	ctx := context.Background()
	now := time.Date(2026, 1, 1, 12, 0, 0, 0, time.UTC)
	ledger := quota.MustMemoryLedger()

	_, _ = ledger.Credit(ctx, "acme", 5_000_000, "stripe:pi_123") // $5.00
	_, _ = ledger.Credit(ctx, "acme", 5_000_000, "stripe:pi_123") // a retried webhook changes nothing

	hold, _ := ledger.Reserve(ctx, "acme", 2_000_000, "req-1", now)
	fmt.Println("available while running:", quota.FormatDollars(hold.Available))

	receipt, _ := ledger.Settle(ctx, hold, 1_234_567, now.Add(3*time.Second))
	fmt.Println("charged:", quota.FormatDollars(receipt.Amount), "balance:", quota.FormatDollars(receipt.Balance))

	_, err := ledger.Reserve(ctx, "acme", 10_000_000, "req-2", now)
	var refusal *quota.Refusal
	if errors.As(err, &refusal) {
		fmt.Println(refusal.APIError().Message)
	}
	// Output:
	// available while running: $3.00
	// charged: $1.234567 balance: $3.765433
	// Your balance ($3.765433) is insufficient for this task ($10.00). Please add credits.
}

// Prices are per million tokens; costs are exact integers, rounded up.
func ExamplePrice_Cost() {
	price := quota.Price{Input: 2_500_000, CachedInput: 1_250_000, Output: 10_000_000} // $2.50 / $1.25 / $10 per 1M
	cost, _ := price.Cost(tollgate.Usage{InputTokens: 1_200, CachedInputTokens: 1_000, OutputTokens: 350})
	fmt.Println(cost, quota.FormatDollars(cost))
	// Output: 5250 $0.00525
}

// A subscription plan: 100 requests per rolling 5 hours and $50 per
// calendar month in the customer's time zone.
func ExampleMemoryWindowStore() {
	ctx := context.Background()
	paris := time.FixedZone("CET", 3600)
	plan := quota.Plan{Limits: []quota.Limit{
		{Name: "5h", Window: quota.Rolling(5 * time.Hour), Unit: quota.Requests, Max: 100},
		{Name: "month", Window: quota.Monthly(paris), Unit: quota.Money, Max: 50_000_000},
	}}
	store := quota.MustMemoryWindowStore()
	now := time.Date(2026, 1, 31, 22, 0, 0, 0, time.UTC) // 23:00 in Paris

	hold, _ := store.Reserve(ctx, "acme", plan.Limits, quota.Amounts{Requests: 1, Money: 49_000_000}, "req-1", now)
	_, _ = store.Settle(ctx, hold, quota.Amounts{Requests: 1, Money: 50_000_000}, now)

	_, err := store.Reserve(ctx, "acme", plan.Limits, quota.Amounts{Requests: 1, Money: 1}, "req-2", now)
	var refusal *quota.Refusal
	if errors.As(err, &refusal) {
		fmt.Println(refusal.Limit, "is exhausted; retry after", refusal.RetryAfter)
	}
	// Output: month is exhausted; retry after 1h0m0s
}

// The middleware on a route: the estimate is held, the usage in the
// response is charged, and a client without funds gets the dialect's
// refusal.
func ExampleMiddleware() {
	ledger := quota.MustMemoryLedger()
	_, _ = ledger.Credit(context.Background(), "acme", 1_000_000, "welcome-credit")
	pricing := quota.MustPricing(map[string]quota.Price{
		"small-model": {Input: 1_000_000, Output: 2_000_000, MaxOutput: 4_096},
	})
	account := func(r *http.Request) (string, error) {
		// In production: auth's account function, reading tollgate.State.
		return r.Header.Get("X-Demo-Account"), nil
	}
	charged := make(chan quota.Charge, 1)
	mw := quota.Middleware(ledger, account,
		quota.WithPricing(pricing),
		quota.OnCharge(func(_ context.Context, c quota.Charge) { charged <- c }),
	)
	upstream := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		fmt.Fprint(w, `{"choices":[],"usage":{"prompt_tokens":1000,"completion_tokens":500}}`)
	})
	h := tollgate.Chain(tollgate.RequestID(), mw).Then(upstream)

	for _, who := range []string{"acme", "nobody"} {
		req := httptest.NewRequest(http.MethodPost, "/v1/chat/completions",
			strings.NewReader(`{"model":"small-model","max_tokens":500,"messages":[]}`))
		req.Header.Set("X-Demo-Account", who)
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, req)
		fmt.Printf("%s %d balance=%q\n", who, rec.Code, rec.Header().Get(quota.HeaderBalanceRemaining))
		if rec.Code != http.StatusOK {
			fmt.Println(rec.Body.String())
		}
	}
	c := <-charged
	fmt.Println("charged", c.Account, quota.FormatDollars(c.Cost), "on", c.Basis, "usage")
	// Output:
	// acme 200 balance="0.998986"
	// nobody 402 balance=""
	// {"error":{"message":"Credit required. To prevent abuse, a positive balance is required for this model.","type":"insufficient_quota","param":null,"code":"credit_required"}}
	// charged acme $0.002 on observed usage
}

// Handlers that know the usage better than the body shows report it.
func ExampleReport() {
	handler := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		// … call the upstream, read its billing header …
		quota.Report(r.Context(), tollgate.Usage{InputTokens: 1_200, OutputTokens: 300, Cost: 4_500})
		w.WriteHeader(http.StatusNoContent)
	})
	req := httptest.NewRequest(http.MethodPost, "/", nil)
	w, req, st := tollgate.Begin(httptest.NewRecorder(), req)
	handler.ServeHTTP(w, req)
	u, source := st.Usage()
	fmt.Println(u.Cost, source == tollgate.UsageReported)
	// Output: 4500 true
}
