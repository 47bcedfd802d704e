package sse

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/tollgate/tollgate"
	apierrors "github.com/tollgate/tollgate/errors"
)

func TestNewWriterCommitsHeaders(t *testing.T) {
	rec := newRecorder()
	rec.Header().Set("Content-Length", "12")
	rec.Header().Set("Content-Type", "application/json")
	sw, err := NewWriter(rec, httptest.NewRequest(http.MethodGet, "/", nil))
	require.NoError(t, err)
	defer sw.Close()

	assert.Equal(t, http.StatusOK, rec.status)
	assert.Equal(t, 1, rec.flushes, "the status goes out at once")
	assert.Equal(t, "text/event-stream", rec.Header().Get("Content-Type"))
	assert.Equal(t, "no-cache", rec.Header().Get("Cache-Control"))
	assert.Equal(t, "no", rec.Header().Get("X-Accel-Buffering"))
	assert.Empty(t, rec.Header().Values("Content-Length"))
	assert.Empty(t, rec.String())
}

func TestNewWriterCannotFlush(t *testing.T) {
	w := &noFlush{header: http.Header{}}
	w.header.Set("Content-Type", "application/json")
	w.header.Set("Content-Length", "2")
	sw, err := NewWriter(w, httptest.NewRequest(http.MethodGet, "/", nil))
	require.ErrorIs(t, err, ErrFlushUnsupported)
	assert.ErrorIs(t, err, http.ErrNotSupported)
	assert.Nil(t, sw)
	assert.Equal(t, http.Header{"Content-Type": {"application/json"}, "Content-Length": {"2"}}, w.header,
		"the headers are left as they were")
	assert.Zero(t, w.status, "nothing was sent")
}

func TestWriterFrames(t *testing.T) {
	tests := []struct {
		name  string
		write func(*Writer) error
		want  string
	}{
		{"send", func(w *Writer) error { return w.Send(Event{Type: "t", ID: "1", Data: "a\nb"}) },
			"event: t\nid: 1\ndata: a\ndata: b\n\n"},
		{"json message", func(w *Writer) error { return w.SendJSON("", map[string]any{"x": "<a&b>\n"}) },
			"data: {\"x\":\"<a&b>\\n\"}\n\n"},
		{"json named", func(w *Writer) error { return w.SendJSON("message_start", []int{1, 2}) },
			"event: message_start\ndata: [1,2]\n\n"},
		{"comment", func(w *Writer) error { return w.Comment("hi") }, ": hi\n\n"},
		{"multi-line comment", func(w *Writer) error { return w.Comment("a\nb") }, ": a\n: b\n\n"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			rec := newRecorder()
			sw, err := NewWriter(rec, httptest.NewRequest(http.MethodGet, "/", nil))
			require.NoError(t, err)
			require.NoError(t, tt.write(sw))
			assert.Equal(t, tt.want, rec.String())
			assert.Equal(t, 2, rec.flushes, "every frame is flushed")
		})
	}
}

func TestWriterRejects(t *testing.T) {
	tests := []struct {
		name  string
		write func(*Writer) error
		is    error
	}{
		{"newline in type", func(w *Writer) error { return w.Send(Event{Type: "a\nb"}) }, ErrInvalidEvent},
		{"newline in id", func(w *Writer) error { return w.Send(Event{ID: "1\r"}) }, ErrInvalidEvent},
		{"newline in json type", func(w *Writer) error { return w.SendJSON("a\n", 1) }, ErrInvalidEvent},
		{"unencodable json", func(w *Writer) error { return w.SendJSON("", make(chan int)) }, nil},
		{"invalid comment", func(w *Writer) error { return w.Comment("\xff") }, ErrInvalidEvent},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			rec := newRecorder()
			sw, err := NewWriter(rec, httptest.NewRequest(http.MethodGet, "/", nil))
			require.NoError(t, err)
			err = tt.write(sw)
			require.Error(t, err)
			if tt.is != nil {
				assert.ErrorIs(t, err, tt.is)
			}
			assert.Empty(t, rec.String(), "nothing is written")
			assert.NoError(t, sw.Send(Event{Data: "ok"}), "a rejected event does not break the stream")
		})
	}
}

// dialectRequest returns a request whose State carries dialect d, as
// apierrors.WithDialect leaves it.
func dialectRequest(d apierrors.Dialect) *http.Request {
	r := httptest.NewRequest(http.MethodGet, "/", nil)
	_, r, st := tollgate.Begin(httptest.NewRecorder(), r)
	st.Dialect = d.String()
	st.RequestID = "req-1"
	return r
}

