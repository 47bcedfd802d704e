package sse

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"sync"
	"time"
	"unicode/utf8"

	"github.com/tollgate/tollgate"
	apierrors "github.com/tollgate/tollgate/errors"
)

// ErrFlushUnsupported is wrapped by the error NewWriter returns when the
// response writer cannot flush, checked with http.ResponseController: a
// stream that cannot flush reaches the client all at once at the end, which
// is no stream at all. The response is left untouched, so the handler can
// still answer with an error envelope.
var ErrFlushUnsupported = errors.New("sse: response writer cannot flush")

// ErrClosed is returned by a Writer's methods after Done or Close.
var ErrClosed = errors.New("sse: writer closed")

// Streams makes Writers that share one validated configuration: whether
// they keep the stream alive, with what comment, on which clock, and what
// Done sends. Build one at start-up and use it from every handler; it is
// immutable and safe for concurrent use. The zero value is not ready; use
// NewStreams.
type Streams struct {
	cfg     config
	comment []byte // the keep-alive comment's wire form
}

// NewStreams returns a Streams configured by opts: KeepAliveInterval,
// KeepAliveComment, WithClock and DoneData apply. Without
// KeepAliveInterval, its Writers send no keep-alive comments. The error
// wraps ErrConfig.
func NewStreams(opts ...Option) (*Streams, error) {
	cfg, err := buildConfig(forWriter, opts)
	if err != nil {
		return nil, err
	}
	return &Streams{cfg: cfg, comment: commentFrame(nil, cfg.comment)}, nil
}

// MustStreams is NewStreams that panics on a configuration error, for
// package-level variables.
func MustStreams(opts ...Option) *Streams {
	s, err := NewStreams(opts...)
	if err != nil {
		panic(err)
	}
	return s
}

// plain is the configuration NewWriter uses: no keep-alive, dialect-driven
// Done. It is never modified.
var plain = MustStreams()

// NewWriter starts an event stream on w with no keep-alive; it is
// Streams.Writer with the default configuration.
func NewWriter(w http.ResponseWriter, r *http.Request) (*Writer, error) {
	return plain.Writer(w, r)
}

// Writer writes one event stream. It is safe for concurrent use: each
// event, comment and keep-alive is written and flushed whole, never
// interleaved with another. Once a write fails (the client left), every
// later call returns that error. The zero value is not ready; use NewWriter
// or Streams.Writer.
type Writer struct {
	s  *Streams
	w  http.ResponseWriter
	rc *http.ResponseController
	r  *http.Request

	mu       sync.Mutex
	buf      []byte
	json     bytes.Buffer
	enc      *json.Encoder
	last     time.Time // when bytes were last written, for keep-alive
	err      error     // the first write error, returned ever after
	finished bool
	ka       *keeper
}

// Writer starts an event stream on w: it sets Content-Type
// text/event-stream, Cache-Control no-cache and X-Accel-Buffering no (which
// stops nginx from buffering the stream), and sends the status 200 and
// headers at once by flushing. From then on errors can only be reported in
// the stream (see Writer.Error).
//
// When w cannot flush it returns an error wrapping ErrFlushUnsupported and
// leaves the headers as they were. When keep-alive is configured, the
// Writer's goroutine runs until Done, Close or the end of the request's
// context; call Close (defer it) before the handler returns. Below the
// KeepAlive middleware a Writer needs no keep-alive of its own: the
// middleware sees the event stream start and keeps it alive.
func (s *Streams) Writer(w http.ResponseWriter, r *http.Request) (*Writer, error) {
	h := w.Header()
	saved := [...][]string{h["Content-Type"], h["Cache-Control"], h["X-Accel-Buffering"], h["Content-Length"]}
	h.Set("Content-Type", "text/event-stream")
	h.Set("Cache-Control", "no-cache")
	h.Set("X-Accel-Buffering", "no")
	h.Del("Content-Length")
	rc := http.NewResponseController(w)
	if err := rc.Flush(); err != nil {
		if errors.Is(err, http.ErrNotSupported) {
			for i, k := range [...]string{"Content-Type", "Cache-Control", "X-Accel-Buffering", "Content-Length"} {
				restoreHeader(h, k, saved[i])
			}
			return nil, fmt.Errorf("%w: %w", ErrFlushUnsupported, err)
		}
		return nil, fmt.Errorf("sse: starting the stream: %w", err)
	}
	sw := &Writer{s: s, w: w, rc: rc, r: r}
	if s.cfg.interval > 0 {
		sw.mu.Lock() // tick takes it: the goroutine waits until ka is set
		sw.last = s.cfg.clock.Now()
		sw.ka = startKeeper(s.cfg.clock, s.cfg.interval, r.Context().Done(), sw.tick)
		sw.mu.Unlock()
	}
	return sw, nil
}

func restoreHeader(h http.Header, key string, values []string) {
	if values == nil {
		delete(h, key)
		return
	}
	h[key] = values
}

