package quota_test

import (
	"bytes"
	"compress/gzip"
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/tollgate/tollgate"
	apierrors "github.com/tollgate/tollgate/errors"
	"github.com/tollgate/tollgate/quota"
)

// jsonUsage answers with an OpenAI-style body carrying usage.
func jsonUsage(prompt, completion int) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		_, _ = w.Write([]byte(`{"id":"chatcmpl-1","object":"chat.completion","choices":[{"index":0,"message":{"role":"assistant","content":"Hi"}}],"usage":{"prompt_tokens":` +
			strconv.Itoa(prompt) + `,"completion_tokens":` + strconv.Itoa(completion) + `,"total_tokens":` + strconv.Itoa(prompt+completion) + `}}`))
	}
}

func TestMiddlewareSettlesObservedJSONUsage(t *testing.T) {
	hs := newHarness(t)
	hs.credit("acct", 1_000_000)
	var held quota.Funds
	h := hs.handler(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		held = hs.funds("acct")
		jsonUsage(12, 5)(w, r)
	}))
	body := chatBody("gpt-test", 100)
	rec := do(h, "acct", "req-1", body)
	require.Equal(t, http.StatusOK, rec.Code, rec.Body.String())

	estimate := inputEstimate(body)*10 + 100*30
	assert.Equal(t, quota.Funds{Balance: 1_000_000, Held: estimate, Holds: 1}, held, "the estimate is held while the handler runs")
	c := hs.waitCharge()
	assert.Equal(t, quota.Observed, c.Basis)
	assert.Equal(t, int64(12*10+5*30), c.Cost)
	assert.Equal(t, estimate, c.Held)
	assert.Equal(t, "req-1", c.RequestID)
	assert.Equal(t, "gpt-test", c.Model)
	assert.False(t, c.Subscription)
	assert.NoError(t, c.Err)
	assert.Equal(t, quota.Funds{Balance: 1_000_000 - 270}, hs.funds("acct"))
	assert.Equal(t, int64(1_000_000-270), c.Receipt.Balance)
}

func TestMiddlewareReportedUsageWins(t *testing.T) {
	hs := newHarness(t)
	hs.credit("acct", 1_000_000)
	h := hs.handler(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		quota.Report(r.Context(), tollgate.Usage{InputTokens: 1, OutputTokens: 1, Cost: 4_321})
		jsonUsage(12, 5)(w, r)
	}))
	require.Equal(t, http.StatusOK, do(h, "acct", "", chatBody("gpt-test", 10)).Code)
	c := hs.waitCharge()
	assert.Equal(t, quota.Reported, c.Basis)
	assert.Equal(t, int64(4_321), c.Cost, "a reported exact cost is charged as is")
	assert.NotEmpty(t, c.RequestID, "a request ID is generated when none came in")
	assert.Equal(t, int64(1_000_000-4_321), hs.funds("acct").Balance)
}

func TestMiddlewareReleasesWithoutUsageOnFailure(t *testing.T) {
	for _, status := range []int{http.StatusBadGateway, http.StatusInternalServerError, http.StatusBadRequest} {
		hs := newHarness(t)
		hs.credit("acct", 1_000_000)
		h := hs.handler(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			apierrors.Write(w, r, apierrors.New(apierrors.CodeBadGateway).WithStatus(status))
		}))
		rec := do(h, "acct", "", chatBody("gpt-test", 100))
		require.Equal(t, status, rec.Code)
		c := hs.waitCharge()
		assert.Equal(t, quota.Released, c.Basis, "status %d", status)
		assert.Zero(t, c.Cost)
		assert.Equal(t, quota.Funds{Balance: 1_000_000}, hs.funds("acct"), "status %d: nothing charged", status)
	}
}

