package main

import (
	"bufio"
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/tollgate/tollgate"
	apierrors "github.com/tollgate/tollgate/errors"
	"github.com/tollgate/tollgate/quota"
	"github.com/tollgate/tollgate/sse"
	"github.com/tollgate/tollgate/tollgatetest"
)

const (
	demoKey    = "sk-tollgate-demo-0000000000000000"
	trialKey   = "sk-tollgate-trial-000000000000000"
	brokeKey   = "sk-tollgate-broke-000000000000000"
	expiredKey = "sk-tollgate-expired-0000000000000"
)

// harness is a gateway on a test server, with the example config and, when
// clock is not nil, a manual clock.
type harness struct {
	t      *testing.T
	gw     *Gateway
	srv    *httptest.Server
	clock  *tollgatetest.Clock
	stores Stores
	logs   *strings.Builder
}

func newHarness(t *testing.T, edit func(*Config)) *harness {
	t.Helper()
	cfg, err := parseConfig(defaultConfig)
	require.NoError(t, err)
	if edit != nil {
		edit(cfg)
		require.NoError(t, cfg.validate())
	}
	h := &harness{t: t, clock: tollgatetest.NewClock(time.Time{}), logs: &strings.Builder{}}
	h.stores, err = memoryStores(h.clock, time.Hour)
	require.NoError(t, err)
	logger := slog.New(tollgate.LogHandler(slog.NewJSONHandler(&lockedWriter{b: h.logs}, nil)))
	h.gw, err = NewGateway(cfg, h.stores, h.clock, logger, NewMetrics())
	require.NoError(t, err)
	require.NoError(t, h.gw.Fund(context.Background()))
	h.srv = httptest.NewServer(h.gw)
	t.Cleanup(h.srv.Close)
	return h
}

func (h *harness) post(path, key, body string, header ...string) *http.Response {
	h.t.Helper()
	req, err := http.NewRequest(http.MethodPost, h.srv.URL+path, strings.NewReader(body))
	require.NoError(h.t, err)
	if key != "" {
		req.Header.Set("Authorization", "Bearer "+key)
	}
	for i := 0; i+1 < len(header); i += 2 {
		req.Header.Set(header[i], header[i+1])
	}
	resp, err := http.DefaultClient.Do(req)
	require.NoError(h.t, err)
	h.t.Cleanup(func() { resp.Body.Close() })
	return resp
}

// balance returns the account's balance once no request holds any of it.
// A client can have its whole response before the gateway settles: a
// streamed or proxied response is flushed as it is written, and the
// settlement runs after the handler returns. So the harness waits for the
// holds to close rather than reading the balance at once (which
// TestProxyBillsTheUpstreamsUsage did, and failed on a loaded machine).
func (h *harness) balance(account string) int64 {
	h.t.Helper()
	var f quota.Funds
	waitFor(h.t, func() bool {
		var err error
		f, err = h.stores.Ledger.Balance(context.Background(), account, h.clock.Now())
		require.NoError(h.t, err)
		return f.Holds == 0
	})
	return f.Balance
}

func chatBody(model, content string, extra ...string) string {
	b := `{"model":"` + model + `","messages":[{"role":"user","content":"` + content + `"}]`
	for _, e := range extra {
		b += "," + e
	}
	return b + "}"
}

func TestChatCompletionChargesTheRealUsage(t *testing.T) {
	h := newHarness(t, nil)
	resp := h.post("/v1/chat/completions", demoKey, chatBody("fake-echo", "hello there"))
	require.Equal(t, 200, resp.StatusCode)
	var out struct {
		Choices []struct {
			Message      struct{ Content string }
			FinishReason string `json:"finish_reason"`
		}
		Usage struct {
			PromptTokens     int64 `json:"prompt_tokens"`
			CompletionTokens int64 `json:"completion_tokens"`
		} `json:"usage"`
	}
	require.NoError(t, json.NewDecoder(resp.Body).Decode(&out))
	assert.Equal(t, "You said: hello there", out.Choices[0].Message.Content)
	assert.Equal(t, int64(9), out.Usage.PromptTokens)
	assert.Equal(t, int64(7), out.Usage.CompletionTokens)
	assert.NotEmpty(t, resp.Header.Get("X-Request-ID"))
	assert.Equal(t, "59", resp.Header.Get("X-RateLimit-Remaining"))
	assert.NotEmpty(t, resp.Header.Get("RateLimit-Policy"))
	assert.NotEmpty(t, resp.Header.Get("x-ratelimit-remaining-tokens"))
	// 9 × $2.50/M + 7 × $10/M = 92.5 micro-dollars, rounded up.
	assert.Equal(t, int64(5_000_000-93), h.balance("acme"))
	assert.Contains(t, h.logs.String(), `"cost_micro":93`)
	assert.NotContains(t, h.logs.String(), demoKey)
}

