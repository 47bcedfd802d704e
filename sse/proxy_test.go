package sse

import (
	"io"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// openProxied serves upstream through an unmodified httputil.ReverseProxy
// wrapped in KeepAlive with CommitEarly, sends a request that asks for a
// stream, lets one keep-alive interval pass so that the middleware answers
// for the silent proxy, and returns the response. Everything is closed
// when the test ends.
func openProxied(t *testing.T, clock *stepClock, upstream http.Handler, opts ...Option) *http.Response {
	t.Helper()
	up := httptest.NewServer(upstream)
	t.Cleanup(up.Close)
	target, err := url.Parse(up.URL)
	require.NoError(t, err)
	proxy := &httputil.ReverseProxy{Rewrite: func(pr *httputil.ProxyRequest) { pr.SetURL(target) }}
	opts = append([]Option{WithClock(clock), CommitEarly(AcceptsEventStream)}, opts...)
	gateway := httptest.NewServer(MustKeepAlive(opts...)(proxy))
	t.Cleanup(gateway.Close)

	req, err := http.NewRequest(http.MethodPost, gateway.URL+"/v1/chat/completions", nil)
	require.NoError(t, err)
	req.Header.Set("Accept", "text/event-stream")
	responses := make(chan *http.Response, 1)
	go func() {
		resp, err := gateway.Client().Do(req)
		assert.NoError(t, err)
		responses <- resp
	}()
	require.Equal(t, DefaultKeepAliveInterval, clock.waitArmed(t))
	clock.Advance(DefaultKeepAliveInterval)
	resp := <-responses
	require.NotNil(t, resp)
	t.Cleanup(func() { _ = resp.Body.Close() })
	require.Equal(t, http.StatusOK, resp.StatusCode)
	require.Equal(t, "text/event-stream", resp.Header.Get("Content-Type"))
	return resp
}

// TestKeepAliveReverseProxy: an upstream slow to send its first byte and
// pausing between events, even inside one; the client receives the status
// and comments while the upstream is silent, and every event whole.
func TestKeepAliveReverseProxy(t *testing.T) {
	clock := newStepClock()
	step := make(chan string)
	upstream := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		next := func() string {
			select {
			case s := <-step:
				return s
			case <-r.Context().Done():
				return ""
			}
		}
		first := next() // the slow first byte
		w.Header().Set("Content-Type", "text/event-stream")
		w.WriteHeader(http.StatusOK)
		rc := http.NewResponseController(w)
		for s := first; s != ""; s = next() {
			_, _ = io.WriteString(w, s)
			_ = rc.Flush()
		}
	})
	resp := openProxied(t, clock, upstream, KeepAliveComment("ZENMUX PROCESSING"))
	body := newLines(t, resp.Body)
	body.expect(": ZENMUX PROCESSING\n", "\n")
	clock.waitArmed(t)

	step <- "data: {\"n\":1}\n\n"
	body.expect("data: {\"n\":1}\n", "\n")
	step <- "data: {\"n\":" // the upstream flushes half an event, then stalls
	half := make([]byte, len("data: {\"n\":"))
	_, err := io.ReadFull(body.br, half) // it has passed the middleware
	require.NoError(t, err)
	clock.Advance(10 * time.Second)
	assert.Equal(t, 10*time.Second, clock.waitArmed(t), "due, but the event is incomplete")
	step <- "2}\n\n"
	body.expect("2}\n", "\n")
	clock.Advance(10 * time.Second)
	body.expect(": ZENMUX PROCESSING\n", "\n")
	clock.waitArmed(t)
	step <- "data: [DONE]\n\n"
	body.expect("data: [DONE]\n", "\n")
	step <- ""
	assert.Empty(t, body.rest())
	assert.Zero(t, clock.Timers())
}

// TestKeepAliveReverseProxyUpstreamError: a proxied upstream error that
// arrives after the middleware committed reaches the client as an
// in-stream error event with the upstream's message.
func TestKeepAliveReverseProxyUpstreamError(t *testing.T) {
	clock := newStepClock()
	release := make(chan struct{})
	upstream := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		select {
		case <-release:
		case <-r.Context().Done():
			return
		}
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(http.StatusServiceUnavailable)
		_, _ = io.WriteString(w, `{"error":{"message":"All providers are busy","type":"server_error","code":"service_unavailable"}}`)
	})
	resp := openProxied(t, clock, upstream)
	body := newLines(t, resp.Body)
	body.expect(": keep-alive\n", "\n")
	close(release)
	events, comments := readAll(t, body.br)
	assert.Empty(t, comments)
	require.Len(t, events, 1)
	assert.Equal(t, "", events[0].Type, "the OpenAI dialect's error is a plain data event")
	assert.JSONEq(t, `{"error":{"message":"All providers are busy","type":"server_error","param":null,"code":"service_unavailable"}}`, events[0].Data)
}
