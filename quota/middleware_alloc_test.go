package quota_test

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/tollgate/tollgate"
	"github.com/tollgate/tollgate/quota"
)

// The hook's context is the settlement's: detached from the client,
// bounded by the settle timeout, carrying the request's State, and
// cancelled once the hook returns.
func TestOnChargeContext(t *testing.T) {
	ledger := quota.MustMemoryLedger()
	_, err := ledger.Credit(context.Background(), "acct", 1_000_000, "seed")
	require.NoError(t, err)
	var hookCtx context.Context
	var errInHook error
	var deadline time.Time
	start := time.Now()
	mw := quota.Middleware(ledger, accountFromHeader,
		quota.WithPricing(testPricing), quota.WithSettleTimeout(time.Minute), quota.WithEstimator(fixedEstimate),
		quota.OnCharge(func(ctx context.Context, c quota.Charge) {
			hookCtx, errInHook = ctx, ctx.Err()
			deadline, _ = ctx.Deadline()
			assert.Equal(t, c.RequestID, tollgate.RequestIDFrom(ctx))
		}))
	client, leave := context.WithCancel(context.Background())
	h := tollgate.Chain(tollgate.RequestID(), mw).ThenFunc(func(w http.ResponseWriter, _ *http.Request) {
		leave() // the client leaves before the settlement
		w.WriteHeader(http.StatusOK)
	})
	r := httptest.NewRequest(http.MethodPost, "/v1/chat/completions", nil).WithContext(client)
	r.Header.Set("X-Account", "acct")
	h.ServeHTTP(httptest.NewRecorder(), r)

	require.NotNil(t, hookCtx)
	assert.NoError(t, errInHook, "a client that left does not cancel the settlement")
	assert.WithinDuration(t, start.Add(time.Minute), deadline, 10*time.Second)
	assert.ErrorIs(t, hookCtx.Err(), context.Canceled, "cancelled once the hook returns")
	<-hookCtx.Done()
}

// An admitted request costs the middleware one allocation of its own: the
// reservation, which holds the settlement's context and the balance
// header's value. The settlement's view of the request's values is made
// only when a Ledger or hook asks for one; the memory ledger does not.
func TestMiddlewareAllocations(t *testing.T) {
	ledger := quota.MustMemoryLedger(quota.WithReceiptTTL(time.Nanosecond))
	_, err := ledger.Credit(context.Background(), "acct", 1<<60, "seed")
	require.NoError(t, err)
	mw := quota.Middleware(ledger, accountFromHeader, quota.WithPricing(testPricing), quota.WithEstimator(fixedEstimate))
	h := tollgate.Chain(tollgate.RequestID(), mw).ThenFunc(func(w http.ResponseWriter, _ *http.Request) {
		w.WriteHeader(http.StatusOK)
	})
	r := httptest.NewRequest(http.MethodPost, "/v1/chat/completions", nil)
	r.Header.Set("X-Account", "acct")
	w := &headerWriter{h: http.Header{"X-Existing": {"1"}}}
	h.ServeHTTP(w, r) // warm the ledger's maps and spare holds
	// State, request ID, reservation; receipts expire at once, so the
	// ledger's table does not grow.
	allocs := testing.AllocsPerRun(200, func() { h.ServeHTTP(w, r) })
	assert.LessOrEqual(t, allocs, 3.5)
	assert.NotEmpty(t, w.h.Get(quota.HeaderBalanceRemaining))
}

// fixedEstimate estimates every request the same, without reading it.
func fixedEstimate(*http.Request) (quota.Estimate, error) {
	return quota.Estimate{Model: "gpt-test", Usage: tollgate.Usage{InputTokens: 10, OutputTokens: 10}}, nil
}

// headerWriter is a ResponseWriter that keeps only its header map.
type headerWriter struct{ h http.Header }

func (w *headerWriter) Header() http.Header         { return w.h }
func (w *headerWriter) Write(p []byte) (int, error) { return len(p), nil }
func (w *headerWriter) WriteHeader(int)             {}

type requestValue struct{}

// The settlement's context carries the request's values and neither its
// cancellation nor its cause, also when the values are asked for after the
// client left.
func TestSettlementContextValues(t *testing.T) {
	ledger := quota.MustMemoryLedger()
	_, err := ledger.Credit(context.Background(), "acct", 1<<40, "seed")
	require.NoError(t, err)
	type seen struct {
		value      any
		err, cause error
	}
	got := make(chan seen, 1)
	mw := quota.Middleware(ledger, accountFromHeader, quota.WithPricing(testPricing), quota.WithEstimator(fixedEstimate),
		quota.OnCharge(func(ctx context.Context, _ quota.Charge) {
			got <- seen{ctx.Value(requestValue{}), ctx.Err(), context.Cause(ctx)}
		}))
	ctx, cancel := context.WithCancelCause(context.WithValue(context.Background(), requestValue{}, "v"))
	h := mw(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		cancel(errors.New("client left"))
		w.WriteHeader(http.StatusOK)
	}))
	r := httptest.NewRequestWithContext(ctx, http.MethodPost, "/v1/chat/completions", nil)
	r.Header.Set("X-Account", "acct")
	h.ServeHTTP(httptest.NewRecorder(), r)
	s := <-got
	assert.Equal(t, "v", s.value)
	assert.NoError(t, s.err)
	assert.NoError(t, s.cause)
}
