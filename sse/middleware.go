package sse

import (
	"bufio"
	"net"
	"net/http"
	"sync"
	"time"

	"github.com/tollgate/tollgate"
	apierrors "github.com/tollgate/tollgate/errors"
)

// maxFailureBody bounds how much of a late non-stream answer is kept to
// build the in-stream error from; error bodies are small.
const maxFailureBody = 64 << 10

// KeepAlive returns middleware that keeps event streams alive for any
// handler below it, a reverse proxy included, without the handler knowing:
// whenever an event stream it wrote has carried no byte for an interval
// (DefaultKeepAliveInterval unless KeepAliveInterval says otherwise), the
// middleware writes a comment (KeepAliveComment) and flushes it.
//
// It starts only once the response is known to be an event stream: the
// handler sent a 2xx status with Content-Type text/event-stream. Other
// responses pass through untouched, and cost no goroutine. A comment is
// only ever written between two events, never inside one: the middleware
// serialises its writes with the handler's and tracks where the last event
// ended, so a handler that flushed half an event keeps it whole.
//
// A handler that is silent before its first byte (a proxy waiting for its
// upstream) gives the middleware nothing to go on. For requests selected by
// CommitEarly, the middleware answers for the handler once it has been
// silent for one interval: status 200, Content-Type text/event-stream,
// Cache-Control no-cache, X-Accel-Buffering no, and the comment. When the
// handler answers later, a 2xx event stream is passed on (its headers can
// no longer be sent); anything else is read (up to 64 KiB), parsed with
// apierrors.ParseBody, and written as the request dialect's in-stream error
// event when the handler returns; a handler that returns without a word
// leaves the client a stream of comments only. Until the middleware
// commits, such a handler sees a header map of its own, so the commit never
// races with the handler setting headers.
//
// The keep-alive goroutine is stopped before the middleware returns, also
// when the handler panics or hijacks the connection. The wrapper keeps
// Flush, Hijack and, through Unwrap, http.ResponseController's deadlines.
// Put Recover outside it so that a panic in a stream is reported in the
// stream. Options: KeepAliveInterval, KeepAliveComment, WithClock,
// CommitEarly; the error wraps ErrConfig.
func KeepAlive(opts ...Option) (tollgate.Middleware, error) {
	cfg, err := buildConfig(forMiddleware, opts)
	if err != nil {
		return nil, err
	}
	ka := &keepAlive{cfg: cfg, comment: commentFrame(nil, cfg.comment)}
	return ka.wrap, nil
}

// MustKeepAlive is KeepAlive that panics on a configuration error.
func MustKeepAlive(opts ...Option) tollgate.Middleware {
	m, err := KeepAlive(opts...)
	if err != nil {
		panic(err)
	}
	return m
}

type keepAlive struct {
	cfg     config
	comment []byte
}

func (ka *keepAlive) wrap(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w, r, _ = tollgate.Begin(w, r)
		kw := &keepAliveWriter{ResponseWriter: w, rc: http.NewResponseController(w), ka: ka, r: r}
		kw.lineStart, kw.boundary = true, true
		if ka.cfg.early != nil && ka.cfg.early(r) {
			kw.shadow = w.Header().Clone()
			kw.last = ka.cfg.clock.Now()
			kw.keeper = startKeeper(ka.cfg.clock, ka.cfg.interval, r.Context().Done(), kw.tick)
		}
		completed := false
		defer func() { kw.finish(completed) }()
		next.ServeHTTP(kw, r)
		completed = true
	})
}

// The states of a response passing through KeepAlive.
const (
	statePending   uint8 = iota // the handler has sent nothing
	stateEarly                  // the middleware committed; the handler has not answered
	stateStreaming              // an event stream: keep it alive
	statePassing                // any other response: hands off
	stateFailed                 // a committed stream got a non-stream answer: capture it
	stateHijacked
	stateFinished
)

// keepAliveWriter is the ResponseWriter the handler below KeepAlive sees.
// Every method that writes takes mu, and so does the keep-alive tick.
type keepAliveWriter struct {
	http.ResponseWriter
	rc *http.ResponseController
	ka *keepAlive
	r  *http.Request

	mu     sync.Mutex
	state  uint8
	shadow http.Header // the handler's headers until it answers (CommitEarly only)
	last   time.Time
	keeper *keeper
	eventEnd

	status      int    // stateFailed: the handler's status
	contentType string // stateFailed: the handler's Content-Type
	body        []byte // stateFailed: the start of the handler's body
}

// Header returns the header map the handler may change: its own until it
// answers when CommitEarly applies, the response's otherwise.
func (w *keepAliveWriter) Header() http.Header {
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.shadow != nil && (w.state == statePending || w.state == stateEarly) {
		return w.shadow
	}
	return w.ResponseWriter.Header()
}

// WriteHeader sends the handler's status, or, when the middleware has
// already committed the stream, decides what to make of it.
func (w *keepAliveWriter) WriteHeader(code int) {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.answerLocked(code, true)
}

