package quota_test

import (
	"errors"
	"net/http"
	"net/http/httptest"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/tollgate/tollgate"
	apierrors "github.com/tollgate/tollgate/errors"
	"github.com/tollgate/tollgate/quota"
)

const (
	overdueMsg  = "Account overdue. To prevent abuse, a non-negative balance is required for all models (including free tiers)."
	creditMsg   = "Credit required. To prevent abuse, a positive balance is required for this model."
	balanceMsg  = "Your balance ($5.00) is insufficient for this task ($10.00). Please add credits."
	quotaMsg    = "You have reached your subscription quota limit. Please wait for the quota to refresh, upgrade your plan, or use a pay-as-you-go key."
	meta        = `"meta":{"request_id":"req_1234567890","timestamp":"2024-01-01T00:00:00Z"}}`
	zenMuxQuota = "You have reached your subscription quota limit. Please wait for automatic quota refresh in the rolling time window, upgrade to a higher plan, or use a Pay-As-You-Go API Key for unlimited access. Learn more: https://zenmux.ai/docs/guide/subscription.html"
)

var (
	overdue      = &quota.Refusal{Reason: quota.ErrAccountOverdue, Account: "a", Balance: -5}
	creditNeeded = &quota.Refusal{Reason: quota.ErrCreditRequired, Account: "a", Amount: 1}
	tooPoor      = &quota.Refusal{Reason: quota.ErrInsufficientBalance, Account: "a", Balance: 5_000_000, Amount: 10_000_000}
	exhausted    = &quota.Refusal{Reason: quota.ErrQuotaExceeded, Account: "a", Limit: "5h", Max: 100, Used: 100, Amount: 1, RetryAfter: 59*time.Minute + 500*time.Millisecond}
)

// The refusals as each dialect renders them. The ZenMux overdue and
// credit bodies and the flat balance body are the seeds' own examples,
// byte for byte.
func TestRefusalRendering(t *testing.T) {
	cases := []struct {
		refusal *quota.Refusal
		dialect apierrors.Dialect
		status  int
		body    string
	}{
		{overdue, apierrors.ZenMux, 402, `{"error":{"code":"402","type":"insufficient_credit","message":"` + overdueMsg + `"}}`},
		{overdue, apierrors.Meta, 402, `{"success":false,"error":{"code":"ACCOUNT_OVERDUE","message":"` + overdueMsg + `"},` + meta},
		{overdue, apierrors.Flat, 403, `{"error":"Insufficient balance","message":"` + overdueMsg + `","statusCode":403}`},
		{overdue, apierrors.OpenAI, 402, `{"error":{"message":"` + overdueMsg + `","type":"insufficient_quota","param":null,"code":"account_overdue"}}`},

		{creditNeeded, apierrors.ZenMux, 402, `{"error":{"code":"402","type":"reject_no_credit","message":"` + creditMsg + `"}}`},
		{creditNeeded, apierrors.Meta, 402, `{"success":false,"error":{"code":"CREDIT_REQUIRED","message":"` + creditMsg + `"},` + meta},
		{creditNeeded, apierrors.Flat, 403, `{"error":"Insufficient balance","message":"` + creditMsg + `","statusCode":403}`},
		{creditNeeded, apierrors.OpenAI, 402, `{"error":{"message":"` + creditMsg + `","type":"insufficient_quota","param":null,"code":"credit_required"}}`},

		{tooPoor, apierrors.ZenMux, 402, `{"error":{"code":"402","type":"reject_no_credit","message":"` + balanceMsg + `"}}`},
		{tooPoor, apierrors.Meta, 402, `{"success":false,"error":{"code":"INSUFFICIENT_BALANCE","message":"` + balanceMsg + `"},` + meta},
		{tooPoor, apierrors.Flat, 403, `{"error":"Insufficient balance","message":"` + balanceMsg + `","statusCode":403}`},
		{tooPoor, apierrors.OpenAI, 402, `{"error":{"message":"` + balanceMsg + `","type":"insufficient_quota","param":null,"code":"insufficient_quota"}}`},

		{exhausted, apierrors.ZenMux, 402, `{"error":{"code":"402","type":"quote_exceeded","message":"` + quotaMsg + `"}}`},
		{exhausted, apierrors.Meta, 403, `{"success":false,"error":{"code":"QUOTA_EXCEEDED","message":"` + quotaMsg + `","details":{"retry_after":3541}},` + meta},
		{exhausted, apierrors.Flat, 402, `{"error":"Payment Required","message":"` + quotaMsg + `","statusCode":402,"details":{"retryAfter":3541}}`},
		{exhausted, apierrors.OpenAI, 402, `{"error":{"message":"` + quotaMsg + `","type":"insufficient_quota","param":null,"code":"quota_exceeded"}}`},
	}
	c := apierrors.Context{RequestID: "req_1234567890", Time: time.Date(2024, 1, 1, 0, 0, 0, 0, time.UTC)}
	for _, tc := range cases {
		t.Run(tc.refusal.Reason.Error()+"/"+tc.dialect.String(), func(t *testing.T) {
			out := apierrors.Encode(tc.dialect, tc.refusal.APIError(), c)
			assert.Equal(t, tc.status, out.Status)
			assert.Equal(t, tc.body, string(out.Body))
		})
	}
}

