package ratelimit_test

import (
	"net/http"
	"strconv"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/tollgate/tollgate/ratelimit"
)

// statusHandler answers with the status in the X-Status header, 200 when
// there is none.
var statusHandler = http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
	status := http.StatusOK
	if v := r.Header.Get("X-Status"); v != "" {
		status, _ = strconv.Atoi(v)
	}
	w.WriteHeader(status)
})

func withStatus(key string, status int) *http.Request {
	r := keyed(key)
	r.Header.Set("X-Status", strconv.Itoa(status))
	return r
}

func TestPenaltyBox(t *testing.T) {
	f := newFixture(t)
	var denials []ratelimit.Denial
	h := f.handler(t, statusHandler, nil,
		ratelimit.PenaltyBox(ratelimit.Penalty{Key: byKey, Failures: 3, Window: 10 * time.Minute, Block: 5 * time.Minute}),
		ratelimit.OnLimited(func(_ *http.Request, d ratelimit.Denial) { denials = append(denials, d) }))
	assert.Equal(t, 401, doReq(h, withStatus("k", 401)).Code)
	f.clock.Advance(time.Minute)
	assert.Equal(t, 500, doReq(h, withStatus("k", 500)).Code)
	assert.Equal(t, 200, do(h, "k").Code, "two failures: not blocked")
	assert.Equal(t, 404, doReq(h, withStatus("k", 404)).Code, "the third failure is served, then blocks")

	w := do(h, "k")
	assert.Equal(t, 429, w.Code)
	code, _ := envelope(t, w)
	assert.Equal(t, "too_many_failures", code)
	assert.Equal(t, "300", w.Header().Get("Retry-After"))
	assert.Equal(t, 200, do(h, "other").Code, "other keys are not blocked")

	f.clock.Advance(4*time.Minute + 59*time.Second)
	w = do(h, "k")
	assert.Equal(t, 429, w.Code)
	assert.Equal(t, "1", w.Header().Get("Retry-After"))
	f.clock.Advance(time.Second)
	assert.Equal(t, 200, do(h, "k").Code, "unblocked after 5 minutes")
	assert.Equal(t, 400, doReq(h, withStatus("k", 400)).Code)
	assert.Equal(t, 429, do(h, "k").Code, "3 failures still within 10 minutes: blocked again")

	require.NotEmpty(t, denials)
	assert.Equal(t, ratelimit.ReasonPenalty, denials[0].Reason)
	assert.Equal(t, "penalty", denials[0].Policy)
	assert.Equal(t, 5*time.Minute, denials[0].RetryAfter)
}

// TestPenaltyBoxAgentsRule checks the zero-value rule: 10 failures in 10
// minutes block the key for 10 minutes, however they are spread.
func TestPenaltyBoxAgentsRule(t *testing.T) {
	f := newFixture(t)
	h := f.handler(t, statusHandler, rpm(100), ratelimit.PenaltyBox(ratelimit.Penalty{Key: byKey}))
	for i := range 10 {
		require.Equal(t, 200, do(h, "k").Code, "before failure %d", i+1)
		require.Equal(t, 502, doReq(h, withStatus("k", 502)).Code)
		f.clock.Advance(59 * time.Second)
	}
	w := do(h, "k")
	assert.Equal(t, 429, w.Code, "10 failures in 8m51s")
	assert.Equal(t, "541", w.Header().Get("Retry-After"), "blocked for 10 minutes from the 10th failure")
	assert.Equal(t, "100", w.Header().Get("X-RateLimit-Remaining"))
	w = do(h, "k")
	assert.Equal(t, "100", w.Header().Get("X-RateLimit-Remaining"), "a blocked request takes no rate token")
}

func TestPenaltyBoxCountsPanicsNotDenials(t *testing.T) {
	f := newFixture(t)
	boom := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Header.Get("X-Panic") != "" {
			panic("boom")
		}
		w.WriteHeader(http.StatusOK)
	})
	h := f.handler(t, boom, rpm(1), ratelimit.PenaltyBox(ratelimit.Penalty{Key: byKey, Failures: 2}))
	require.Equal(t, 200, do(h, "k").Code)
	for range 5 {
		assert.Equal(t, 429, do(h, "k").Code, "the limiter's own denials are not failures")
	}
	f.clock.Advance(time.Hour)
	r := keyed("k")
	r.Header.Set("X-Panic", "1")
	assert.Panics(t, func() { doReq(h, r) })
	f.clock.Advance(time.Minute)
	assert.Panics(t, func() { doReq(h, r) })
	w := do(h, "k")
	assert.Equal(t, 429, w.Code)
	code, _ := envelope(t, w)
	assert.Equal(t, "too_many_failures", code, "two panics in the window")
}

func TestPenaltyBoxCustomFailure(t *testing.T) {
	f := newFixture(t)
	only5xx := func(status int) bool { return status >= 500 }
	h := f.handler(t, statusHandler, nil, ratelimit.PenaltyBox(ratelimit.Penalty{Key: byKey, Failures: 1, IsFailure: only5xx}))
	for range 3 {
		assert.Equal(t, 404, doReq(h, withStatus("k", 404)).Code, "4xx do not count")
	}
	assert.Equal(t, 503, doReq(h, withStatus("k", 503)).Code)
	assert.Equal(t, 429, do(h, "k").Code)
	assert.Equal(t, 200, do(h, "").Code, "requests without a key are not boxed")
}

func TestPenaltyBoxStoreFailures(t *testing.T) {
	f := newFixture(t)
	var reported int
	mw, err := ratelimit.New(debitFails{f.store}, nil, ratelimit.WithLeaseStore(f.leases),
		ratelimit.PenaltyBox(ratelimit.Penalty{Key: byKey, Failures: 1}),
		ratelimit.OnError(func(*http.Request, error) { reported++ }))
	require.NoError(t, err)
	assert.Equal(t, 500, doReq(mw(statusHandler), withStatus("k", 500)).Code)
	assert.Equal(t, 1, reported, "the failed block was reported")
	mw, err = ratelimit.New(f.store, nil, ratelimit.WithLeaseStore(failingLeases{}),
		ratelimit.PenaltyBox(ratelimit.Penalty{Key: byKey, Failures: 1}),
		ratelimit.OnError(func(*http.Request, error) { reported++ }))
	require.NoError(t, err)
	assert.Equal(t, 500, doReq(mw(statusHandler), withStatus("k", 500)).Code)
	assert.Equal(t, 2, reported, "the failed count was reported")
}
