package demotest

import (
	"net/http"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	apierrors "github.com/tollgate/tollgate/errors"
	"github.com/tollgate/tollgate/examples/internal/demo"
)

func testRateLimited(t *testing.T, build Router) {
	env := NewEnv(t, build, demo.Options{RequestsPerMinute: 2})
	for i := range 2 {
		resp := env.Do(ChatRequest(demo.Key, ChatBody))
		require.Equal(t, http.StatusOK, resp.StatusCode, "request %d", i)
	}

	resp := env.Do(ChatRequest(demo.Key, ChatBody))
	AssertEnvelope(t, resp, http.StatusTooManyRequests, apierrors.CodeRateLimitExceeded)
	// Two a minute: the next token comes 30 s after the burst was spent.
	assert.Equal(t, "30", resp.Header.Get("Retry-After"))
	assert.Equal(t, "2", resp.Header.Get("X-RateLimit-Limit"))
	assert.Equal(t, "0", resp.Header.Get("X-RateLimit-Remaining"))
	assert.Empty(t, resp.Header.Get("X-Balance-Remaining"), "refused before the quota layer")
	assert.Equal(t, demo.DefaultBalance-2*ChatCost(t), env.Balance(t), "a denied request costs nothing")

	env.Clock.Advance(29 * time.Second)
	resp = env.Do(ChatRequest(demo.Key, ChatBody))
	AssertEnvelope(t, resp, http.StatusTooManyRequests, apierrors.CodeRateLimitExceeded)
	assert.Equal(t, "1", resp.Header.Get("Retry-After"))

	env.Clock.Advance(time.Second)
	resp = env.Do(ChatRequest(demo.Key, ChatBody))
	assert.Equal(t, http.StatusOK, resp.StatusCode, "allowed again after Retry-After")
}

func testBalanceExhausted(t *testing.T, build Router) {
	// Enough for one request's estimate, not for a second once the first
	// has been charged.
	start := ChatEstimate(t) + ChatCost(t)/2
	env := NewEnv(t, build, demo.Options{Balance: start})

	resp := env.Do(ChatRequest(demo.Key, ChatBody))
	require.Equal(t, http.StatusOK, resp.StatusCode)
	require.Equal(t, start-ChatCost(t), env.Balance(t))

	resp = env.Do(ChatRequest(demo.Key, ChatBody))
	e := AssertEnvelope(t, resp, http.StatusPaymentRequired, apierrors.CodeInsufficientBalance)
	assert.NotEmpty(t, e)
	assert.NotEmpty(t, resp.Header.Get("X-RateLimit-Remaining"), "rate-limit headers on a refusal too")
	assert.Equal(t, start-ChatCost(t), env.Balance(t), "a refused request costs nothing")
}

func testRefusedByHandler(t *testing.T, build Router) {
	tests := []struct {
		name   string
		body   any
		status int
		code   apierrors.Code
	}{
		{"no messages, refused by the handler", demo.ChatRequest{Model: demo.Model}, http.StatusBadRequest, apierrors.CodeMissingRequiredField},
		{"stream, refused by the handler", demo.ChatRequest{Model: demo.Model, Messages: ChatBody.Messages, Stream: true}, http.StatusBadRequest, apierrors.CodeInvalidParams},
		{"unknown model, refused by the quota layer", demo.ChatRequest{Model: "gpt-unknown", Messages: ChatBody.Messages}, http.StatusNotFound, apierrors.CodeModelNotFound},
		{"no model, refused by the quota layer", `{"messages":[]}`, http.StatusBadRequest, apierrors.CodeMissingRequiredField},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			env := NewEnv(t, build, demo.Options{})
			req := ChatRequest(demo.Key, tt.body)
			req.Header.Set("Content-Type", "application/json")
			AssertEnvelope(t, env.Do(req), tt.status, tt.code)
			assert.Equal(t, int64(demo.DefaultBalance), env.Balance(t), "a failed request is not charged")
		})
	}
}
