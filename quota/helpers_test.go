package quota_test

import (
	"context"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/tollgate/tollgate"
	"github.com/tollgate/tollgate/quota"
	"github.com/tollgate/tollgate/tollgatetest"
)

// testPricing: $10 per million input tokens (10 micro-units a token), $30
// per million output tokens (30 a token), at most 1000 output tokens.
var testPricing = quota.MustPricing(map[string]quota.Price{
	"gpt-test":   {Input: 10_000_000, Output: 30_000_000, MaxOutput: 1_000},
	"free-model": {},
})

// accountFromHeader reads the account from State (as auth would fill it)
// or from the X-Account header.
func accountFromHeader(r *http.Request) (string, error) {
	if st := tollgate.StateFrom(r.Context()); st != nil && st.Account != "" {
		return st.Account, nil
	}
	return r.Header.Get("X-Account"), nil
}

// harness is a quota middleware over a memory ledger on a manual clock,
// recording every Charge and Refusal.
type harness struct {
	t        *testing.T
	ledger   *quota.MemoryLedger
	use      quota.Ledger // the ledger the middleware sees; ledger when nil
	clock    *tollgatetest.Clock
	mu       sync.Mutex
	charges  []quota.Charge
	refusals []*quota.Refusal
	charged  chan quota.Charge
}

func newHarness(t *testing.T) *harness {
	t.Helper()
	return &harness{
		t:       t,
		ledger:  quota.MustMemoryLedger(),
		clock:   tollgatetest.NewClock(time.Time{}),
		charged: make(chan quota.Charge, 16),
	}
}

// handler wraps h in RequestID and the quota middleware with opts.
func (hs *harness) handler(h http.Handler, opts ...quota.Option) http.Handler {
	hs.t.Helper()
	base := []quota.Option{
		quota.WithPricing(testPricing),
		quota.WithClock(hs.clock),
		quota.OnCharge(func(_ context.Context, c quota.Charge) {
			hs.mu.Lock()
			hs.charges = append(hs.charges, c)
			hs.mu.Unlock()
			hs.charged <- c
		}),
		quota.OnRefuse(func(_ *http.Request, r *quota.Refusal) {
			hs.mu.Lock()
			hs.refusals = append(hs.refusals, r)
			hs.mu.Unlock()
		}),
	}
	var l quota.Ledger = hs.ledger
	if hs.use != nil {
		l = hs.use
	}
	mw, err := quota.NewMiddleware(l, accountFromHeader, append(base, opts...)...)
	require.NoError(hs.t, err)
	return tollgate.Chain(tollgate.RequestID(), mw).Then(h)
}

func (hs *harness) credit(account string, amount int64) {
	hs.t.Helper()
	_, err := hs.ledger.Credit(context.Background(), account, amount, "seed-"+account+"-"+time.Now().String())
	require.NoError(hs.t, err)
}

func (hs *harness) funds(account string) quota.Funds {
	hs.t.Helper()
	f, err := hs.ledger.Balance(context.Background(), account, hs.clock.Now())
	require.NoError(hs.t, err)
	return f
}

// waitCharge returns the next Charge, failing the test if none comes.
func (hs *harness) waitCharge() quota.Charge {
	hs.t.Helper()
	select {
	case c := <-hs.charged:
		return c
	case <-time.After(10 * time.Second):
		hs.t.Fatal("no Charge reported")
		return quota.Charge{}
	}
}

func (hs *harness) chargeCount() int {
	hs.mu.Lock()
	defer hs.mu.Unlock()
	return len(hs.charges)
}

// chatBody is a chat request for model with max_tokens; its length makes
// the input estimate.
func chatBody(model string, maxTokens int) string {
	return `{"model":"` + model + `","max_tokens":` + strconv.Itoa(maxTokens) + `,"messages":[{"role":"user","content":"Hello there"}]}`
}

// inputEstimate is BodyEstimator's input estimate for body.
func inputEstimate(body string) int64 { return (int64(len(body)) + 3) / 4 }

// do serves one request to h and returns the recorder.
func do(h http.Handler, account, requestID, body string) *httptest.ResponseRecorder {
	req := httptest.NewRequest(http.MethodPost, "/v1/chat/completions", strings.NewReader(body))
	req.Header.Set("Content-Type", "application/json")
	if account != "" {
		req.Header.Set("X-Account", account)
	}
	if requestID != "" {
		req.Header.Set("X-Request-ID", requestID)
	}
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, req)
	return rec
}

// countingLedger wraps a Ledger, counting calls and failing on demand.
type countingLedger struct {
	quota.Ledger
	reserves, settles, releases atomic.Int64
	failReserve                 atomic.Bool
	failSettles                 atomic.Int64 // the next n settles fail
	settleCtxErr                atomic.Value // ctx.Err() seen by the last Settle
}

var errStoreDown = &storeError{"store down"}

type storeError struct{ msg string }

func (e *storeError) Error() string { return e.msg }

func (c *countingLedger) Reserve(ctx context.Context, account string, amount int64, id string, now time.Time) (quota.Hold, error) {
	c.reserves.Add(1)
	if c.failReserve.Load() {
		return quota.Hold{}, errStoreDown
	}
	return c.Ledger.Reserve(ctx, account, amount, id, now)
}

func (c *countingLedger) Settle(ctx context.Context, h quota.Hold, actual int64, now time.Time) (quota.Receipt, error) {
	c.settles.Add(1)
	c.settleCtxErr.Store(errString(ctx.Err()))
	if c.failSettles.Add(-1) >= 0 {
		return quota.Receipt{}, errStoreDown
	}
	return c.Ledger.Settle(ctx, h, actual, now)
}

func (c *countingLedger) Release(ctx context.Context, h quota.Hold, now time.Time) (quota.Receipt, error) {
	c.releases.Add(1)
	return c.Ledger.Release(ctx, h, now)
}

func errString(err error) string {
	if err == nil {
		return ""
	}
	return err.Error()
}
