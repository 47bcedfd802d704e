package main

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	apierrors "github.com/tollgate/tollgate/errors"
	"github.com/tollgate/tollgate/tollgatetest"
)

// upstream is a stand-in for an OpenAI-compatible provider: the behaviour
// is chosen by the request's last user message.
func upstream(t *testing.T, release <-chan struct{}) *httptest.Server {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if got := r.Header.Get("Authorization"); got != "Bearer sk-upstream" {
			t.Errorf("upstream saw Authorization %q", got)
		}
		if r.URL.Path != "/v1/chat/completions" {
			t.Errorf("upstream saw path %q", r.URL.Path)
		}
		body, _ := io.ReadAll(r.Body)
		switch {
		case strings.Contains(string(body), "ratelimited"):
			w.Header().Set("Retry-After", "7")
			w.Header().Set("Content-Type", "application/json")
			w.WriteHeader(429)
			fmt.Fprint(w, `{"type":"error","error":{"type":"rate_limit_error","message":"slow down"}}`)
		case strings.Contains(string(body), "broken"):
			w.WriteHeader(500)
			fmt.Fprint(w, `{"error":{"message":"db password is hunter2","type":"server_error","code":null}}`)
		case strings.Contains(string(body), "badrequest"):
			w.WriteHeader(400)
			fmt.Fprint(w, `{"error":{"message":"'tools' is not supported","type":"invalid_request_error","param":"tools","code":"invalid_request"}}`)
		case strings.Contains(string(body), "hang"):
			<-release
		case strings.Contains(string(body), `"stream":true`):
			w.Header().Set("Content-Type", "text/event-stream")
			for _, chunk := range []string{
				`{"choices":[{"delta":{"content":"hi"}}]}`,
				`{"choices":[],"usage":{"prompt_tokens":100,"completion_tokens":50,"total_tokens":150}}`,
				`[DONE]`,
			} {
				fmt.Fprintf(w, "data: %s\n\n", chunk)
				w.(http.Flusher).Flush()
			}
		default:
			w.Header().Set("Content-Type", "application/json")
			fmt.Fprint(w, `{"id":"x","choices":[{"message":{"content":"hi"}}],"usage":{"prompt_tokens":100,"completion_tokens":50,"total_tokens":150}}`)
		}
	}))
	t.Cleanup(srv.Close)
	return srv
}

// proxyHarness is a gateway proxying to upstreamURL. Its upstream timeout
// is generous: only the test of a hanging upstream, with a harness of its own,
// may time out, never a loaded machine's slow answer.
func proxyHarness(t *testing.T, upstreamURL string) *harness {
	return proxyHarnessTimeout(t, upstreamURL, 10*time.Second)
}

func proxyHarnessTimeout(t *testing.T, upstreamURL string, timeout time.Duration) *harness {
	return newHarness(t, func(c *Config) {
		c.Upstream, c.UpstreamKey = upstreamURL+"/v1", "sk-upstream"
		c.UpstreamTimeout = Duration(timeout)
	})
}

func TestProxyBillsTheUpstreamsUsage(t *testing.T) {
	up := upstream(t, nil)
	h := proxyHarness(t, up.URL)
	resp := h.post("/v1/chat/completions", demoKey, chatBody("fake-echo", "hello"))
	require.Equal(t, 200, resp.StatusCode)
	_, _ = io.ReadAll(resp.Body)
	// 100 × $2.50/M + 50 × $10/M, read from the upstream's usage.
	assert.Equal(t, int64(5_000_000-750), h.balance("acme"))

	resp = h.post("/v1/chat/completions", demoKey, chatBody("fake-echo", "hello", `"stream":true`))
	require.Equal(t, 200, resp.StatusCode)
	raw, _ := io.ReadAll(resp.Body)
	assert.Contains(t, string(raw), "data: [DONE]")
	assert.Equal(t, int64(5_000_000-1500), h.balance("acme"))
}

