package sse

import (
	"context"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/http/httptrace"
	"net/textproto"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/tollgate/tollgate"
	apierrors "github.com/tollgate/tollgate/errors"
)

// scripted is a streaming handler a test drives: it starts an event stream,
// then writes and flushes each string it receives, acknowledging each, and
// returns when the channel is closed.
func scripted(cmds <-chan string, ack chan<- struct{}) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/event-stream")
		w.WriteHeader(http.StatusOK)
		rc := http.NewResponseController(w)
		_ = rc.Flush()
		for {
			select {
			case s, ok := <-cmds:
				if !ok {
					return
				}
				_, _ = io.WriteString(w, s)
				_ = rc.Flush()
				ack <- struct{}{}
			case <-r.Context().Done(): // the test failed and hung up
				return
			}
		}
	})
}

func TestKeepAliveStreams(t *testing.T) {
	clock := newStepClock()
	cmds, ack := make(chan string), make(chan struct{})
	mw := MustKeepAlive(WithClock(clock), KeepAliveComment("ZENMUX PROCESSING"))
	srv := httptest.NewServer(mw(scripted(cmds, ack)))
	defer srv.Close()

	resp, err := srv.Client().Get(srv.URL)
	require.NoError(t, err)
	defer resp.Body.Close()
	body := newLines(t, resp.Body)
	send := func(s string) { cmds <- s; <-ack }
	const ping = ": ZENMUX PROCESSING\n"

	require.Equal(t, DefaultKeepAliveInterval, clock.waitArmed(t), "armed once the stream is known")
	clock.Advance(10 * time.Second)
	body.expect(ping, "\n")
	assert.Equal(t, 10*time.Second, clock.waitArmed(t))

	send("data: a\n\n")
	body.expect("data: a\n", "\n")
	clock.Advance(10 * time.Second)
	body.expect(ping, "\n")
	clock.waitArmed(t)

	send("data: half an ev")
	clock.Advance(10 * time.Second)
	assert.Equal(t, 10*time.Second, clock.waitArmed(t), "due, but never inside an event")
	send("ent\r\n\r\n")
	body.expect("data: half an event\r\n", "\r\n")
	clock.Advance(10 * time.Second)
	body.expect(ping, "\n")
	clock.waitArmed(t)

	clock.Advance(3 * time.Second)
	send("data: b\n\n")
	body.expect("data: b\n", "\n")
	clock.Advance(7 * time.Second)
	assert.Equal(t, 3*time.Second, clock.waitArmed(t), "the handler's write reset the silence")
	clock.Advance(3 * time.Second)
	body.expect(ping, "\n")
	clock.waitArmed(t)

	close(cmds)
	assert.Empty(t, body.rest())
	assert.Zero(t, clock.Timers(), "the goroutine is gone when the middleware returns")
}

func TestKeepAlivePassesOtherResponses(t *testing.T) {
	tests := []struct {
		name   string
		ct     string
		status int
	}{
		{"json", "application/json", http.StatusOK},
		{"error event stream", "text/event-stream", http.StatusInternalServerError},
		{"sniffed", "", http.StatusOK},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			clock := newStepClock()
			h := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				if tt.ct != "" {
					w.Header().Set("Content-Type", tt.ct)
				}
				w.WriteHeader(tt.status)
				_, _ = io.WriteString(w, "data: x\n\n")
				clock.Advance(time.Minute)
				assert.Zero(t, clock.Timers(), "no keep-alive for this response")
				_, _ = io.WriteString(w, "more")
			})
			rec := httptest.NewRecorder()
			MustKeepAlive(WithClock(clock))(h).ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/", nil))
			assert.Equal(t, tt.status, rec.Code)
			assert.Equal(t, "data: x\n\nmore", rec.Body.String())
		})
	}
}

func TestKeepAliveResponseController(t *testing.T) {
	h := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		rc := http.NewResponseController(w)
		assert.NoError(t, rc.SetWriteDeadline(time.Now().Add(time.Minute)))
		assert.NoError(t, rc.SetReadDeadline(time.Now().Add(time.Minute)))
		assert.NoError(t, rc.EnableFullDuplex())
		w.Header().Set("Content-Type", "text/event-stream")
		_, _ = io.WriteString(w, "data: x\n\n")
		assert.NoError(t, rc.Flush())
		_, ok := w.(interface{ Unwrap() http.ResponseWriter })
		assert.True(t, ok)
	})
	mw := MustKeepAlive(CommitEarly(AcceptsEventStream))
	srv := httptest.NewServer(mw(h))
	defer srv.Close()
	resp, err := srv.Client().Get(srv.URL)
	require.NoError(t, err)
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	require.NoError(t, err)
	assert.Equal(t, "data: x\n\n", string(b))
}