func TestValidationUsesTheSeedMessages(t *testing.T) {
	h := newHarness(t, nil)
	cases := []struct{ body, message string }{
		{`{"messages":[{"role":"user","content":"x"}]}`, "Parameter model is required"},
		{`{"model":"","messages":[{"role":"user","content":"x"}]}`, "Parameter model is required"},
		{`{"model":"fake-nope","messages":[{"role":"user","content":"x"}]}`, "Model fake-nope is not valid"},
		{`{"model":"fake-echo"}`, "Parameter messages is required"},
		{`{"model":"fake-echo","messages":null}`, "Parameter messages is required"},
		{`{"model":"fake-echo","messages":[]}`, "Parameter messages can not be empty"},
		{`{"model":"fake-echo","messages":[null]}`, "Parameter messages can not contain null elements"},
		{`{"model":"fake-echo","messages":[{"role":"user"}]}`, "Parameter messages can not contain elements without content"},
		{chatBody("fake-echo", "x", `"stream_options":{"include_usage":true}`), "Parameter stream_options is not supported while stream is false"},
		{chatBody("fake-echo", "x", `"n":2`), "Parameter n grater than 1 is not supported"},
		{chatBody("fake-echo", "x", `"temperature":-0.5`), "Parameter temperature is not valid"},
		{chatBody("fake-echo", "x", `"stream":true,"stream_options":{"include_usage":true},"usage":{"include":true}`), "Parameter stream_options.include_usage conflict with usage.include"},
		{chatBody("fake-echo", "x", `"include_reasoning":true,"reasoning":{"exclude":true}`), "Parameter include_reasoning conflict with reasoning.exclude"},
		{`{"model":"fake-echo","messages":"Hello"}`, "Parameter messages is not valid"},
		{`{"model":42,"messages":[]}`, "Parameter model is not valid"},
		{`{"model":"fake-echo","messages":[{"role":"user","content":"x"}],"n":"two"}`, "Parameter n is not valid"},
	}
	for _, tc := range cases {
		resp := h.post("/v1/chat/completions", demoKey, tc.body)
		e := tollgatetest.AssertError(t, resp, 400, apierrors.CodeInvalidParams)
		if assert.NotNil(t, e) {
			assert.Equal(t, tc.message, e.Message, tc.body)
		}
	}
	// Malformed JSON, deep nesting, invalid UTF-8 in a string: 400, never 500.
	for _, body := range []string{`{"model":`, strings.Repeat("[", 100000), "{\"model\":\"\xff\"}", "\x00", ""} {
		resp := h.post("/v1/chat/completions", demoKey, body)
		assert.Equal(t, 400, resp.StatusCode, "%q", body[:min(len(body), 20)])
	}
	resp := h.post("/v1/chat/completions", demoKey, `{"model":"fake-echo","messages":[{"role":"user","content":"`+strings.Repeat("x", maxBodyBytes)+`"}]}`)
	tollgatetest.AssertError(t, resp, 413, apierrors.CodeRequestTooLarge)
	assert.Equal(t, int64(5_000_000), h.balance("acme"), "refused requests cost nothing")
}

func TestRefusals(t *testing.T) {
	h := newHarness(t, nil)
	body := chatBody("fake-echo", "hi")
	tollgatetest.AssertError(t, h.post("/v1/chat/completions", "", body), 401, apierrors.CodeMissingAPIKey)
	tollgatetest.AssertError(t, h.post("/v1/chat/completions", "sk-unknown", body), 401, apierrors.CodeInvalidAPIKey)
	tollgatetest.AssertError(t, h.post("/v1/chat/completions", expiredKey, body), 401, apierrors.CodeExpiredAPIKey)
	tollgatetest.AssertError(t, h.post("/v1/chat/completions", trialKey, body), 403, apierrors.CodeModelNotAllowed)
	// OpenAI spells an insufficient balance insufficient_quota.
	resp := h.post("/v1/chat/completions", brokeKey, body)
	e := tollgatetest.AssertError(t, resp, 402, apierrors.CodeInsufficientQuota)
	require.NotNil(t, e)
	// The hold is the prompt plus the model's whole max_output at $10/M.
	assert.Equal(t, "Your balance ($0.0001) is insufficient for this task ($0.040978). Please add credits.", e.Message)
}

