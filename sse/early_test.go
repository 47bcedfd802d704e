package sse

import (
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/tollgate/tollgate"
	apierrors "github.com/tollgate/tollgate/errors"
)

// earlyCase drives a handler below KeepAlive with CommitEarly that stays
// silent until released, then answers with answer.
type earlyCase struct {
	name   string
	answer func(w http.ResponseWriter)
	check  func(t *testing.T, body *lines)
}

func TestKeepAliveCommitEarly(t *testing.T) {
	tests := []earlyCase{
		{"a slow stream is passed on", func(w http.ResponseWriter) {
			w.Header().Set("Content-Type", "text/event-stream; charset=utf-8")
			w.Header().Set("X-Upstream", "lost")
			w.WriteHeader(http.StatusOK)
			_, _ = io.WriteString(w, "event: message_start\ndata: {}\n\n")
		}, func(t *testing.T, body *lines) {
			body.expect("event: message_start\n", "data: {}\n", "\n")
		}},
		{"a late error becomes the dialect's error event", func(w http.ResponseWriter) {
			w.Header().Set("Content-Type", "application/json")
			w.WriteHeader(http.StatusTooManyRequests)
			_, _ = io.WriteString(w, `{"error":{"message":"Slow down","type":"rate_limit_error","code":"rate_limit_exceeded"}}`)
		}, func(t *testing.T, body *lines) {
			events, _ := readAll(t, body.br)
			require.Len(t, events, 1)
			assert.Equal(t, "error", events[0].Type)
			assert.Contains(t, events[0].Data, `"rate_limit_error"`)
			assert.Contains(t, events[0].Data, `"Slow down"`)
		}},
		{"a late non-stream success is a bad gateway", func(w http.ResponseWriter) {
			w.Header().Set("Content-Type", "application/json")
			_, _ = io.WriteString(w, `{"choices":[]}`)
		}, func(t *testing.T, body *lines) {
			events, _ := readAll(t, body.br)
			require.Len(t, events, 1)
			assert.Equal(t, "error", events[0].Type)
			assert.Contains(t, events[0].Data, "not an event stream")
			assert.NotContains(t, events[0].Data, "choices")
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) { runEarly(t, tt) })
	}
}

func runEarly(t *testing.T, tt earlyCase) {
	clock := newStepClock()
	release := make(chan struct{})
	h := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		<-release
		tt.answer(w)
	})
	stack := tollgate.Chain(
		apierrors.WithDialect(apierrors.Anthropic),
		MustKeepAlive(WithClock(clock), CommitEarly(AcceptsEventStream), KeepAliveComment("ZENMUX PROCESSING")),
	)
	srv := httptest.NewServer(stack.Then(h))
	defer srv.Close()

	req, err := http.NewRequest(http.MethodPost, srv.URL, nil)
	require.NoError(t, err)
	req.Header.Set("Accept", "text/event-stream")
	responses := make(chan *http.Response, 1)
	go func() {
		resp, err := srv.Client().Do(req)
		assert.NoError(t, err)
		responses <- resp
	}()

	require.Equal(t, 10*time.Second, clock.waitArmed(t), "armed as the request comes in")
	clock.Advance(10 * time.Second)
	resp := <-responses
	require.NotNil(t, resp)
	defer resp.Body.Close()
	assert.Equal(t, http.StatusOK, resp.StatusCode)
	assert.Equal(t, "text/event-stream", resp.Header.Get("Content-Type"))
	assert.Equal(t, "no-cache", resp.Header.Get("Cache-Control"))
	assert.Equal(t, "no", resp.Header.Get("X-Accel-Buffering"))
	assert.Empty(t, resp.Header.Get("X-Upstream"))
	body := newLines(t, resp.Body)
	body.expect(": ZENMUX PROCESSING\n", "\n")
	clock.waitArmed(t)
	clock.Advance(10 * time.Second)
	body.expect(": ZENMUX PROCESSING\n", "\n")
	clock.waitArmed(t)

	close(release)
	tt.check(t, body)
	assert.Empty(t, body.rest())
	assert.Zero(t, clock.Timers())
}

