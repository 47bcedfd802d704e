package quota_test

import (
	"context"
	"net/http"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/tollgate/tollgate"
	apierrors "github.com/tollgate/tollgate/errors"
	"github.com/tollgate/tollgate/quota"
)

func TestMiddlewareStoreFailure(t *testing.T) {
	t.Run("fail closed", func(t *testing.T) {
		hs := newHarness(t)
		cl := &countingLedger{Ledger: hs.ledger}
		cl.failReserve.Store(true)
		hs.use = cl
		var reported []error
		h := hs.handler(jsonUsage(1, 1), quota.OnError(func(_ *http.Request, err error) { reported = append(reported, err) }))
		rec := do(h, "acct", "", chatBody("gpt-test", 10))
		assert.Equal(t, http.StatusServiceUnavailable, rec.Code)
		assert.Equal(t, []error{errStoreDown}, reported)
		assert.Zero(t, hs.chargeCount())
	})
	t.Run("fail open charges in full", func(t *testing.T) {
		hs := newHarness(t)
		hs.credit("acct", 1_000)
		cl := &countingLedger{Ledger: hs.ledger}
		cl.failReserve.Store(true)
		hs.use = cl
		rec := do(hs.handler(jsonUsage(12, 5), quota.FailOpen()), "acct", "", chatBody("gpt-test", 10))
		assert.Equal(t, http.StatusOK, rec.Code)
		assert.Empty(t, rec.Header().Get(quota.HeaderBalanceRemaining))
		c := hs.waitCharge()
		assert.Equal(t, int64(270), c.Cost)
		assert.Equal(t, int64(1_000-270), hs.funds("acct").Balance)
	})
	t.Run("settle retried", func(t *testing.T) {
		hs := newHarness(t)
		hs.credit("acct", 1_000)
		cl := &countingLedger{Ledger: hs.ledger}
		cl.failSettles.Store(1)
		hs.use = cl
		require.Equal(t, http.StatusOK, do(hs.handler(jsonUsage(12, 5)), "acct", "", chatBody("gpt-test", 10)).Code)
		c := hs.waitCharge()
		assert.NoError(t, c.Err)
		assert.Equal(t, int64(2), cl.settles.Load())
		assert.Equal(t, int64(1_000-270), hs.funds("acct").Balance)
	})
	t.Run("settle gives up", func(t *testing.T) {
		hs := newHarness(t)
		hs.credit("acct", 1_000)
		cl := &countingLedger{Ledger: hs.ledger}
		cl.failSettles.Store(10)
		hs.use = cl
		require.Equal(t, http.StatusOK, do(hs.handler(jsonUsage(12, 5), quota.WithSettleAttempts(2)), "acct", "", chatBody("gpt-test", 10)).Code)
		c := hs.waitCharge()
		assert.ErrorIs(t, c.Err, errStoreDown)
		assert.Equal(t, int64(2), cl.settles.Load())
	})
}

func TestNewMiddlewareValidates(t *testing.T) {
	l := quota.MustMemoryLedger()
	w := quota.MustMemoryWindowStore()
	bad := map[string]struct {
		ledger  quota.Ledger
		account func(*http.Request) (string, error)
		opts    []quota.Option
	}{
		"nil ledger":          {nil, accountFromHeader, nil},
		"nil account":         {l, nil, nil},
		"plans without store": {l, accountFromHeader, []quota.Option{quota.WithSubscriptions(nil, map[string]quota.Plan{"p": {}})}},
		"invalid plan":        {l, accountFromHeader, []quota.Option{quota.WithSubscriptions(w, map[string]quota.Plan{"p": {Limits: []quota.Limit{{Name: "x"}}}})}},
		"zero timeout":        {l, accountFromHeader, []quota.Option{quota.WithSettleTimeout(0)}},
		"zero attempts":       {l, accountFromHeader, []quota.Option{quota.WithSettleAttempts(0)}},
		"bad policy":          {l, accountFromHeader, []quota.Option{quota.WithMissingUsage(9)}},
		"nil plan func":       {l, accountFromHeader, []quota.Option{quota.WithPlan(nil)}},
	}
	for name, c := range bad {
		_, err := quota.NewMiddleware(c.ledger, c.account, c.opts...)
		assert.ErrorIs(t, err, quota.ErrInvalidArgument, name)
		assert.Panics(t, func() { quota.Middleware(c.ledger, c.account, c.opts...) }, name)
	}
}

