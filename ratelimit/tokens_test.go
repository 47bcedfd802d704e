package ratelimit_test

import (
	"context"
	"net/http"
	"net/http/httptest"
	"strconv"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/tollgate/tollgate"
	"github.com/tollgate/tollgate/ratelimit"
)

func byAccount(r *http.Request) (string, error) { return r.Header.Get("X-Account"), nil }

// TestMultiPolicyAtomic checks that a request denied by one policy takes
// nothing from the others.
func TestMultiPolicyAtomic(t *testing.T) {
	f := newFixture(t)
	policies := []ratelimit.Policy{
		{Name: "key", Key: byKey, Limit: ratelimit.PerMinute(2)},
		{Name: "account", Key: byAccount, Limit: ratelimit.PerMinute(3)},
		{Name: "global", Key: ratelimit.ConstantKey("all"), Limit: ratelimit.PerMinute(100)},
	}
	h := f.handler(t, ok, policies, ratelimit.IETFHeaders("", ""))
	req := func(key, account string) *http.Request {
		r := keyed(key)
		r.Header.Set("X-Account", account)
		return r
	}
	steps := []struct {
		key, account string
		status       int
		state        string
	}{
		{"a", "x", 200, `"key";r=1;t=30, "account";r=2;t=20, "global";r=99;t=1`},
		{"a", "x", 200, `"key";r=0;t=60, "account";r=1;t=40, "global";r=98;t=2`},
		{"a", "x", 429, `"key";r=0;t=60, "account";r=1;t=40, "global";r=98;t=2`},
		{"b", "x", 200, `"key";r=1;t=30, "account";r=0;t=60, "global";r=97;t=2`},
		{"b", "x", 429, `"key";r=1;t=30, "account";r=0;t=60, "global";r=97;t=2`},
		{"c", "y", 200, `"key";r=1;t=30, "account";r=2;t=20, "global";r=96;t=3`},
		{"d", "", 200, `"key";r=1;t=30, "global";r=95;t=3`},
	}
	for i, s := range steps {
		w := doReq(h, req(s.key, s.account))
		assert.Equal(t, s.status, w.Code, "step %d", i)
		assert.Equal(t, s.state, w.Header().Get("RateLimit"), "step %d", i)
	}
	w := doReq(h, req("a", "x"))
	assert.Equal(t, `"key";q=2;w=60, "account";q=3;w=60, "global";q=100;w=60`, w.Header().Get("RateLimit-Policy"))
	assert.Equal(t, "0", w.Header().Get("X-RateLimit-Remaining"), "X-RateLimit shows the tightest policy")
	assert.Equal(t, "2", w.Header().Get("X-RateLimit-Limit"))
	assert.Equal(t, "30", w.Header().Get("Retry-After"), "the longest wait among the denying policies")
}

// usageHandler reports the usage given in the X-Use header, if any.
var usageHandler = http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
	if v := r.Header.Get("X-Use"); v != "" {
		n, _ := strconv.ParseInt(v, 10, 64)
		tollgate.ReportUsage(r.Context(), tollgate.Usage{InputTokens: n / 2, OutputTokens: n - n/2})
	}
	w.WriteHeader(http.StatusOK)
})

func estimate(r *http.Request) (int64, error) {
	if v := r.Header.Get("X-Estimate"); v != "" {
		return strconv.ParseInt(v, 10, 64)
	}
	return 0, nil
}

func tpmPolicies() []ratelimit.Policy {
	return []ratelimit.Policy{
		{Name: "rpm", Key: byKey, Limit: ratelimit.PerMinute(100)},
		{Name: "tpm", Key: byKey, Limit: ratelimit.PerMinute(1000), Cost: estimate, Tokens: true},
	}
}