// answerLocked handles the handler's status: code came from WriteHeader
// when explicit, or is the implicit 200 of a first Write or Flush.
func (w *keepAliveWriter) answerLocked(code int, explicit bool) {
	informational := code >= 100 && code <= 199 && code != http.StatusSwitchingProtocols
	switch w.state {
	case statePending:
		if !informational {
			w.adoptShadowLocked()
			w.state = statePassing
			if code/100 == 2 && isEventStream(w.ResponseWriter.Header().Get("Content-Type")) {
				w.startStreamingLocked()
			}
		}
		if explicit {
			w.ResponseWriter.WriteHeader(code)
		}
	case stateEarly:
		if informational {
			return
		}
		ct := w.shadow.Get("Content-Type")
		w.state = stateStreaming
		if code/100 != 2 || !isEventStream(ct) {
			w.state, w.status, w.contentType = stateFailed, code, ct
		}
	default:
		if explicit {
			w.ResponseWriter.WriteHeader(code)
		}
	}
}

// adoptShadowLocked makes the handler's own header map the response's.
func (w *keepAliveWriter) adoptShadowLocked() {
	if w.shadow == nil {
		return
	}
	h := w.ResponseWriter.Header()
	for k := range h {
		if _, ok := w.shadow[k]; !ok {
			delete(h, k)
		}
	}
	for k, v := range w.shadow {
		h[k] = v
	}
}

func (w *keepAliveWriter) startStreamingLocked() {
	w.state = stateStreaming
	w.last = w.ka.cfg.clock.Now()
	if w.keeper == nil {
		w.keeper = startKeeper(w.ka.cfg.clock, w.ka.cfg.interval, w.r.Context().Done(), w.tick)
	}
}

// Write sends p, keeping track of where the last event ended; after a late
// non-stream answer it keeps the start of the body instead.
func (w *keepAliveWriter) Write(p []byte) (int, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.state == statePending || w.state == stateEarly {
		w.answerLocked(http.StatusOK, false)
	}
	switch w.state {
	case stateFailed:
		if room := maxFailureBody - len(w.body); room > 0 {
			w.body = append(w.body, p[:min(room, len(p))]...)
		}
		return len(p), nil
	case stateStreaming:
		n, err := w.ResponseWriter.Write(p)
		w.track(p[:n])
		w.last = w.ka.cfg.clock.Now()
		return n, err
	default:
		return w.ResponseWriter.Write(p)
	}
}

// FlushError flushes the response and reports why it could not, for
// http.ResponseController.
func (w *keepAliveWriter) FlushError() error {
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.state == statePending || w.state == stateEarly {
		w.answerLocked(http.StatusOK, false)
	}
	if w.state == stateFailed {
		return nil
	}
	return w.rc.Flush()
}

// Flush flushes the response; it is FlushError without the error.
func (w *keepAliveWriter) Flush() { _ = w.FlushError() }

// Hijack hands the connection to the handler, after which the middleware
// writes nothing.
func (w *keepAliveWriter) Hijack() (net.Conn, *bufio.ReadWriter, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	conn, brw, err := w.rc.Hijack()
	if err == nil {
		w.state = stateHijacked
	}
	return conn, brw, err
}

// Unwrap returns the wrapped writer, for http.ResponseController.
func (w *keepAliveWriter) Unwrap() http.ResponseWriter { return w.ResponseWriter }

// tick is the keep-alive step: commit early if asked to and due, write the
// comment when the stream was silent for an interval and sits between two
// events, then re-arm the timer.
func (w *keepAliveWriter) tick(t tollgate.Timer) bool {
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.state != statePending && w.state != stateEarly && w.state != stateStreaming {
		return false
	}
	due, wait := idleCheck(w.ka.cfg.clock, w.last, w.ka.cfg.interval)
	if due && w.state == statePending {
		w.commitEarlyLocked()
	}
	if due && w.state != statePending && w.boundary {
		if _, err := w.ResponseWriter.Write(w.ka.comment); err != nil {
			return false
		}
		w.afterCR = false
		w.last = w.ka.cfg.clock.Now()
		if w.rc.Flush() != nil {
			return false
		}
	}
	t.Reset(wait)
	return true
}

func (w *keepAliveWriter) commitEarlyLocked() {
	h := w.ResponseWriter.Header()
	h.Set("Content-Type", "text/event-stream")
	h.Set("Cache-Control", "no-cache")
	h.Set("X-Accel-Buffering", "no")
	h.Del("Content-Length")
	w.ResponseWriter.WriteHeader(http.StatusOK)
	w.state = stateEarly
}

// finish runs when the handler has returned (completed) or panicked: it
// reports a late non-stream answer in the stream, then stops the
// keep-alive goroutine and waits for it.
func (w *keepAliveWriter) finish(completed bool) {
	w.mu.Lock()
	if completed && w.state == stateFailed {
		w.writeFailureLocked()
	}
	if w.state != stateHijacked {
		w.state = stateFinished
	}
	k := w.keeper
	w.mu.Unlock()
	if k != nil {
		k.halt()
	}
}

func (w *keepAliveWriter) writeFailureLocked() {
	var e *apierrors.Error
	if w.status/100 == 2 {
		e = apierrors.New(apierrors.CodeBadGateway).WithMessage("The upstream answered with a response that is not an event stream.")
	} else {
		e = apierrors.ParseBody(w.status, w.contentType, w.body)
	}
	if _, err := w.ResponseWriter.Write(apierrors.StreamEvent(w.r, e)); err == nil {
		_ = w.rc.Flush()
	}
}