func TestMiddlewareMissingUsagePolicy(t *testing.T) {
	body := chatBody("gpt-test", 100)
	cases := []struct {
		name   string
		policy quota.MissingUsage
		basis  quota.Basis
		cost   int64
	}{
		{"estimate", quota.ChargeEstimate, quota.Estimated, inputEstimate(body)*10 + 100*30},
		{"input", quota.ChargeInput, quota.InputOnly, inputEstimate(body) * 10},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			hs := newHarness(t)
			hs.credit("acct", 1_000_000)
			h := hs.handler(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				_, _ = w.Write([]byte(`{"choices":[]}`))
			}), quota.WithMissingUsage(c.policy))
			require.Equal(t, http.StatusOK, do(h, "acct", "", body).Code)
			ch := hs.waitCharge()
			assert.Equal(t, c.basis, ch.Basis)
			assert.Equal(t, c.cost, ch.Cost)
			assert.Equal(t, 1_000_000-c.cost, hs.funds("acct").Balance)
		})
	}
}

func TestMiddlewareEstimateIsCappedByMaxOutput(t *testing.T) {
	hs := newHarness(t)
	hs.credit("acct", 1_000_000)
	h := hs.handler(jsonUsage(1, 1))
	for _, maxTokens := range []int{0, 50_000} {
		body := chatBody("gpt-test", maxTokens)
		require.Equal(t, http.StatusOK, do(h, "acct", "", body).Code)
		assert.Equal(t, inputEstimate(body)*10+1_000*30, hs.waitCharge().Held, "max_tokens %d", maxTokens)
	}
}

func TestMiddlewareSetsBalanceHeaderBeforeHandler(t *testing.T) {
	hs := newHarness(t)
	hs.credit("acct", 5_000_000)
	body := chatBody("gpt-test", 100)
	var seen string
	h := hs.handler(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		seen = w.Header().Get(quota.HeaderBalanceRemaining)
		jsonUsage(1, 1)(w, r)
	}))
	rec := do(h, "acct", "", body)
	available := 5_000_000 - (inputEstimate(body)*10 + 100*30)
	assert.Equal(t, quota.FormatDecimal(available), seen)
	assert.Equal(t, []string{seen}, rec.Header().Values(quota.HeaderBalanceRemaining))
	hs.waitCharge()

	hs2 := newHarness(t)
	hs2.credit("acct", 5_000_000)
	rec = do(hs2.handler(jsonUsage(1, 1), quota.WithoutHeaders()), "acct", "", body)
	assert.Empty(t, rec.Header().Get(quota.HeaderBalanceRemaining))
}

func TestMiddlewareDuplicateRequestID(t *testing.T) {
	hs := newHarness(t)
	hs.credit("acct", 1_000_000)
	h := hs.handler(jsonUsage(1, 1))
	require.Equal(t, http.StatusOK, do(h, "acct", "same-id", chatBody("gpt-test", 10)).Code)
	hs.waitCharge()
	rec := do(h, "acct", "same-id", chatBody("gpt-test", 10))
	assert.Equal(t, http.StatusConflict, rec.Code)
	assert.Equal(t, 1, hs.chargeCount(), "a refused duplicate is not charged")
	require.Len(t, hs.refusals, 1)
	assert.ErrorIs(t, hs.refusals[0], quota.ErrDuplicateRequest)
}

func TestMiddlewareAdmissionErrors(t *testing.T) {
	cases := []struct {
		name, account, body string
		status              int
		code                string
	}{
		{"no account", "", chatBody("gpt-test", 10), 401, "authentication_error"},
		{"unknown model", "acct", chatBody("gpt-unknown", 10), 404, "model_not_found"},
		{"no model", "acct", `{"messages":[]}`, 400, "missing_required_field"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			hs := newHarness(t)
			hs.credit("acct", 1_000_000)
			h := hs.handler(jsonUsage(1, 1))
			rec := do(h, c.account, "", c.body)
			assert.Equal(t, c.status, rec.Code)
			var env struct {
				Error struct{ Code string } `json:"error"`
			}
			require.NoError(t, json.Unmarshal(rec.Body.Bytes(), &env), rec.Body.String())
			assert.Equal(t, c.code, env.Error.Code)
			assert.Zero(t, hs.chargeCount())
		})
	}
}

