package main

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"runtime"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.uber.org/goleak"

	"github.com/tollgate/tollgate"
	apierrors "github.com/tollgate/tollgate/errors"
	"github.com/tollgate/tollgate/quota"
	"github.com/tollgate/tollgate/sse"
	"github.com/tollgate/tollgate/tollgatetest"
)

// liveRig serves a rig on a real loopback listener, so that clients can
// disconnect and handlers can abort connections, and reports on done each
// time the gateway's handler has returned (settlement included).
type liveRig struct {
	*rig
	srv  *httptest.Server
	done chan struct{}
}

func newLiveRig(t *testing.T, edit func(*Config)) *liveRig {
	t.Helper()
	// Registered first, so it runs last: after the server has closed.
	// The snapshot is taken now: taken inside the cleanup, it would ignore
	// the very goroutines the test leaves behind.
	before := goleak.IgnoreCurrent()
	t.Cleanup(func() { goleak.VerifyNone(t, before) })
	lr := &liveRig{rig: newRig(t, edit), done: make(chan struct{}, 16)}
	lr.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		defer func() { lr.done <- struct{}{} }()
		lr.handler.ServeHTTP(w, r)
	}))
	t.Cleanup(func() {
		lr.srv.Close()
		http.DefaultClient.CloseIdleConnections()
	})
	return lr
}

// stream starts a streaming chat request and returns its response once the
// headers are in.
func (lr *liveRig) stream(ctx context.Context, key string) *http.Response {
	lr.t.Helper()
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, lr.srv.URL+"/v1/chat/completions",
		strings.NewReader(chatBody("fake-echo", "tell me a long story", `"stream":true`)))
	require.NoError(lr.t, err)
	req.Header.Set("Authorization", "Bearer "+key)
	resp, err := http.DefaultClient.Do(req)
	require.NoError(lr.t, err)
	return resp
}

// upstreamChunks writes n chunks of an OpenAI stream, reporting the usage
// so far after each, as a handler that counts its own tokens does.
func upstreamChunks(w http.ResponseWriter, r *http.Request, n int) error {
	w.Header().Set("Content-Type", "text/event-stream")
	for i := range n {
		if _, err := fmt.Fprintf(w, "data: {\"choices\":[{\"delta\":{\"content\":\"word%d \"}}]}\n\n", i); err != nil {
			return err
		}
		if err := http.NewResponseController(w).Flush(); err != nil {
			return err
		}
		quota.Report(r.Context(), tollgate.Usage{InputTokens: 10, OutputTokens: int64(i+1) * 100})
	}
	return nil
}

// TestClientDisconnectMidStream checks that a client that leaves in the
// middle of a stream is charged for what it was sent, exactly once, that
// the handler learns it left, and that nothing is left held or running.
func TestClientDisconnectMidStream(t *testing.T) {
	lr := newLiveRig(t, nil)
	sent, handlerSawCancel := make(chan struct{}), make(chan error, 1)
	lr.gw.proxy = http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if err := upstreamChunks(w, r, 3); err != nil {
			handlerSawCancel <- err
			return
		}
		close(sent)
		<-r.Context().Done() // the client leaves
		handlerSawCancel <- r.Context().Err()
	})
	ctx, cancel := context.WithCancel(context.Background())
	resp := lr.stream(ctx, demoKey)
	require.Equal(t, http.StatusOK, resp.StatusCode)
	<-sent
	ev, err := sse.NewReader(resp.Body).Next()
	require.NoError(t, err)
	assert.Contains(t, ev.Data, "word0")
	cancel()
	resp.Body.Close()
	<-lr.done
	assert.ErrorIs(t, <-handlerSawCancel, context.Canceled)

	lr.checkBooks()
	_, charged := lr.audit.books("acme")
	// 10 input tokens at $2.50/M and 300 output tokens at $10/M.
	assert.Equal(t, int64(25+3000), charged, "charged for the three chunks it was sent")
	assert.Equal(t, 1, lr.audit.settles, "settled once")
}

// TestClientDisconnectBeforeTheFirstByte checks a client that gives up
// while the model is still thinking: nothing is charged and the hold goes.
func TestClientDisconnectBeforeTheFirstByte(t *testing.T) {
	lr := newLiveRig(t, nil)
	req, err := http.NewRequest(http.MethodPost, lr.srv.URL+"/v1/chat/completions", strings.NewReader(chatBody("fake-echo", "hi")))
	require.NoError(t, err)
	ctx, cancel := context.WithCancel(context.Background())
	req = req.WithContext(ctx)
	req.Header.Set("Authorization", "Bearer "+demoKey)
	req.Header.Set(HeaderFakeDelay, "1m") // on the manual clock: until the client leaves
	failed := make(chan error, 1)
	go func() {
		resp, err := http.DefaultClient.Do(req)
		if err == nil {
			resp.Body.Close()
		}
		failed <- err
	}()
	for lr.clock.Timers() < 1 { // the model's delay has started
		select {
		case err := <-failed:
			t.Fatalf("the request ended early: %v", err)
		default:
			runtime.Gosched()
		}
	}
	cancel()
	assert.ErrorIs(t, <-failed, context.Canceled)
	<-lr.done
	lr.checkBooks()
	_, charged := lr.audit.books("acme")
	assert.Zero(t, charged)
}