func TestMiddlewareCustomEstimator(t *testing.T) {
	hs := newHarness(t)
	hs.credit("acct", 10_000)
	var estimate quota.Estimate
	var estErr error
	h := hs.handler(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.WriteHeader(http.StatusOK) // no usage: the estimate is charged
	}), quota.WithEstimator(func(*http.Request) (quota.Estimate, error) { return estimate, estErr }),
		quota.WithPricing(quota.MustPricing(map[string]quota.Price{"img": {Request: 40}, "chat": {Output: 1_000_000}})),
		quota.WithDefaultMaxOutput(7))

	estimate = quota.Estimate{Model: "unpriced", Usage: tollgate.Usage{Cost: 1_234}}
	require.Equal(t, http.StatusOK, do(h, "acct", "", "").Code)
	assert.Equal(t, int64(1_234), hs.waitCharge().Cost, "an exact cost needs no price")

	estimate = quota.Estimate{Model: "chat"}
	require.Equal(t, http.StatusOK, do(h, "acct", "", "").Code)
	assert.Equal(t, int64(7), hs.waitCharge().Cost, "no maximum anywhere: the default output estimate")

	estErr = apierrors.New(apierrors.CodeInvalidMaxTokens)
	assert.Equal(t, http.StatusBadRequest, do(h, "acct", "", "").Code)
}

func TestMiddlewareFailOpenSubscription(t *testing.T) {
	hs := newHarness(t)
	store := &failingWindows{WindowStore: quota.MustMemoryWindowStore()}
	h := withPlan("pro", hs.handler(jsonUsage(10, 10), quota.FailOpen(), quota.WithSubscriptions(store, proPlan(false))))
	rec := do(h, "sub", "", chatBody("gpt-test", 10))
	require.Equal(t, http.StatusOK, rec.Code)
	assert.Empty(t, rec.Header().Get(quota.HeaderQuotaLimit), "nothing is known when the store failed")
	c := hs.waitCharge()
	assert.True(t, c.Subscription)
	us, err := store.Usage(t.Context(), "sub", proPlan(false)["pro"].Limits, hs.clock.Now())
	require.NoError(t, err)
	assert.Equal(t, int64(1), us[0].Used, "the request still counts once the store answers")
	assert.Equal(t, int64(20), us[1].Used)
}

// failingWindows fails every Reserve.
type failingWindows struct{ quota.WindowStore }

func (failingWindows) Reserve(context.Context, string, []quota.Limit, quota.Amounts, string, time.Time) (quota.WindowHold, error) {
	return quota.WindowHold{}, errStoreDown
}

func TestBasisString(t *testing.T) {
	for b, want := range map[quota.Basis]string{
		quota.Released: "released", quota.Reported: "reported", quota.Observed: "observed",
		quota.Estimated: "estimated", quota.InputOnly: "input-only", 9: "basis(9)",
	} {
		assert.Equal(t, want, b.String())
	}
}

// A request let through without a hold (FailOpen, the store failing at
// Reserve) whose client reuses the ID of an already settled request must
// still be charged: its settlement may not be taken for a replay of the
// earlier one.
func TestFailOpenWithAReusedRequestIDStillCharges(t *testing.T) {
	hs := newHarness(t)
	hs.credit("acct", 10_000)
	cl := &countingLedger{Ledger: hs.ledger}
	hs.use = cl
	h := hs.handler(jsonUsage(12, 5), quota.FailOpen())
	require.Equal(t, http.StatusOK, do(h, "acct", "req_same", chatBody("gpt-test", 10)).Code)
	first := hs.waitCharge()
	assert.Equal(t, int64(270), first.Cost)

	cl.failReserve.Store(true)
	require.Equal(t, http.StatusOK, do(h, "acct", "req_same", chatBody("gpt-test", 10)).Code)
	second := hs.waitCharge()
	assert.False(t, second.Replayed, "not a replay of the first request")
	assert.Equal(t, int64(270), second.Cost)
	assert.Equal(t, int64(10_000-2*270), hs.funds("acct").Balance)
}
