package quota_test

import (
	"bytes"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"testing/iotest"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/tollgate/tollgate"
	"github.com/tollgate/tollgate/quota"
)

// estimateBody runs est on a request with body and content type, and
// returns the estimate, the State's model and what the handler would read.
func estimateBody(t *testing.T, est quota.Estimator, body, contentType, stateModel string) (quota.Estimate, string, string) {
	t.Helper()
	req := httptest.NewRequest(http.MethodPost, "/", strings.NewReader(body))
	if contentType != "" {
		req.Header.Set("Content-Type", contentType)
	}
	_, req, st := tollgate.Begin(httptest.NewRecorder(), req)
	st.Model = stateModel
	e, err := est(req)
	require.NoError(t, err)
	rest, err := io.ReadAll(req.Body)
	require.NoError(t, err)
	return e, st.Model, string(rest)
}

func TestBodyEstimator(t *testing.T) {
	cases := []struct {
		name, body, contentType, stateModel string
		model                               string
		output                              int64
		parsedInput                         bool
	}{
		{"chat", `{"model":"gpt-x","max_tokens":300,"messages":[]}`, "application/json", "", "gpt-x", 300, true},
		{"no content type", `{"model":"gpt-x","max_tokens":300}`, "", "", "gpt-x", 300, true},
		{"max_completion_tokens first", `{"model":"m","max_tokens":10,"max_completion_tokens":20}`, "application/json", "", "m", 20, true},
		{"responses", `{"model":"m","max_output_tokens":40,"input":"hi"}`, "application/json; charset=utf-8", "", "m", 40, true},
		{"gemini", `{"contents":[],"generationConfig":{"maxOutputTokens":64}}`, "application/json", "gemini-pro", "gemini-pro", 64, true},
		{"n choices", `{"model":"m","max_tokens":100,"n":3}`, "application/json", "", "m", 300, true},
		{"n is capped", `{"model":"m","max_tokens":100,"n":1000000}`, "application/json", "", "m", 100 * 128, true},
		{"huge max with n", `{"model":"m","max_tokens":9223372036854775807,"n":2}`, "application/json", "", "m", 1<<63 - 1, true},
		{"negative max", `{"model":"m","max_tokens":-5}`, "application/json", "", "m", 0, true},
		{"no max", `{"model":"m"}`, "application/json", "", "m", 0, true},
		{"state model kept", `{"model":"body-model"}`, "application/json", "state-model", "body-model", 0, true},
		{"invalid json", `{"model":`, "application/json", "state-model", "state-model", 0, true},
		{"problem+json", `{"model":"m"}`, "application/problem+json", "", "m", 0, true},
		{"multipart not read", "--x\r\n", "multipart/form-data; boundary=x", "whisper", "whisper", 0, false},
		{"curl -d sends a form type", `{"model":"m","max_tokens":7}`, "application/x-www-form-urlencoded", "", "m", 7, true},
		{"text/plain", `{"model":"m"}`, "text/plain; charset=utf-8", "", "m", 0, true},
		{"a real form", `model=m&max_tokens=7`, "application/x-www-form-urlencoded", "s", "s", 0, true},
		{"empty", ``, "application/json", "", "", 0, true},
	}
	est := quota.BodyEstimator()
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			e, _, rest := estimateBody(t, est, c.body, c.contentType, c.stateModel)
			assert.Equal(t, c.body, rest, "the handler reads the whole body")
			assert.Equal(t, c.model, e.Model)
			assert.Equal(t, c.output, e.Usage.OutputTokens)
			want := int64(0)
			if c.parsedInput {
				want = (int64(len(c.body)) + 3) / 4
			}
			assert.Equal(t, want, e.Usage.InputTokens)
		})
	}
}

func TestBodyEstimatorFillsStateModel(t *testing.T) {
	_, model, _ := estimateBody(t, quota.BodyEstimator(), `{"model":"m"}`, "application/json", "")
	assert.Equal(t, "m", model)
	_, model, _ = estimateBody(t, quota.BodyEstimator(), `{"model":"m"}`, "application/json", "set-by-auth")
	assert.Equal(t, "set-by-auth", model, "a model another layer set is not overwritten")
}

func TestBodyEstimatorOptions(t *testing.T) {
	body := `{"model":"gpt-x","max_tokens":1,"messages":[{"content":"` + strings.Repeat("a", 100) + `"}]}`
	e, _, rest := estimateBody(t, quota.BodyEstimator(quota.MaxEstimatedBody(32)), body, "application/json", "from-state")
	assert.Equal(t, body, rest, "an oversized body passes through whole")
	assert.Equal(t, "from-state", e.Model, "an oversized body is not parsed")
	assert.Equal(t, (int64(len(body))+3)/4, e.Usage.InputTokens)

	e, _, _ = estimateBody(t, quota.BodyEstimator(quota.BytesPerToken(2)), `{"model":"m"}`, "", "")
	assert.Equal(t, int64(7), e.Usage.InputTokens)

	assert.Panics(t, func() { quota.BodyEstimator(quota.BytesPerToken(0)) })
	assert.Panics(t, func() { quota.BodyEstimator(quota.MaxEstimatedBody(-1)) })
}

func TestBodyEstimatorReadError(t *testing.T) {
	req := httptest.NewRequest(http.MethodPost, "/", io.NopCloser(iotest.ErrReader(errors.New("client went away"))))
	_, err := quota.BodyEstimator()(req)
	assert.ErrorContains(t, err, "client went away")

	hs := newHarness(t)
	hs.credit("acct", 1_000)
	req = httptest.NewRequest(http.MethodPost, "/", io.NopCloser(iotest.ErrReader(errors.New("client went away"))))
	req.Header.Set("X-Account", "acct")
	rec := httptest.NewRecorder()
	hs.handler(jsonUsage(1, 1)).ServeHTTP(rec, req)
	assert.Equal(t, http.StatusBadRequest, rec.Code)
	assert.Contains(t, rec.Body.String(), "read_request_body_failed")
}

// FuzzBodyEstimator feeds arbitrary bodies: the estimator never fails on
// content, always hands the handler the exact bytes, and never returns a
// negative estimate.
func FuzzBodyEstimator(f *testing.F) {
	f.Add([]byte(`{"model":"gpt-4o","max_tokens":256,"messages":[{"role":"user","content":"hi"}]}`), "application/json")
	f.Add([]byte(`{"model":"m","n":-3,"max_completion_tokens":1e400}`), "")
	f.Add([]byte(`{"generationConfig":{"maxOutputTokens":9223372036854775807},"n":128}`), "application/json")
	f.Add([]byte("\xff\xfe{"), "text/plain")
	f.Fuzz(func(t *testing.T, body []byte, contentType string) {
		est := quota.BodyEstimator(quota.MaxEstimatedBody(256))
		req := httptest.NewRequest(http.MethodPost, "/", bytes.NewReader(body))
		req.Header.Set("Content-Type", contentType)
		e, err := est(req)
		require.NoError(t, err)
		rest, err := io.ReadAll(req.Body)
		require.NoError(t, err)
		assert.Equal(t, body, rest)
		assert.GreaterOrEqual(t, e.Usage.InputTokens, int64(0))
		assert.GreaterOrEqual(t, e.Usage.OutputTokens, int64(0))
		assert.LessOrEqual(t, e.Usage.InputTokens, int64(len(body)+3)/4)
	})
}
