// Package demotest is the test suite every router example passes: the same
// requests, through the example's own router, must get the same answers —
// success with the request-ID, rate-limit and balance headers, and the
// refusals (401, 429 with Retry-After, 402) in the demo's dialect with the
// request ID in the body. A router that loses a header, the request's
// context or the response writer's usage reading on the way fails it.
package demotest

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"strconv"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/tollgate/tollgate"
	apierrors "github.com/tollgate/tollgate/errors"
	"github.com/tollgate/tollgate/examples/internal/demo"
	"github.com/tollgate/tollgate/quota"
	"github.com/tollgate/tollgate/tollgatetest"
)

// Router builds the handler under test: the example's router with the demo
// stack mounted on it, serving POST /v1/chat/completions through every layer
// (RequestID, Recover, WithDialect(demo.Dialect), Auth, RateLimit, Quota)
// and GET /v1/me through all but Quota.
type Router func(d *demo.Demo) http.Handler

// Env is one test's world: a demo on a manual clock and the router built
// around it.
type Env struct {
	Demo   *demo.Demo
	Clock  *tollgatetest.Clock
	Router http.Handler
}

// NewEnv builds a demo with o on a fresh manual clock and the router around
// it. o.Clock is replaced.
func NewEnv(t testing.TB, build Router, o demo.Options) *Env {
	t.Helper()
	clock := tollgatetest.NewClock(tollgatetest.Epoch)
	o.Clock = clock
	d, err := demo.New(o)
	require.NoError(t, err)
	return &Env{Demo: d, Clock: clock, Router: build(d)}
}

// Do serves req through the router and returns the response.
func (e *Env) Do(req *http.Request) *http.Response {
	rec := httptest.NewRecorder()
	e.Router.ServeHTTP(rec, req)
	return rec.Result()
}

// Balance returns the demo account's settled balance.
func (e *Env) Balance(t testing.TB) int64 {
	t.Helper()
	b, err := e.Demo.Balance(context.Background())
	require.NoError(t, err)
	return b
}

// ChatBody is the request the suite sends: three prompt words, a reply cut
// to two, so the charge is Price.Request + 3 input and 2 output tokens.
var ChatBody = demo.ChatRequest{
	Model:     demo.Model,
	Messages:  []demo.Message{{Role: "user", Content: "hello tollgate world"}},
	MaxTokens: 2,
}

// ChatRequest returns a chat-completion request carrying key (none when
// empty) and body.
func ChatRequest(key string, body any) *http.Request {
	return tollgatetest.Request(http.MethodPost, "/v1/chat/completions", key, body)
}

// ChatCost is what ChatBody is charged once its usage is known.
func ChatCost(t testing.TB) int64 {
	t.Helper()
	c, err := demo.Price.Cost(tollgate.Usage{InputTokens: 3, OutputTokens: 2})
	require.NoError(t, err)
	return c
}

// ChatEstimate is what the quota layer holds for ChatBody before the
// handler runs: the flat price, the body's length over four bytes per input
// token (rounded up) and max_tokens of output.
func ChatEstimate(t testing.TB) int64 {
	t.Helper()
	raw, err := json.Marshal(ChatBody)
	require.NoError(t, err)
	c, err := demo.Price.Cost(tollgate.Usage{InputTokens: int64(len(raw)+3) / 4, OutputTokens: ChatBody.MaxTokens})
	require.NoError(t, err)
	return c
}

// AssertEnvelope checks that resp is an error envelope in the demo's
// dialect with status and code, whose body carries the request ID of the
// X-Request-ID header, and returns that ID.
func AssertEnvelope(t testing.TB, resp *http.Response, status int, code apierrors.Code) string {
	t.Helper()
	raw, err := io.ReadAll(resp.Body)
	require.NoError(t, err)
	resp.Body = io.NopCloser(bytes.NewReader(raw))
	tollgatetest.AssertError(t, resp, status, code)
	var env struct {
		Success *bool `json:"success"`
		Meta    struct {
			RequestID string `json:"request_id"`
		} `json:"meta"`
	}
	require.NoError(t, json.Unmarshal(raw, &env), "body %s", raw)
	if assert.NotNil(t, env.Success, "not a meta envelope: %s", raw) {
		assert.False(t, *env.Success)
	}
	id := resp.Header.Get(tollgate.DefaultRequestIDHeader)
	assert.NotEmpty(t, id, "X-Request-ID header")
	assert.Equal(t, id, env.Meta.RequestID, "request ID in the body: %s", raw)
	return id
}

// DecodeJSON decodes resp's JSON body into v.
func DecodeJSON(t testing.TB, resp *http.Response, v any) {
	t.Helper()
	require.NoError(t, json.NewDecoder(resp.Body).Decode(v))
}