// Send writes ev and flushes it. It returns an error wrapping
// ErrInvalidEvent, without writing anything, when ev cannot be written as
// it is (see Event.Validate).
func (w *Writer) Send(ev Event) error {
	if err := ev.Validate(); err != nil {
		return err
	}
	w.mu.Lock()
	defer w.mu.Unlock()
	w.buf = appendHeader(w.buf[:0], ev.Type, ev.ID, ev.Retry)
	w.buf = appendData(w.buf, ev.Data)
	return w.writeLocked(w.buf)
}

// SendJSON writes one event of type eventType (empty for "message") whose
// data is v encoded as JSON on one line, and flushes it. HTML characters
// are not escaped. An encoding error is returned, and nothing is written.
func (w *Writer) SendJSON(eventType string, v any) error {
	if err := (Event{Type: eventType}).Validate(); err != nil {
		return err
	}
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.enc == nil {
		w.enc = json.NewEncoder(&w.json)
		w.enc.SetEscapeHTML(false)
	}
	w.json.Reset()
	if err := w.enc.Encode(v); err != nil {
		return fmt.Errorf("sse: encoding event data: %w", err)
	}
	w.buf = appendHeader(w.buf[:0], eventType, "", 0)
	w.buf = appendData(w.buf, bytes.TrimSuffix(w.json.Bytes(), []byte{'\n'}))
	return w.writeLocked(w.buf)
}

// Comment writes a comment, which every client ignores, and flushes it: a
// ": text" line per line of text, then a blank line. Text must be valid
// UTF-8.
func (w *Writer) Comment(text string) error {
	if !utf8.ValidString(text) {
		return fmt.Errorf("%w: comment is not valid UTF-8", ErrInvalidEvent)
	}
	w.mu.Lock()
	defer w.mu.Unlock()
	w.buf = commentFrame(w.buf[:0], text)
	return w.writeLocked(w.buf)
}

// Error writes err as the request's dialect renders an in-stream error
// (apierrors.StreamEvent: the OpenAI dialect's plain data event, the
// Anthropic dialect's "error" event, and so on) and flushes it. Errors that
// are not *apierrors.Error become a generic internal error that reveals
// nothing of their cause. Error does not end the stream; most handlers
// return right after it.
func (w *Writer) Error(err error) error {
	frame := apierrors.StreamEvent(w.r, err)
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.writeLocked(frame)
}

// Done ends the stream the way the request's dialect expects and closes the
// Writer. With DoneData configured it sends that; otherwise the OpenAI and
// ZenMux dialects (OpenAI-compatible streams) get "data: [DONE]", and every
// other dialect gets nothing, because their streams end with an event that
// is the handler's own content (Anthropic's message_stop) or simply end
// (Google, and the rest). Every call after it returns ErrClosed.
func (w *Writer) Done() error {
	data, ok := w.s.cfg.done, w.s.cfg.doneSet
	if !ok && doneDialect(apierrors.DialectFrom(w.r)) {
		data = "[DONE]"
	}
	w.mu.Lock()
	var err error
	switch {
	case w.err != nil:
		err = w.err
	case w.finished:
		err = ErrClosed
	case data != "":
		w.buf = appendData(w.buf[:0], data)
		err = w.writeLocked(w.buf)
	default:
		err = w.flushLocked()
	}
	w.mu.Unlock()
	_ = w.Close()
	return err
}

func doneDialect(d apierrors.Dialect) bool {
	return d == apierrors.OpenAI || d == apierrors.ZenMux
}

// Close stops the keep-alive goroutine, waiting until it has returned, and
// makes every later call return ErrClosed. It writes nothing and does not
// end the response, which ends when the handler returns. It is safe to call
// more than once and always returns nil.
func (w *Writer) Close() error {
	w.mu.Lock()
	w.finished = true
	k := w.ka
	w.mu.Unlock()
	if k != nil {
		k.halt()
	}
	return nil
}

// writeLocked writes and flushes p; w.mu must be held.
func (w *Writer) writeLocked(p []byte) error {
	if w.err != nil {
		return w.err
	}
	if w.finished {
		return ErrClosed
	}
	if _, err := w.w.Write(p); err != nil {
		w.err = fmt.Errorf("sse: writing the stream: %w", err)
		return w.err
	}
	if w.ka != nil {
		w.last = w.s.cfg.clock.Now()
	}
	return w.flushLocked()
}

func (w *Writer) flushLocked() error {
	if err := w.rc.Flush(); err != nil {
		w.err = fmt.Errorf("sse: flushing the stream: %w", err)
	}
	return w.err
}

// tick is the keep-alive step: write the comment when nothing else was
// written for an interval, then re-arm the timer.
func (w *Writer) tick(t tollgate.Timer) bool {
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.finished || w.err != nil {
		return false
	}
	due, wait := idleCheck(w.s.cfg.clock, w.last, w.s.cfg.interval)
	if due && w.writeLocked(w.s.comment) != nil {
		return false
	}
	t.Reset(wait)
	return true
}