func TestMiddlewareAccountFunctionError(t *testing.T) {
	hs := newHarness(t)
	mw := quota.Middleware(hs.ledger, func(*http.Request) (string, error) {
		return "", apierrors.New(apierrors.CodeMissingAPIKey)
	})
	rec := do(mw(jsonUsage(1, 1)), "acct", "", chatBody("gpt-test", 10))
	assert.Equal(t, http.StatusUnauthorized, rec.Code)
}

func TestMiddlewarePanicReleasesHold(t *testing.T) {
	hs := newHarness(t)
	hs.credit("acct", 1_000_000)
	h := hs.handler(http.HandlerFunc(func(http.ResponseWriter, *http.Request) { panic("boom") }))
	assert.PanicsWithValue(t, "boom", func() { do(h, "acct", "", chatBody("gpt-test", 10)) })
	assert.Equal(t, quota.Released, hs.waitCharge().Basis)
	assert.Equal(t, quota.Funds{Balance: 1_000_000}, hs.funds("acct"))
}

func TestMiddlewareSettlesOnDetachedContext(t *testing.T) {
	hs := newHarness(t)
	hs.credit("acct", 1_000_000)
	cl := &countingLedger{Ledger: hs.ledger}
	hs.use = cl
	ctx, cancel := context.WithCancel(context.Background())
	h := hs.handler(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		cancel() // the client goes away while the handler works
		<-r.Context().Done()
		jsonUsage(3, 4)(w, r)
	}))
	req := httptest.NewRequestWithContext(ctx, http.MethodPost, "/v1/chat/completions", strings.NewReader(chatBody("gpt-test", 10)))
	req.Header.Set("X-Account", "acct")
	h.ServeHTTP(httptest.NewRecorder(), req)
	c := hs.waitCharge()
	assert.Equal(t, quota.Observed, c.Basis)
	assert.Equal(t, "", cl.settleCtxErr.Load(), "settlement must not see the client's cancellation")
	assert.Equal(t, int64(1_000_000-3*10-4*30), hs.funds("acct").Balance)
	assert.False(t, errors.Is(c.Err, context.Canceled))
}

// A compressed body's usage cannot be read as it streams past, yet it never
// goes free: the MissingUsage policy charges the estimate.
func TestCompressedBodyChargesTheEstimate(t *testing.T) {
	var gz bytes.Buffer
	zw := gzip.NewWriter(&gz)
	_, _ = zw.Write([]byte(`{"usage":{"prompt_tokens":10,"completion_tokens":5}}`))
	require.NoError(t, zw.Close())
	hs := newHarness(t)
	hs.credit("acct", 1_000_000)
	h := hs.handler(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		w.Header().Set("Content-Encoding", "gzip")
		_, _ = w.Write(gz.Bytes())
	}))
	body := chatBody("gpt-test", 100)
	require.Equal(t, http.StatusOK, do(h, "acct", "", body).Code)
	c := hs.waitCharge()
	assert.Equal(t, quota.Estimated, c.Basis)
	assert.Equal(t, inputEstimate(body)*10+100*30, c.Cost)
}

// Gemini's streamGenerateContent (without alt=sse) answers with a JSON
// array; the usage of its last element is what is charged.
func TestGeminiArrayUsageIsCharged(t *testing.T) {
	hs := newHarness(t)
	hs.credit("acct", 1_000_000)
	h := hs.handler(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		_, _ = w.Write([]byte(`[{"candidates":[]},{"candidates":[],"usageMetadata":{"promptTokenCount":10,"candidatesTokenCount":5}}]`))
	}))
	require.Equal(t, http.StatusOK, do(h, "acct", "", chatBody("gpt-test", 100)).Code)
	c := hs.waitCharge()
	assert.Equal(t, quota.Observed, c.Basis)
	assert.Equal(t, int64(10*10+5*30), c.Cost)
}