func TestRateLimitAndSubscriptionQuota(t *testing.T) {
	h := newHarness(t, nil)
	body := chatBody("fake-mini", "hi")
	for i := 0; i < 5; i++ {
		require.Equal(t, 200, h.post("/v1/chat/completions", trialKey, body).StatusCode, "request %d", i)
	}
	resp := h.post("/v1/chat/completions", trialKey, body)
	e := tollgatetest.AssertError(t, resp, 429, apierrors.CodeRateLimitExceeded)
	require.NotNil(t, e)
	assert.Equal(t, "12", resp.Header.Get("Retry-After"))
	assert.Equal(t, "0", resp.Header.Get("X-RateLimit-Remaining"))
	assert.Equal(t, 12*time.Second, e.RetryAfter)

	// The trial plan's 20 requests per 5 hours run out; the rate limit
	// refills as the clock moves.
	for i := 5; i < 20; i++ {
		h.clock.Advance(12 * time.Second)
		require.Equal(t, 200, h.post("/v1/chat/completions", trialKey, body).StatusCode, "request %d", i)
	}
	h.clock.Advance(12 * time.Second)
	resp = h.post("/v1/chat/completions", trialKey, body)
	e = tollgatetest.AssertError(t, resp, 402, apierrors.CodeQuotaExceeded)
	require.NotNil(t, e)
	assert.Positive(t, e.RetryAfter)
	assert.Equal(t, int64(0), h.balance("trial"), "a subscription never touches the balance")
}

func TestAnthropicRoute(t *testing.T) {
	h := newHarness(t, nil)
	resp := h.post("/v1/messages", "", `{}`)
	// Anthropic has one type for every key problem.
	e := tollgatetest.AssertError(t, resp, 401, apierrors.CodeAuthenticationError)
	require.NotNil(t, e)
	body, _ := json.Marshal(map[string]any{"model": "fake-echo", "messages": []any{}})
	resp = h.post("/v1/messages", demoKey, string(body))
	raw, _ := io.ReadAll(resp.Body)
	assert.Equal(t, 400, resp.StatusCode)
	assert.Contains(t, string(raw), `"type":"error"`)
	assert.Contains(t, string(raw), `"max_tokens: Field required"`)
	assert.Contains(t, string(raw), `"request_id":"`)

	resp = h.post("/v1/messages", "", `{"model":"fake-echo","max_tokens":50,"stream":true,"messages":[{"role":"user","content":"hi"}]}`, "X-Api-Key", demoKey)
	require.Equal(t, 200, resp.StatusCode)
	var names []string
	rd := sse.NewReader(resp.Body)
	for {
		ev, err := rd.Next()
		if err != nil {
			break
		}
		names = append(names, ev.Type)
	}
	assert.Equal(t, []string{"message_start", "content_block_start", "content_block_delta", "content_block_delta", "content_block_delta",
		"content_block_stop", "message_delta", "message_stop"}, names)
}

// A slow model gets keep-alive comments before its first byte, on the
// manual clock: the stream is committed after one interval.
func TestStreamKeepAliveWhileTheModelIsSlow(t *testing.T) {
	h := newHarness(t, nil)
	req, err := http.NewRequest(http.MethodPost, h.srv.URL+"/v1/chat/completions",
		strings.NewReader(chatBody("fake-echo", "slow one", `"stream":true,"stream_options":{"include_usage":true}`)))
	require.NoError(t, err)
	req.Header.Set("Authorization", "Bearer "+demoKey)
	req.Header.Set(HeaderFakeDelay, "25s")
	got := make(chan *http.Response, 1)
	go func() {
		resp, err := http.DefaultClient.Do(req)
		if err == nil {
			got <- resp
		}
	}()
	waitFor(t, func() bool { return h.clock.Timers() >= 2 }) // the keep-alive timer and the model's delay
	h.clock.Advance(10 * time.Second)
	resp := <-got
	defer resp.Body.Close()
	require.Equal(t, 200, resp.StatusCode)
	assert.Equal(t, "text/event-stream", resp.Header.Get("Content-Type"))
	br := bufio.NewReader(resp.Body)
	line, err := br.ReadString('\n')
	require.NoError(t, err)
	assert.Equal(t, ": PROCESSING\n", line)
	h.clock.Advance(20 * time.Second)

	var comments int
	rd := sse.NewReader(br, sse.OnComment(func(string) { comments++ }))
	var text strings.Builder
	var usage map[string]any
	for {
		ev, err := rd.Next()
		if err != nil {
			break
		}
		if ev.Data == "[DONE]" {
			break
		}
		var chunk map[string]any
		require.NoError(t, json.Unmarshal([]byte(ev.Data), &chunk))
		if u, ok := chunk["usage"].(map[string]any); ok {
			usage = u
		}
		for _, c := range chunk["choices"].([]any) {
			if s, ok := c.(map[string]any)["delta"].(map[string]any)["content"].(string); ok {
				text.WriteString(s)
			}
		}
	}
	assert.Equal(t, "You said: slow one", text.String())
	require.NotNil(t, usage)
	assert.EqualValues(t, 6, usage["completion_tokens"]) // "You " "said: " "slow " "one"
}

