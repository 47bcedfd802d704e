package quota_test

import (
	"net/http"
	"strconv"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/tollgate/tollgate"
	"github.com/tollgate/tollgate/quota"
)

// planFromState reads the plan as auth would fill it, here from a header
// through an outer layer.
func withPlan(plan string, h http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w, r, st := tollgate.Begin(w, r)
		st.Plan = plan
		h.ServeHTTP(w, r)
	})
}

func proPlan(fallback bool) map[string]quota.Plan {
	return map[string]quota.Plan{"pro": {
		Fallback: fallback,
		Limits: []quota.Limit{
			{Name: "5h", Window: quota.RollingStep(5*time.Hour, time.Minute), Unit: quota.Requests, Max: 2},
			{Name: "month", Window: quota.Monthly(nil), Unit: quota.Tokens, Max: 1_000_000},
		},
	}}
}

func TestSubscriptionCountsWithoutBalance(t *testing.T) {
	hs := newHarness(t)
	store := quota.MustMemoryWindowStore()
	var hdr http.Header
	h := withPlan("pro", hs.handler(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		hdr = w.Header().Clone()
		jsonUsage(100, 20)(w, r)
	}), quota.WithSubscriptions(store, proPlan(false))))

	for i := range 2 {
		rec := do(h, "sub", "", chatBody("gpt-test", 100))
		require.Equal(t, http.StatusOK, rec.Code, "a subscriber needs no balance: %s", rec.Body)
		c := hs.waitCharge()
		assert.True(t, c.Subscription)
		assert.Equal(t, "pro", c.Plan)
		assert.Equal(t, int64(100*10+20*30), c.Cost)
		assert.Equal(t, "2", hdr.Get(quota.HeaderQuotaLimit), "the requests limit is the tightest")
		assert.Equal(t, strconv.Itoa(1-i), hdr.Get(quota.HeaderQuotaRemaining))
		assert.Equal(t, `"5h";unit=requests;window="rolling 5h0m0s"`, hdr.Get(quota.HeaderQuotaPolicy))
		assert.Empty(t, hdr.Get(quota.HeaderBalanceRemaining))
		hs.clock.Advance(time.Minute)
	}
	assert.Equal(t, "18000", hdr.Get(quota.HeaderQuotaReset), "the first request leaves the window in 5h")

	us, err := store.Usage(t.Context(), "sub", proPlan(false)["pro"].Limits, hs.clock.Now())
	require.NoError(t, err)
	assert.Equal(t, int64(2), us[0].Used)
	assert.Equal(t, int64(240), us[1].Used, "actual tokens are counted, not the estimate")

	rec := do(h, "sub", "", chatBody("gpt-test", 100))
	assert.Equal(t, http.StatusPaymentRequired, rec.Code)
	assert.Contains(t, rec.Body.String(), `"code":"quota_exceeded"`)
	assert.Equal(t, "17940", rec.Header().Get("Retry-After"), "the first request's bucket leaves 5h1m after it began; 2m are gone")
	assert.Equal(t, quota.Funds{}, hs.funds("sub"), "the balance was never touched")
}

func TestSubscriptionFallsBackToBalance(t *testing.T) {
	hs := newHarness(t)
	hs.credit("sub", 2_000)
	h := withPlan("pro", hs.handler(jsonUsage(100, 20), quota.WithSubscriptions(quota.MustMemoryWindowStore(), proPlan(true))))
	for range 2 {
		require.Equal(t, http.StatusOK, do(h, "sub", "", chatBody("gpt-test", 10)).Code)
		assert.True(t, hs.waitCharge().Subscription)
	}
	rec := do(h, "sub", "", chatBody("gpt-test", 10))
	require.Equal(t, http.StatusOK, rec.Code, rec.Body.String())
	c := hs.waitCharge()
	assert.False(t, c.Subscription, "the third request is pay-as-you-go")
	assert.Equal(t, int64(1_600), c.Cost)
	assert.NotEmpty(t, rec.Header().Get(quota.HeaderBalanceRemaining))
	assert.Equal(t, int64(2_000-1_600), hs.funds("sub").Balance)

	rec = do(h, "sub", "", chatBody("gpt-test", 10))
	assert.Equal(t, http.StatusPaymentRequired, rec.Code, "the balance cannot cover it either: the quota refusal is the one to wait for")
	assert.Contains(t, rec.Body.String(), `"code":"quota_exceeded"`)
	assert.NotEmpty(t, rec.Header().Get("Retry-After"))
}

func TestSubscriptionReleasesFailedRequests(t *testing.T) {
	hs := newHarness(t)
	store := quota.MustMemoryWindowStore()
	fail := true
	h := withPlan("pro", hs.handler(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if fail {
			w.WriteHeader(http.StatusServiceUnavailable)
			return
		}
		jsonUsage(1, 1)(w, r)
	}), quota.WithSubscriptions(store, proPlan(false))))
	for range 3 {
		require.Equal(t, http.StatusServiceUnavailable, do(h, "sub", "", chatBody("gpt-test", 10)).Code)
		assert.Equal(t, quota.Released, hs.waitCharge().Basis)
	}
	fail = false
	require.Equal(t, http.StatusOK, do(h, "sub", "", chatBody("gpt-test", 10)).Code, "failed requests used no quota")
}

func TestUnknownPlanIsPayAsYouGo(t *testing.T) {
	hs := newHarness(t)
	h := withPlan("basic", hs.handler(jsonUsage(1, 1), quota.WithSubscriptions(quota.MustMemoryWindowStore(), proPlan(false))))
	rec := do(h, "nobody", "", chatBody("gpt-test", 10))
	assert.Equal(t, http.StatusPaymentRequired, rec.Code)
	assert.Contains(t, rec.Body.String(), `"code":"credit_required"`)
}