// Run runs the whole suite against the router build makes.
func Run(t *testing.T, build Router) {
	t.Run("Success", func(t *testing.T) { t.Parallel(); testSuccess(t, build) })
	t.Run("IncomingRequestID", func(t *testing.T) { t.Parallel(); testIncomingRequestID(t, build) })
	t.Run("Identity", func(t *testing.T) { t.Parallel(); testIdentity(t, build) })
	t.Run("Unauthenticated", func(t *testing.T) { t.Parallel(); testUnauthenticated(t, build) })
	t.Run("RateLimited", func(t *testing.T) { t.Parallel(); testRateLimited(t, build) })
	t.Run("BalanceExhausted", func(t *testing.T) { t.Parallel(); testBalanceExhausted(t, build) })
	t.Run("RefusedByHandler", func(t *testing.T) { t.Parallel(); testRefusedByHandler(t, build) })
	t.Run("OverNetwork", func(t *testing.T) { t.Parallel(); testOverNetwork(t, build) })
}

func testSuccess(t *testing.T, build Router) {
	env := NewEnv(t, build, demo.Options{})
	resp := env.Do(ChatRequest(demo.Key, ChatBody))
	require.Equal(t, http.StatusOK, resp.StatusCode)

	id := resp.Header.Get("X-Request-ID")
	assert.True(t, tollgate.ValidRequestID(id), "X-Request-ID %q", id)
	assert.Equal(t, strconv.Itoa(demo.DefaultRequestsPerMinute), resp.Header.Get("X-RateLimit-Limit"))
	assert.Equal(t, strconv.Itoa(demo.DefaultRequestsPerMinute-1), resp.Header.Get("X-RateLimit-Remaining"))
	assert.NotEmpty(t, resp.Header.Get("X-RateLimit-Reset"))
	assert.Equal(t, quota.FormatDecimal(demo.DefaultBalance-ChatEstimate(t)), resp.Header.Get("X-Balance-Remaining"))

	var c demo.Completion
	DecodeJSON(t, resp, &c)
	assert.Equal(t, "chatcmpl-"+id, c.ID)
	assert.Equal(t, demo.Usage{PromptTokens: 3, CompletionTokens: 2, TotalTokens: 5}, c.Usage)
	require.Len(t, c.Choices, 1)
	assert.Equal(t, "hello tollgate", c.Choices[0].Message.Content)
	// The usage was read from the body as it went through the router's
	// writer, and charged once.
	assert.Equal(t, int64(demo.DefaultBalance)-ChatCost(t), env.Balance(t))
}

func testIncomingRequestID(t *testing.T, build Router) {
	env := NewEnv(t, build, demo.Options{})
	req := ChatRequest(demo.Key, ChatBody)
	req.Header.Set("X-Request-ID", "req_suite_42")
	resp := env.Do(req)
	require.Equal(t, http.StatusOK, resp.StatusCode)
	assert.Equal(t, "req_suite_42", resp.Header.Get("X-Request-ID"))
	var c demo.Completion
	DecodeJSON(t, resp, &c)
	assert.Equal(t, "chatcmpl-req_suite_42", c.ID)
}

func testIdentity(t *testing.T, build Router) {
	env := NewEnv(t, build, demo.Options{})
	resp := env.Do(tollgatetest.Request(http.MethodGet, "/v1/me", demo.Key, nil))
	require.Equal(t, http.StatusOK, resp.StatusCode)
	assert.NotEmpty(t, resp.Header.Get("X-RateLimit-Remaining"))
	assert.Empty(t, resp.Header.Get("X-Balance-Remaining"), "GET /v1/me is free: no quota layer")
	var got demo.Identity
	DecodeJSON(t, resp, &got)
	want := demo.Identity{KeyID: demo.KeyID, Account: demo.Account, Plan: demo.Plan, RequestID: resp.Header.Get("X-Request-ID")}
	assert.Equal(t, want, got)
}

func testUnauthenticated(t *testing.T, build Router) {
	tests := []struct {
		name string
		key  string
		code apierrors.Code
	}{
		{"missing key", "", apierrors.CodeMissingAPIKey},
		{"unknown key", "sk-not-a-demo-key", apierrors.CodeInvalidAPIKey},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			env := NewEnv(t, build, demo.Options{})
			for _, req := range []*http.Request{ChatRequest(tt.key, ChatBody), tollgatetest.Request(http.MethodGet, "/v1/me", tt.key, nil)} {
				resp := env.Do(req)
				AssertEnvelope(t, resp, http.StatusUnauthorized, tt.code)
				assert.Equal(t, "Bearer", resp.Header.Get("WWW-Authenticate"))
				assert.Empty(t, resp.Header.Get("X-RateLimit-Limit"), "refused before the rate limiter")
			}
			assert.Equal(t, int64(demo.DefaultBalance), env.Balance(t))
		})
	}
}