func TestMidStreamFailureIsAnInStreamError(t *testing.T) {
	h := newHarness(t, nil)
	resp := h.post("/v1/chat/completions", demoKey, chatBody("fake-echo", "a b c", `"stream":true`), HeaderFakeFail, "midstream")
	require.Equal(t, 200, resp.StatusCode)
	raw, _ := io.ReadAll(resp.Body)
	assert.Contains(t, string(raw), `data: {"error":{"message":"Upstream provider service error","type":"server_error","param":null,"code":"provider_error"}}`)
	// The client was sent some output: it pays for what it got, no more.
	assert.Less(t, h.balance("acme"), int64(5_000_000))
}

func TestUpstreamFailuresBeforeTheFirstByte(t *testing.T) {
	h := newHarness(t, func(c *Config) { c.Dialect = "zenmux" })
	for fail, want := range map[string]struct {
		status int
		code   apierrors.Code
	}{
		"error":       {500, apierrors.CodeProviderError},
		"unavailable": {502, apierrors.CodeNoProviderAvailable},
		"timeout":     {524, apierrors.CodeProviderTimeout},
	} {
		resp := h.post("/v1/chat/completions", demoKey, chatBody("fake-echo", "x"), HeaderFakeFail, fail)
		tollgatetest.AssertError(t, resp, want.status, want.code)
	}
	assert.Equal(t, int64(5_000_000), h.balance("acme"), "failed requests are refunded")
}

func TestModelsAndMetrics(t *testing.T) {
	h := newHarness(t, nil)
	req, _ := http.NewRequest(http.MethodGet, h.srv.URL+"/v1/models", nil)
	req.Header.Set("Authorization", "Bearer "+trialKey)
	resp, err := http.DefaultClient.Do(req)
	require.NoError(t, err)
	raw, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	assert.JSONEq(t, `{"object":"list","data":[{"id":"fake-free","object":"model","created":0,"owned_by":"tollgate"},{"id":"fake-mini","object":"model","created":0,"owned_by":"tollgate"}]}`, string(raw))

	h.post("/v1/chat/completions", demoKey, chatBody("fake-echo", "x"))
	h.post("/v1/chat/completions", "", chatBody("fake-echo", "x"))
	resp, err = http.Get(h.srv.URL + "/metrics")
	require.NoError(t, err)
	raw, _ = io.ReadAll(resp.Body)
	resp.Body.Close()
	for _, want := range []string{
		`tollgate_requests_total{code="200",route="/v1/chat/completions"} 1`,
		`tollgate_decisions_total{layer="auth",reason="missing_api_key"} 1`,
		`tollgate_charges_total{basis="reported"} 1`,
		`tollgate_charged_microunits_total 58`, // 7 × $2.50/M + 4 × $10/M, rounded up
		`tollgate_request_duration_seconds_bucket`,
	} {
		assert.Contains(t, string(raw), want)
	}
}

// lockedWriter serialises log writes from concurrent requests.
type lockedWriter struct {
	mu chan struct{}
	b  *strings.Builder
}

func (w *lockedWriter) Write(p []byte) (int, error) {
	if w.mu == nil {
		w.mu = make(chan struct{}, 1)
	}
	w.mu <- struct{}{}
	defer func() { <-w.mu }()
	return w.b.Write(p)
}

func waitFor(t *testing.T, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatal("condition not reached in 5s")
		}
		time.Sleep(time.Millisecond)
	}
}