func TestWriterDone(t *testing.T) {
	for _, d := range apierrors.Dialects() {
		t.Run(d.String(), func(t *testing.T) {
			rec := newRecorder()
			sw, err := NewWriter(rec, dialectRequest(d))
			require.NoError(t, err)
			require.NoError(t, sw.Done())
			want := ""
			if d == apierrors.OpenAI || d == apierrors.ZenMux {
				want = "data: [DONE]\n\n"
			}
			assert.Equal(t, want, rec.String())
			assert.Equal(t, 2, rec.flushes, "Done flushes even when it writes nothing")
			assert.ErrorIs(t, sw.Send(Event{Data: "late"}), ErrClosed)
			assert.ErrorIs(t, sw.Done(), ErrClosed)
			assert.NoError(t, sw.Close())
		})
	}
	t.Run("DoneData overrides the dialect", func(t *testing.T) {
		for data, want := range map[string]string{"END": "data: END\n\n", "": ""} {
			rec := newRecorder()
			sw, err := MustStreams(DoneData(data)).Writer(rec, dialectRequest(apierrors.OpenAI))
			require.NoError(t, err)
			require.NoError(t, sw.Done())
			assert.Equal(t, want, rec.String())
		}
	})
}

func TestWriterError(t *testing.T) {
	apiErr := apierrors.New(apierrors.CodeRateLimitExceeded)
	for _, d := range apierrors.Dialects() {
		t.Run(d.String(), func(t *testing.T) {
			rec := newRecorder()
			r := dialectRequest(d)
			sw, err := NewWriter(rec, r)
			require.NoError(t, err)
			require.NoError(t, sw.Error(apiErr))
			body := rec.String()
			wantEvent, _ := apierrors.EncodeStream(d, apiErr, apierrors.Context{RequestID: "req-1"})
			events, _ := readAll(t, strings.NewReader(body))
			require.Len(t, events, 1, "body %q", body)
			assert.Equal(t, wantEvent, events[0].Type)
			assert.Contains(t, events[0].Data, apiErr.Message)
			assert.NoError(t, sw.Send(Event{Data: "the stream goes on"}))
		})
	}
	t.Run("a plain error leaks nothing", func(t *testing.T) {
		rec := newRecorder()
		sw, err := NewWriter(rec, dialectRequest(apierrors.OpenAI))
		require.NoError(t, err)
		require.NoError(t, sw.Error(errors.New("db password is hunter2")))
		assert.NotContains(t, rec.String(), "hunter2")
		assert.Contains(t, rec.String(), "internal_error")
	})
}

func TestWriterStickyWriteError(t *testing.T) {
	rec := newRecorder()
	sw, err := NewWriter(rec, httptest.NewRequest(http.MethodGet, "/", nil))
	require.NoError(t, err)
	gone := errors.New("connection reset")
	rec.failWrites(gone)
	err = sw.Send(Event{Data: "x"})
	require.ErrorIs(t, err, gone)
	assert.ErrorIs(t, sw.Comment("y"), gone, "the first error is returned ever after")
	assert.ErrorIs(t, sw.Done(), gone)
}

func TestNewStreamsConfig(t *testing.T) {
	tests := []struct {
		name string
		opts []Option
		want string
	}{
		{"zero interval", []Option{KeepAliveInterval(0)}, "not positive"},
		{"negative interval", []Option{KeepAliveInterval(-time.Second)}, "not positive"},
		{"comment with a break", []Option{KeepAliveInterval(time.Second), KeepAliveComment("a\nb")}, "one line"},
		{"comment without interval", []Option{KeepAliveComment("x")}, "needs KeepAliveInterval"},
		{"middleware option", []Option{CommitEarly(AcceptsEventStream)}, "applies to KeepAlive"},
		{"invalid done data", []Option{DoneData("\xff")}, "UTF-8"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s, err := NewStreams(tt.opts...)
			require.ErrorIs(t, err, ErrConfig)
			assert.Contains(t, err.Error(), tt.want)
			assert.Nil(t, s)
			assert.Panics(t, func() { MustStreams(tt.opts...) })
		})
	}
	s, err := NewStreams(nil, KeepAliveInterval(time.Second), KeepAliveComment("ok"), WithClock(nil), DoneData(""))
	require.NoError(t, err)
	assert.Equal(t, ": ok\n\n", string(s.comment))
}

func TestWriterConcurrentSends(t *testing.T) {
	const senders, each = 8, 50
	clock := newStepClock()
	rec := newRecorder()
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	r := httptest.NewRequest(http.MethodGet, "/", nil).WithContext(ctx)
	sw, err := MustStreams(KeepAliveInterval(time.Second), WithClock(clock)).Writer(rec, r)
	require.NoError(t, err)

	var wg sync.WaitGroup
	for s := range senders {
		wg.Go(func() {
			for i := range each {
				data := fmt.Sprintf("sender %d\nevent %d\n%s", s, i, strings.Repeat("x", i))
				assert.NoError(t, sw.Send(Event{Type: "t", Data: data}))
			}
		})
	}
	wg.Go(func() { // keep-alive ticks racing with the senders
		for range 20 {
			clock.Advance(time.Second)
		}
	})
	wg.Wait()
	require.NoError(t, sw.Close())

	events, _ := readAll(t, strings.NewReader(rec.String()))
	require.Len(t, events, senders*each)
	seen := map[string]bool{}
	for _, ev := range events {
		var s, i int
		_, err := fmt.Sscanf(ev.Data, "sender %d\nevent %d\n", &s, &i)
		require.NoError(t, err, "event %q was torn", ev.Data)
		assert.True(t, strings.HasSuffix(ev.Data, "\n"+strings.Repeat("x", i)))
		seen[ev.Data] = true
	}
	assert.Len(t, seen, senders*each)
}
