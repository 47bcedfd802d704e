package demotest

import (
	"bytes"
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/tollgate/tollgate/examples/internal/demo"
)

// testOverNetwork sends a chat completion and a refusal through a real
// server, so the router's writer is net/http's, not a recorder.
func testOverNetwork(t *testing.T, build Router) {
	env := NewEnv(t, build, demo.Options{})
	srv := httptest.NewServer(env.Router)
	defer srv.Close()

	post := func(key string) *http.Response {
		req := ChatRequest(key, ChatBody)
		out, err := http.NewRequestWithContext(context.Background(), req.Method, srv.URL+req.URL.Path, req.Body)
		require.NoError(t, err)
		out.Header = req.Header
		resp, err := srv.Client().Do(out)
		require.NoError(t, err)
		t.Cleanup(func() { _ = resp.Body.Close() })
		return resp
	}

	resp := post(demo.Key)
	require.Equal(t, http.StatusOK, resp.StatusCode)
	assert.True(t, strings.HasPrefix(resp.Header.Get("Content-Type"), "application/json"))
	assert.NotEmpty(t, resp.Header.Get("X-RateLimit-Remaining"))
	assert.NotEmpty(t, resp.Header.Get("X-Balance-Remaining"))
	var c demo.Completion
	DecodeJSON(t, resp, &c)
	assert.Equal(t, "chatcmpl-"+resp.Header.Get("X-Request-ID"), c.ID)
	srv.Close() // waits for the handlers, and so for the settlement
	assert.Equal(t, int64(demo.DefaultBalance)-ChatCost(t), env.Balance(t))
}

// Benchmark measures one paid chat completion through the router and the
// whole stack, served to a recorder; the recorder and the request are part
// of the cost.
func Benchmark(b *testing.B, build Router) {
	env := NewEnv(b, build, demo.Options{RequestsPerMinute: 60_000_000, Balance: 1 << 60})
	raw, err := json.Marshal(ChatBody)
	require.NoError(b, err)
	b.ReportAllocs()
	for b.Loop() {
		req := httptest.NewRequest(http.MethodPost, "/v1/chat/completions", bytes.NewReader(raw))
		req.Header.Set("Content-Type", "application/json")
		req.Header.Set("Authorization", "Bearer "+demo.Key)
		rec := httptest.NewRecorder()
		env.Router.ServeHTTP(rec, req)
		if rec.Code != http.StatusOK {
			b.Fatalf("status %d: %s", rec.Code, rec.Body)
		}
	}
}