func TestKeepAliveHijack(t *testing.T) {
	clock := newStepClock()
	h := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		conn, brw, err := http.NewResponseController(w).Hijack()
		if !assert.NoError(t, err) {
			return
		}
		defer conn.Close()
		clock.Advance(time.Minute) // the middleware must not write now
		_, _ = brw.WriteString("HTTP/1.1 200 OK\r\nContent-Length: 2\r\nConnection: close\r\n\r\nhi")
		_ = brw.Flush()
	})
	srv := httptest.NewServer(MustKeepAlive(WithClock(clock), CommitEarly(AcceptsEventStream))(h))
	defer srv.Close()
	req, err := http.NewRequest(http.MethodGet, srv.URL, nil)
	require.NoError(t, err)
	req.Header.Set("Accept", "text/event-stream")
	resp, err := srv.Client().Do(req)
	require.NoError(t, err)
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	require.NoError(t, err)
	assert.Equal(t, "hi", string(b))
}

func TestKeepAlivePanicInStream(t *testing.T) {
	clock := newStepClock()
	h := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		sw, err := NewWriter(w, r)
		if !assert.NoError(t, err) {
			return
		}
		assert.NoError(t, sw.Send(Event{Data: "first"}))
		panic("boom")
	})
	stack := tollgate.Chain(
		apierrors.Recover(apierrors.RecoverLogger(slog.New(slog.DiscardHandler))),
		MustKeepAlive(WithClock(clock)),
	)
	srv := httptest.NewServer(stack.Then(h))
	defer srv.Close()
	resp, err := srv.Client().Get(srv.URL)
	require.NoError(t, err)
	defer resp.Body.Close()
	events, _ := readAll(t, resp.Body)
	require.Len(t, events, 2)
	assert.Equal(t, "first", events[0].Data)
	assert.Contains(t, events[1].Data, "internal_error")
	assert.NotContains(t, events[1].Data, "boom")
	assert.Zero(t, clock.Timers(), "the goroutine stopped although the handler panicked")
}

func TestKeepAliveInformationalStatus(t *testing.T) {
	h := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Link", "</style.css>; rel=preload")
		w.WriteHeader(http.StatusEarlyHints)
		w.Header().Set("Content-Type", "text/event-stream")
		w.WriteHeader(http.StatusOK)
		_, _ = io.WriteString(w, "data: x\n\n")
	})
	srv := httptest.NewServer(MustKeepAlive(CommitEarly(AcceptsEventStream))(h))
	defer srv.Close()
	var hints []int
	trace := &httptrace.ClientTrace{Got1xxResponse: func(code int, _ textproto.MIMEHeader) error {
		hints = append(hints, code)
		return nil
	}}
	req, err := http.NewRequestWithContext(httptrace.WithClientTrace(context.Background(), trace), http.MethodGet, srv.URL, nil)
	require.NoError(t, err)
	req.Header.Set("Accept", "text/event-stream")
	resp, err := srv.Client().Do(req)
	require.NoError(t, err)
	defer resp.Body.Close()
	assert.Equal(t, []int{http.StatusEarlyHints}, hints, "1xx before the answer passes through")
	assert.Equal(t, "text/event-stream", resp.Header.Get("Content-Type"))
	events, _ := readAll(t, resp.Body)
	assert.Equal(t, []Event{{Data: "x"}}, events)
}

func TestKeepAliveStopsWhenClientLeaves(t *testing.T) {
	clock := newStepClock()
	rec := newRecorder()
	wrote := make(chan struct{})
	h := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/event-stream")
		_, _ = io.WriteString(w, "data: a\n\n")
		close(wrote)
		<-r.Context().Done()
	})
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	done := serveAsync(MustKeepAlive(WithClock(clock))(h), rec, httptest.NewRequest(http.MethodGet, "/", nil).WithContext(ctx))
	<-wrote
	clock.waitArmed(t)
	rec.failWrites(assert.AnError)
	clock.Advance(DefaultKeepAliveInterval) // the comment fails: the goroutine ends
	cancel()
	<-done
	assert.Zero(t, clock.Timers())
	assert.Equal(t, "data: a\n\n", rec.String())
}