// TestHandlerPanicsMidStream checks that a handler that panics after its
// stream began gives the client an in-stream error event, is charged for
// what it reported, releases its hold and its concurrency lease, and keeps
// the server serving.
func TestHandlerPanicsMidStream(t *testing.T) {
	lr := newLiveRig(t, nil)
	lr.gw.proxy = http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_ = upstreamChunks(w, r, 2)
		panic("the model adapter dereferenced nil")
	})
	// More panics than the pro plan's concurrency of 4: a lease left
	// behind by any of them would refuse the last requests.
	for i := range 6 {
		resp := lr.stream(context.Background(), demoKey)
		require.Equal(t, http.StatusOK, resp.StatusCode, "request %d", i)
		body, err := io.ReadAll(resp.Body)
		resp.Body.Close()
		require.NoError(t, err)
		<-lr.done
		assert.Contains(t, string(body), "word1", "request %d", i)
		assert.Contains(t, string(body), `"code":"internal_error"`, "request %d: an in-stream error event", i)
		assert.NotContains(t, string(body), "dereferenced nil", "the panic stays in the logs")
		lr.clock.Advance(2e9) // the rate limit refills
	}
	lr.checkBooks()
	_, charged := lr.audit.books("acme")
	assert.Equal(t, int64(6*(25+2000)), charged, "each charged for the two chunks reported")
	assert.Equal(t, 6, strings.Count(lr.logs.String(), "dereferenced nil"), "every panic is logged")
}

// TestHandlerPanicsMidJSON checks a panic after a plain JSON response
// began: the connection is aborted, so the client sees a truncated body
// rather than one that looks complete, and the books still balance.
func TestHandlerPanicsMidJSON(t *testing.T) {
	lr := newLiveRig(t, nil)
	lr.gw.proxy = http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		quota.Report(r.Context(), tollgate.Usage{InputTokens: 10, OutputTokens: 10})
		_, _ = io.WriteString(w, `{"choices":[{"message":{"content":"par`)
		_ = http.NewResponseController(w).Flush()
		panic("encoder crashed")
	})
	req, err := http.NewRequest(http.MethodPost, lr.srv.URL+"/v1/chat/completions", strings.NewReader(chatBody("fake-echo", "x")))
	require.NoError(t, err)
	req.Header.Set("Authorization", "Bearer "+demoKey)
	resp, err := http.DefaultClient.Do(req)
	require.NoError(t, err)
	_, err = io.ReadAll(resp.Body)
	resp.Body.Close()
	assert.Error(t, err, "the body is cut, not completed")
	<-lr.done
	lr.checkBooks()
	_, charged := lr.audit.books("acme")
	assert.Equal(t, int64(25+100), charged, "charged for what was reported")
}

// TestUpstreamDiesMidStream puts the real reverse proxy in front of an
// upstream that drops its connection in the middle of a stream: the
// client's stream ends, the usage seen so far is charged, and nothing is
// left held or running.
func TestUpstreamDiesMidStream(t *testing.T) {
	up := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, _ = io.Copy(io.Discard, r.Body)
		w.Header().Set("Content-Type", "text/event-stream")
		_, _ = io.WriteString(w, "data: {\"choices\":[{\"delta\":{\"content\":\"hi\"}}]}\n\n"+
			"data: {\"choices\":[],\"usage\":{\"prompt_tokens\":10,\"completion_tokens\":200,\"total_tokens\":210}}\n\n")
		_ = http.NewResponseController(w).Flush()
		conn, _, err := http.NewResponseController(w).Hijack()
		if err == nil {
			_ = conn.Close() // the upstream dies
		}
	}))
	t.Cleanup(up.Close)
	lr := newLiveRig(t, func(c *Config) { c.Upstream = up.URL + "/v1"; c.UpstreamKey = "sk-upstream" })
	resp := lr.stream(context.Background(), demoKey)
	require.Equal(t, http.StatusOK, resp.StatusCode)
	body, err := io.ReadAll(bufio.NewReader(resp.Body))
	resp.Body.Close()
	<-lr.done
	assert.Contains(t, string(body), `"completion_tokens":200`)
	if err != nil {
		var ne net.Error
		assert.True(t, errors.Is(err, io.ErrUnexpectedEOF) || errors.As(err, &ne), "a cut stream: %v", err)
	}
	lr.checkBooks()
	_, charged := lr.audit.books("acme")
	assert.Equal(t, int64(25+2000), charged, "the usage the upstream sent before it died")
}

// TestStoreFailuresFailClosed checks each store failing in turn: a 503
// envelope that names no store internals, and no hold left.
func TestStoreFailuresFailClosed(t *testing.T) {
	rg := newRig(t, nil)
	for _, fault := range []string{faultLimits, faultLeases, faultLedger} {
		r := tollgatetest.Request(http.MethodPost, "/v1/chat/completions", demoKey, chatBody("fake-echo", "x"))
		r.Header.Set(headerTestFault, fault)
		rec, aborted := rg.serve(r)
		require.False(t, aborted)
		e := tollgatetest.AssertRecorderError(t, rec, http.StatusServiceUnavailable, apierrors.CodeServiceUnavailable)
		if assert.NotNil(t, e, fault) {
			assert.NotContains(t, e.Message, "connection reset", fault)
		}
	}
	r := tollgatetest.Request(http.MethodPost, "/v1/chat/completions", demoKey, chatBody("fake-echo", "x"))
	r.Header.Set(headerTestFault, faultLedgerPanic)
	rec, _ := rg.serve(r)
	tollgatetest.AssertRecorderError(t, rec, http.StatusInternalServerError, apierrors.CodeInternalError)
	rg.checkBooks()
	assert.Equal(t, 4, strings.Count(rg.logs.String(), "injected"), "each failure is logged once")
}