func TestKeepAliveCommitEarlyFastAnswer(t *testing.T) {
	clock := newStepClock()
	h := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		w.Header().Set("Retry-After", "3")
		w.WriteHeader(http.StatusTooManyRequests)
		_, _ = io.WriteString(w, `{"error":{}}`)
	})
	mw := MustKeepAlive(WithClock(clock), CommitEarly(func(*http.Request) bool { return true }))
	rec := httptest.NewRecorder()
	rec.Header().Set("X-Request-Id", "outer")
	mw(h).ServeHTTP(rec, httptest.NewRequest(http.MethodPost, "/", nil))

	assert.Equal(t, http.StatusTooManyRequests, rec.Code, "an answer before the interval keeps its status")
	assert.Equal(t, "application/json", rec.Header().Get("Content-Type"))
	assert.Equal(t, "3", rec.Header().Get("Retry-After"))
	assert.Equal(t, "outer", rec.Header().Get("X-Request-Id"), "headers set outside are kept")
	assert.Equal(t, `{"error":{}}`, rec.Body.String())
	assert.Zero(t, clock.Timers())
}

// serveAsync runs h in the background and returns a channel closed when
// it has returned.
func serveAsync(h http.Handler, w http.ResponseWriter, r *http.Request) <-chan struct{} {
	done := make(chan struct{})
	go func() {
		defer close(done)
		h.ServeHTTP(w, r)
	}()
	return done
}

func TestKeepAliveCommittedThenSilent(t *testing.T) {
	tests := []struct {
		name   string
		answer func(w http.ResponseWriter)
		want   string
	}{
		{"the handler returns without a word", func(http.ResponseWriter) {}, ": keep-alive\n\n"},
		{"informational status and flush", func(w http.ResponseWriter) {
			w.WriteHeader(http.StatusEarlyHints) // too late to send: dropped
			w.Header().Set("Content-Type", "text/event-stream")
			w.(http.Flusher).Flush()
			_, _ = io.WriteString(w, "data: y\n\n")
		}, ": keep-alive\n\ndata: y\n\n"},
		{"a late failure is not flushed early", func(w http.ResponseWriter) {
			w.WriteHeader(http.StatusBadGateway)
			w.(http.Flusher).Flush()
			_, _ = io.WriteString(w, "upstream down")
		}, ": keep-alive\n\ndata: {\"error\":{\"message\":\"upstream down\""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			clock := newStepClock()
			release := make(chan struct{})
			h := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				<-release
				tt.answer(w)
			})
			rec := newRecorder()
			mw := MustKeepAlive(WithClock(clock), CommitEarly(func(*http.Request) bool { return true }))
			done := serveAsync(mw(h), rec, httptest.NewRequest(http.MethodGet, "/", nil))
			clock.waitArmed(t)
			clock.Advance(DefaultKeepAliveInterval)
			clock.waitArmed(t)
			close(release)
			<-done
			assert.Equal(t, http.StatusOK, rec.status)
			assert.True(t, strings.HasPrefix(rec.String(), tt.want), "body %q", rec.String())
			assert.Zero(t, clock.Timers())
		})
	}
}

func TestKeepAliveFastAnswerDropsHeaders(t *testing.T) {
	h := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Del("X-Outer")
		w.WriteHeader(http.StatusNoContent)
	})
	rec := httptest.NewRecorder()
	rec.Header().Set("X-Outer", "set outside")
	MustKeepAlive(CommitEarly(func(*http.Request) bool { return true }))(h).ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/", nil))
	assert.Equal(t, http.StatusNoContent, rec.Code)
	assert.Empty(t, rec.Header().Values("X-Outer"), "the handler's deletion reaches the response")
}
