package sse

import (
	"context"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestWriterKeepAlive(t *testing.T) {
	clock := newStepClock()
	rec := newRecorder()
	streams := MustStreams(KeepAliveInterval(10*time.Second), KeepAliveComment("ZENMUX PROCESSING"), WithClock(clock))
	sw, err := streams.Writer(rec, httptest.NewRequest(http.MethodGet, "/", nil))
	require.NoError(t, err)
	require.Equal(t, 10*time.Second, clock.waitArmed(t), "armed when the writer starts")

	const ping = ": ZENMUX PROCESSING\n\n"
	steps := []struct {
		name    string
		advance time.Duration
		send    string // an event sent after advancing, before the tick is awaited
		rearm   time.Duration
		body    string // what the client has received in total
	}{
		{"silent for an interval: a comment", 10 * time.Second, "", 10 * time.Second, ping},
		{"silent again: another", 10 * time.Second, "", 10 * time.Second, ping + ping},
		{"an event resets the silence", 5 * time.Second, "a", 0, ping + ping + "data: a\n\n"},
		{"5 s after the event: no comment, wait 5 s more", 5 * time.Second, "", 5 * time.Second, ping + ping + "data: a\n\n"},
		{"10 s after the event: a comment", 5 * time.Second, "", 10 * time.Second, ping + ping + "data: a\n\n" + ping},
	}
	for _, s := range steps {
		clock.Advance(s.advance)
		if s.send != "" {
			require.NoError(t, sw.Send(Event{Data: s.send}))
		}
		if s.rearm != 0 {
			assert.Equal(t, s.rearm, clock.waitArmed(t), s.name)
		}
		assert.Equal(t, s.body, rec.String(), s.name)
	}

	require.NoError(t, sw.Close())
	assert.Zero(t, clock.Timers(), "Close stops the timer")
	clock.Advance(time.Hour)
	assert.Equal(t, ping+ping+"data: a\n\n"+ping, rec.String(), "nothing after Close")
	assert.NoError(t, sw.Close(), "Close twice is harmless")
}

func TestWriterKeepAliveEndsWithRequest(t *testing.T) {
	clock := newStepClock()
	ctx, cancel := context.WithCancel(context.Background())
	r := httptest.NewRequest(http.MethodGet, "/", nil).WithContext(ctx)
	rec := newRecorder()
	sw, err := MustStreams(KeepAliveInterval(time.Second), WithClock(clock)).Writer(rec, r)
	require.NoError(t, err)
	clock.waitArmed(t)

	cancel()
	select {
	case <-sw.ka.done:
	case <-time.After(10 * time.Second):
		t.Fatal("the keep-alive goroutine outlived the request")
	}
	clock.Advance(time.Minute)
	assert.Empty(t, rec.String())
	assert.NoError(t, sw.Close())
}

func TestWriterKeepAliveStopsOnWriteError(t *testing.T) {
	clock := newStepClock()
	rec := newRecorder()
	sw, err := MustStreams(KeepAliveInterval(time.Second), WithClock(clock)).Writer(rec, httptest.NewRequest(http.MethodGet, "/", nil))
	require.NoError(t, err)
	clock.waitArmed(t)
	rec.failWrites(assert.AnError)
	clock.Advance(time.Second)
	select {
	case <-sw.ka.done:
	case <-time.After(10 * time.Second):
		t.Fatal("the keep-alive goroutine kept going after a failed write")
	}
	assert.ErrorIs(t, sw.Send(Event{}), assert.AnError)
	assert.NoError(t, sw.Close())
}

func TestWriterKeepAliveStopsAtDone(t *testing.T) {
	clock := newStepClock()
	rec := newRecorder()
	sw, err := MustStreams(KeepAliveInterval(time.Second), WithClock(clock)).Writer(rec, httptest.NewRequest(http.MethodGet, "/", nil))
	require.NoError(t, err)
	clock.waitArmed(t)
	require.NoError(t, sw.Done())
	assert.Zero(t, clock.Timers())
	clock.Advance(time.Minute)
	assert.Equal(t, "data: [DONE]\n\n", rec.String())
}

// TestWriterSlowFirstByte is the gateway's common case over real HTTP: the
// handler starts the stream at once, then waits for its upstream's first
// chunk; the client receives the status and keep-alive comments meanwhile.
func TestWriterSlowFirstByte(t *testing.T) {
	clock := newStepClock()
	streams := MustStreams(KeepAliveInterval(10*time.Second), KeepAliveComment("ZENMUX PROCESSING"), WithClock(clock))
	upstream := make(chan string)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		sw, err := streams.Writer(w, r)
		if !assert.NoError(t, err) {
			return
		}
		defer sw.Close()
		for chunk := range upstream {
			assert.NoError(t, sw.SendJSON("", map[string]string{"content": chunk}))
		}
		assert.NoError(t, sw.Done())
	}))
	defer srv.Close()

	resp, err := srv.Client().Get(srv.URL)
	require.NoError(t, err)
	defer resp.Body.Close()
	require.Equal(t, http.StatusOK, resp.StatusCode, "the status arrives before the first upstream byte")
	assert.Equal(t, "text/event-stream", resp.Header.Get("Content-Type"))
	body := newLines(t, resp.Body)

	clock.waitArmed(t)
	for range 2 {
		clock.Advance(10 * time.Second)
		body.expect(": ZENMUX PROCESSING\n", "\n")
		clock.waitArmed(t)
	}
	upstream <- "Hel"
	body.expect(`data: {"content":"Hel"}`+"\n", "\n")
	upstream <- "lo"
	body.expect(`data: {"content":"lo"}`+"\n", "\n")
	close(upstream)
	body.expect("data: [DONE]\n", "\n")
	assert.Empty(t, body.rest())
}