func TestProxyTranslatesUpstreamErrors(t *testing.T) {
	release := make(chan struct{})
	up := upstream(t, release)
	defer close(release)
	h := proxyHarness(t, up.URL)

	resp := h.post("/v1/chat/completions", demoKey, chatBody("fake-echo", "ratelimited"))
	e := tollgatetest.AssertError(t, resp, 429, apierrors.CodeUpstreamRateLimited)
	require.NotNil(t, e)
	assert.Equal(t, "7", resp.Header.Get("Retry-After"))

	resp = h.post("/v1/chat/completions", demoKey, chatBody("fake-echo", "broken"))
	e = tollgatetest.AssertError(t, resp, 500, apierrors.CodeProviderError)
	require.NotNil(t, e)
	assert.NotContains(t, e.Message, "hunter2")

	resp = h.post("/v1/chat/completions", demoKey, chatBody("fake-echo", "badrequest"))
	e = tollgatetest.AssertError(t, resp, 400, apierrors.CodeInvalidRequest)
	require.NotNil(t, e)
	assert.Equal(t, "'tools' is not supported", e.Message)
	assert.Equal(t, "tools", e.Param)

	assert.Equal(t, int64(5_000_000), h.balance("acme"), "failed upstream calls are refunded")

	// Its own gateway, with a short upstream timeout.
	hung := proxyHarnessTimeout(t, up.URL, 200*time.Millisecond)
	resp = hung.post("/v1/chat/completions", demoKey, chatBody("fake-echo", "hang"))
	tollgatetest.AssertError(t, resp, 524, apierrors.CodeProviderTimeout)
	assert.Equal(t, int64(5_000_000), hung.balance("acme"), "a timed-out upstream call is refunded")
}

func TestProxyUnreachableUpstream(t *testing.T) {
	dead := httptest.NewServer(http.NotFoundHandler())
	dead.Close()
	h := proxyHarness(t, dead.URL)
	resp := h.post("/v1/chat/completions", demoKey, chatBody("fake-echo", "hi"))
	tollgatetest.AssertError(t, resp, 502, apierrors.CodeNoProviderAvailable)
}

func TestProxyRejectsBadUpstreamURL(t *testing.T) {
	cfg, err := parseConfig(defaultConfig)
	require.NoError(t, err)
	for _, u := range []string{"ftp://x", "not a url", "http://"} {
		cfg.Upstream = u
		_, err := newProxy(cfg, nil)
		assert.Error(t, err, u)
	}
}

// The hold covers the model's max_output at most: a request asking for more
// is refused, and one asking for nothing reaches the upstream with that
// maximum, so no upstream default can outrun the hold.
func TestProxyCapsTheOutputTheHoldCovers(t *testing.T) {
	seen := make(chan string, 1)
	up := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		var body map[string]any
		_ = json.NewDecoder(r.Body).Decode(&body)
		seen <- fmt.Sprint(body["max_tokens"], " ", body["model"])
		w.Header().Set("Content-Type", "application/json")
		fmt.Fprint(w, `{"choices":[],"usage":{"prompt_tokens":1,"completion_tokens":1}}`)
	}))
	defer up.Close()
	h := proxyHarness(t, up.URL)

	resp := h.post("/v1/chat/completions", demoKey, chatBody("fake-echo", "hi", `"max_tokens":5000`))
	e := tollgatetest.AssertError(t, resp, 400, apierrors.CodeInvalidParams)
	require.NotNil(t, e)
	assert.Equal(t, "max_tokens", e.Param)

	resp = h.post("/v1/chat/completions", demoKey, chatBody("fake-echo", "hi"))
	require.Equal(t, 200, resp.StatusCode)
	assert.Equal(t, "4096 fake-echo", <-seen, "the model's max_output is sent upstream")

	resp = h.post("/v1/chat/completions", demoKey, chatBody("fake-echo", "hi", `"max_tokens":100`))
	require.Equal(t, 200, resp.StatusCode)
	assert.Equal(t, "100 fake-echo", <-seen, "a request's own maximum is kept")
}
