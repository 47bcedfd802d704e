package bench

import (
	"context"
	"net/http"
	"strconv"
	"testing"

	chimw "github.com/go-chi/chi/v5/middleware"
	"github.com/labstack/echo/v4"
	echomw "github.com/labstack/echo/v4/middleware"

	"github.com/tollgate/tollgate"
	"github.com/tollgate/tollgate/auth"
	apierrors "github.com/tollgate/tollgate/errors"
	"github.com/tollgate/tollgate/quota"
	"github.com/tollgate/tollgate/ratelimit"
)

// The middleware stacks under test. tollgate's is the one a gateway runs:
// RequestID → Recover → auth (an in-memory key store) → ratelimit (by key
// ID) → quota (reserve before the handler, settle after, on a real
// MemoryLedger). The peers' stacks do less (none bills), which the table
// says; httprate alone is there because the target is to beat it with the
// whole stack.

// stackKeys is how many API keys the stacks know: one per goroutine of the
// parallel benchmarks, so that they do not all contend on one bucket.
const stackKeys = 16

// apiKey returns the i-th API key of the stacks; apiKey(0) is benchAPIKey.
func apiKey(i int) string {
	if i == 0 {
		return benchAPIKey
	}
	return benchAPIKey + "-" + strconv.Itoa(i)
}

// stackRequest is newRequest for the i-th API key, its key ID as X-Key.
func stackRequest(i int) *http.Request {
	r := newRequest("key_" + strconv.Itoa(i))
	r.Header.Set("Authorization", "Bearer "+apiKey(i))
	return r
}

// stack is one middleware stack: build returns it around next with a rate
// limit of perHour requests per hour per key; a stack that does not limit
// has limits false.
type stack struct {
	name   string
	limits bool
	build  func(tb testing.TB, perHour int, next http.Handler) http.Handler
}

var stacks = []stack{
	{"floor", false, func(_ testing.TB, _ int, next http.Handler) http.Handler { return next }},
	{"tollgate", true, buildTollgateStack},
	{"echo", true, buildEchoStack},
	{"chi-requestid", false, func(_ testing.TB, _ int, next http.Handler) http.Handler {
		return chimw.RequestID(next)
	}},
	{"chi-requestid+httprate", true, func(tb testing.TB, perHour int, next http.Handler) http.Handler {
		return chimw.RequestID(buildHTTPRate(tb, perHour, next))
	}},
	{"httprate", true, buildHTTPRate},
}

// benchModel is the model every request is estimated for, and its price
// in micro-units per million tokens.
const benchModel = "gpt-4o"

var benchPrice = quota.Price{Input: 2_500_000, Output: 10_000_000}

func buildTollgateStack(tb testing.TB, perHour int, next http.Handler) http.Handler {
	return tollgate.Chain(tollgateLayers(tb, perHour)...).Then(next)
}

// tollgateLayers returns the layers of tollgate's stack, outermost first:
// RequestID, Recover, auth, ratelimit, quota.
func tollgateLayers(tb testing.TB, perHour int) []tollgate.Middleware {
	keys := make([]auth.StaticKey, stackKeys)
	ledger := quota.MustMemoryLedger()
	for i := range keys {
		id, account := "key_"+strconv.Itoa(i), "acct_"+strconv.Itoa(i)
		keys[i] = auth.StaticKey{Key: apiKey(i), Principal: auth.Principal{KeyID: id, Account: account, Plan: "pro"}}
		if _, err := ledger.Credit(context.Background(), account, 1<<62, "seed"); err != nil {
			tb.Fatal(err)
		}
	}
	limiter := ratelimit.MustNew(ratelimit.MustMemoryStore(), []ratelimit.Policy{
		{Name: "rph", Key: auth.ByKeyID, Limit: ratelimit.PerHour(int64(perHour))},
	})
	// A fixed estimate stands in for reading the body, which no peer does.
	estimate := func(*http.Request) (quota.Estimate, error) {
		return quota.Estimate{Model: benchModel, Usage: tollgate.Usage{InputTokens: 100, OutputTokens: 50}}, nil
	}
	billing := quota.Middleware(ledger, auth.ByAccount,
		quota.WithPricing(quota.MustPricing(map[string]quota.Price{benchModel: benchPrice})),
		quota.WithEstimator(estimate))
	return []tollgate.Middleware{
		tollgate.RequestID(),
		apierrors.Recover(),
		auth.Middleware(auth.MustMemoryStore(keys...)),
		limiter,
		billing,
	}
}

func buildEchoStack(tb testing.TB, perHour int, next http.Handler) http.Handler {
	known := make(map[string]bool, stackKeys)
	for i := range stackKeys {
		known[apiKey(i)] = true
	}
	keyAuth := echomw.KeyAuth(func(key string, _ echo.Context) (bool, error) {
		return known[key], nil
	})
	return echoServer(next, echomw.RequestID(), keyAuth, echoRateLimiter(perHour))
}