// TestTokenReconcile walks a TPM bucket (1000 tokens per minute, one
// every 60 ms) through estimates, real usage, debt and refunds.
func TestTokenReconcile(t *testing.T) {
	f := newFixture(t)
	h := f.handler(t, usageHandler, tpmPolicies(), ratelimit.OpenAIHeaders(""))
	tpm := ratelimit.PerMinute(1000)
	tokens := func() int64 {
		r, err := f.store.Take(context.Background(), ratelimit.Charge{Prefix: "tpm:", Key: "k", Limit: tpm})
		require.NoError(t, err)
		if !r.Allowed {
			return -int64(r.RetryAfter / tpm.Interval)
		}
		return r.Remaining
	}
	send := func(est, use string) *httpResult {
		r := keyed("k")
		r.Header.Set("X-Estimate", est)
		if use != "" {
			r.Header.Set("X-Use", use)
		}
		return &httpResult{doReq(h, r)}
	}
	steps := []struct {
		est, use string
		status   int
		after    int64
	}{
		{"100", "700", 200, 300},  // admitted on 100, settled at 700
		{"100", "900", 200, -600}, // 300 ≥ 100 admits it; 900 puts the bucket 600 in debt
		{"0", "", 429, -600},      // in debt: even an estimate of 0 waits
		{"200", "", 429, -600},
	}
	for i, s := range steps {
		w := send(s.est, s.use)
		assert.Equal(t, s.status, w.Code, "step %d", i)
		assert.Equal(t, s.after, tokens(), "tokens after step %d", i)
	}
	w := send("0", "")
	code, msg := envelope(t, w.ResponseRecorder)
	assert.Equal(t, "token_limit_exceeded", code)
	assert.Equal(t, "Token rate limit exceeded: 1000 tokens per minute (tpm)", msg)
	assert.Equal(t, "36", w.Header().Get("Retry-After"), "600 tokens at 60 ms each")
	assert.Equal(t, "98", w.Header().Get("X-Ratelimit-Remaining-Requests"), "denied requests took no request tokens")
	assert.Equal(t, "0", w.Header().Get("X-Ratelimit-Remaining-Tokens"))
	assert.Equal(t, "1m36s", w.Header().Get("X-Ratelimit-Reset-Tokens"))

	f.clock.Advance(36 * time.Second)
	assert.Equal(t, 200, send("0", "").Code, "the debt is repaid")
	assert.Equal(t, int64(0), tokens(), "usage unknown: the estimate of 0 stands")
	f.clock.Advance(time.Minute)
	assert.Equal(t, 200, send("500", "").Code)
	assert.Equal(t, int64(500), tokens(), "usage unknown: the estimate stands")
	assert.Equal(t, 200, send("400", "100").Code)
	assert.Equal(t, int64(400), tokens(), "300 tokens of the estimate refunded")
	assert.Equal(t, 413, send("1001", "").Code, "an estimate above the burst can never fit")
}

type httpResult struct{ *httptest.ResponseRecorder }

// TestTokenUsageObservedFromBody checks that the usage the handler writes
// in its JSON body settles the bucket without the handler reporting it.
func TestTokenUsageObservedFromBody(t *testing.T) {
	f := newFixture(t)
	body := http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		_, _ = w.Write([]byte(`{"id":"x","usage":{"prompt_tokens":120,"completion_tokens":80,"total_tokens":200}}`))
	})
	h := f.handler(t, body, tpmPolicies())
	r := keyed("k")
	r.Header.Set("X-Estimate", "50")
	require.Equal(t, 200, doReq(h, r).Code)
	res, err := f.store.Take(context.Background(), ratelimit.Charge{Prefix: "tpm:", Key: "k", Limit: ratelimit.PerMinute(1000)})
	require.NoError(t, err)
	assert.Equal(t, int64(800), res.Remaining, "settled at the 200 tokens the body reported")
}

// TestTokenPartialUsage checks that a partial usage (a stream cut before
// its final count) is a lower bound: below the estimate the estimate
// stands, above it the excess is debited.
func TestTokenPartialUsage(t *testing.T) {
	partial := func(n int64) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			tollgate.StateFrom(r.Context()).SetUsage(tollgate.Usage{InputTokens: n}, tollgate.UsagePartial)
			w.WriteHeader(http.StatusOK)
		})
	}
	for _, c := range []struct {
		used, remaining int64
	}{
		{30, 900},  // the estimate of 100 stands
		{250, 750}, // 150 more than the estimate
	} {
		f := newFixture(t)
		r := keyed("k")
		r.Header.Set("X-Estimate", "100")
		require.Equal(t, 200, doReq(f.handler(t, partial(c.used), tpmPolicies()), r).Code)
		res, err := f.store.Take(context.Background(), ratelimit.Charge{Prefix: "tpm:", Key: "k", Limit: ratelimit.PerMinute(1000)})
		require.NoError(t, err)
		assert.Equal(t, c.remaining, res.Remaining, "partial usage %d", c.used)
	}
}

// TestTokenSettleFailureIsReported checks that a Debit error after the
// handler reaches the OnError hook.
func TestTokenSettleFailureIsReported(t *testing.T) {
	f := newFixture(t)
	var reported []error
	mw, err := ratelimit.New(debitFails{f.store}, tpmPolicies(), ratelimit.OnError(func(_ *http.Request, err error) { reported = append(reported, err) }))
	require.NoError(t, err)
	r := keyed("k")
	r.Header.Set("X-Use", "10")
	assert.Equal(t, 200, doReq(mw(usageHandler), r).Code)
	require.Len(t, reported, 1)
	assert.ErrorIs(t, reported[0], errDown)
}

type debitFails struct{ ratelimit.Store }

func (debitFails) Debit(context.Context, ratelimit.Charge) (ratelimit.Result, error) {
	return ratelimit.Result{}, errDown
}