// The seeds' own wording, through WithRefusalRenderer and a real request:
// ZenMux's quote_exceeded text and the agents API's flat 403.
func TestRefusalSeedTextsThroughMiddleware(t *testing.T) {
	seedWording := func(r *quota.Refusal) *apierrors.Error {
		if errors.Is(r, quota.ErrQuotaExceeded) {
			return r.APIError().WithMessage(zenMuxQuota)
		}
		return r.APIError()
	}
	plans := map[string]quota.Plan{"sub": {Limits: []quota.Limit{{Name: "5h", Window: quota.Rolling(5 * time.Hour), Unit: quota.Requests, Max: 1}}}}
	cases := []struct {
		name, account string
		credit        int64
		dialect       apierrors.Dialect
		status        int
		body          string
		retryAfter    string
	}{
		{"zenmux quota", "subscriber", 0, apierrors.ZenMux, 402,
			`{"error":{"code":"402","type":"quote_exceeded","message":"` + zenMuxQuota + `"}}`, "14700"},
		{"zenmux overdue", "overdue", -1, apierrors.ZenMux, 402,
			`{"error":{"code":"402","type":"insufficient_credit","message":"` + overdueMsg + `"}}`, ""},
		{"zenmux credit", "empty", 0, apierrors.ZenMux, 402,
			`{"error":{"code":"402","type":"reject_no_credit","message":"` + creditMsg + `"}}`, ""},
		{"flat balance", "poor", 1_000, apierrors.Flat, 403,
			`{"error":"Insufficient balance","message":"Your balance ($0.001) is insufficient for this task ($0.00313). Please add credits.","statusCode":403}`, ""},
		{"meta quota", "subscriber", 0, apierrors.Meta, 403,
			`{"success":false,"error":{"code":"QUOTA_EXCEEDED","message":"` + zenMuxQuota + `","details":{"retry_after":14700}},"meta":{"request_id":"req-2","timestamp":"<ts>"}}`, "14700"},
		{"openai balance", "poor", 1_000, apierrors.OpenAI, 402,
			`{"error":{"message":"Your balance ($0.001) is insufficient for this task ($0.00313). Please add credits.","type":"insufficient_quota","param":null,"code":"insufficient_quota"}}`, ""},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			hs := newHarness(t)
			h := apierrors.WithDialect(c.dialect)(hs.handler(jsonUsage(1, 1),
				quota.WithRefusalRenderer(seedWording),
				quota.WithSubscriptions(quota.MustMemoryWindowStore(), plans),
				quota.WithPlan(func(r *http.Request) (string, error) {
					if r.Header.Get("X-Account") == "subscriber" {
						return "sub", nil
					}
					return "", nil
				})))
			body := `{"model":"gpt-test","max_tokens":100,"messages":[]}` // 13 input tokens, 100 output: 3130 micro-units
			prepareAccount(t, hs, h, c.account, c.credit, body)
			rec := do(h, c.account, "req-2", body)
			assert.Equal(t, c.status, rec.Code)
			got := regexp.MustCompile(`"timestamp":"[^"]*"`).ReplaceAllString(rec.Body.String(), `"timestamp":"<ts>"`)
			assert.Equal(t, c.body, got)
			assert.Equal(t, c.retryAfter, rec.Header().Get("Retry-After"))
			assert.Equal(t, "application/json", rec.Header().Get("Content-Type"))
		})
	}
}

// prepareAccount gives the account the state a case needs: a balance, an
// overdue balance (credit < 0), or an exhausted subscription.
func prepareAccount(t *testing.T, hs *harness, h http.Handler, account string, credit int64, body string) {
	t.Helper()
	switch {
	case credit > 0:
		hs.credit(account, credit)
	case credit < 0:
		hs.credit(account, 1)
		hold, err := hs.ledger.Reserve(t.Context(), account, 1, "seed", hs.clock.Now())
		require.NoError(t, err)
		_, err = hs.ledger.Settle(t.Context(), hold, 1-credit, hs.clock.Now())
		require.NoError(t, err)
	}
	if account == "subscriber" {
		require.Equal(t, http.StatusOK, do(h, account, "req-1", body).Code)
		hs.waitCharge()
		hs.clock.Advance(time.Hour)
	}
}

// The agents API's in-stream error event for a balance refusal that is
// written after a stream began.
func TestRefusalAsFlatStreamEvent(t *testing.T) {
	req := httptest.NewRequest(http.MethodPost, "/", nil)
	w, req, st := tollgate.Begin(httptest.NewRecorder(), req)
	st.Dialect = "flat"
	_ = w
	ev := string(apierrors.StreamEvent(req, tooPoor.APIError()))
	assert.True(t, strings.HasPrefix(ev, `data: {"type":"error","error":{"code":"INSUFFICIENT_BALANCE","message":"`+balanceMsg+`"},"timestamp":"`), ev)
}

func TestRefusalErrorAndUnwrap(t *testing.T) {
	assert.ErrorIs(t, exhausted, quota.ErrQuotaExceeded)
	assert.Equal(t, `quota: insufficient balance: account "a": available $5.00, needed $10.00`, tooPoor.Error())
	assert.Equal(t, `quota: subscription quota exceeded: account "a": limit "5h" used 100 of 100, retry after 59m0.5s`, exhausted.Error())
	e := tooPoor.APIError()
	assert.Same(t, tooPoor, e.Cause, "the refusal is kept for logs")
	negative := &quota.Refusal{Reason: quota.ErrInsufficientBalance, Balance: -3, Amount: 7}
	assert.Equal(t, "Your balance ($0.00) is insufficient for this task ($0.000007). Please add credits.", negative.APIError().Message)
	assert.Equal(t, apierrors.CodeInternalError, (&quota.Refusal{Reason: errors.New("other")}).APIError().Code)
}
