package tollgate

import (
	"bufio"
	"context"
	"net"
	"net/http"
	"sync"
)

// Usage is what one request consumed: tokens as the model counted them and,
// when known, its exact cost. Money is in integer micro-units of the
// account's currency (1 USD = 1_000_000); tollgate never uses floats for it.
type Usage struct {
	// InputTokens counts prompt tokens, cached ones included.
	InputTokens int64
	// OutputTokens counts completion tokens, reasoning included.
	OutputTokens int64
	// CachedInputTokens is the part of InputTokens served from a prompt
	// cache, which pricing tables may bill at a lower rate.
	CachedInputTokens int64
	// Cost is the exact cost in micro-units when the handler or upstream
	// knows it; zero means "compute it from the tokens".
	Cost int64
}

// Tokens returns InputTokens + OutputTokens.
func (u Usage) Tokens() int64 { return u.InputTokens + u.OutputTokens }

// IsZero reports whether u records nothing.
func (u Usage) IsZero() bool { return u == Usage{} }

// UsageSource says where a request's Usage came from. Its values are not
// ordered by precedence (UsagePartial came last): compare them with ==.
type UsageSource uint8

const (
	// UsageUnknown means no usage was reported or read.
	UsageUnknown UsageSource = iota
	// UsageObserved means the usage was read from the response body
	// (an OpenAI- or Anthropic-style JSON "usage" object, or the SSE chunk
	// that carried it).
	UsageObserved
	// UsageReported means the handler reported it with ReportUsage; a
	// reported usage wins over an observed one.
	UsageReported
	// UsagePartial means the usage was read from the response body but is
	// provisional: the stream ended (or has not yet reached) the event
	// with its final count. Anthropic's message_start reports the input
	// and only the first output tokens; a stream cut before the closing
	// message_delta leaves that, and a Gemini stream cut before its chunk
	// with a finishReason leaves the counts so far. The input is exact,
	// the output a lower bound: billing charges the output the
	// MissingUsage policy says (quota.Partial), token limits keep at least
	// the estimate.
	UsagePartial
)

// State is the one mutable per-request record that tollgate's layers share.
// The first tollgate layer to see a request creates it (see Begin); inner
// layers fill it in and outer layers read it after their next handler
// returns. Its identity fields are written by the layer that learns them,
// before that layer calls its next handler, and are read-only afterwards;
// Usage may be reported from any goroutine and is guarded by a mutex.
type State struct {
	// RequestID is the request's ID, set by the RequestID middleware.
	RequestID string
	// Dialect names the error dialect for this request ("openai",
	// "anthropic", …); empty means the errors package's default.
	Dialect string
	// KeyID identifies the API key that authenticated the request (never
	// the key itself).
	KeyID string
	// Account is the account or tenant the key belongs to.
	Account string
	// Plan is the account's plan or tier.
	Plan string
	// Model is the model the request asked for, when a layer read it.
	Model string
	// Principal is the authenticated caller as the layer that authenticated
	// it represents it (the auth package stores an *auth.Principal here, so
	// authentication costs no context allocation); other layers read
	// KeyID, Account and Plan instead.
	Principal any

	writer responseWriter

	mu          sync.Mutex
	usage       Usage
	usageSource UsageSource
	scanner     *usageScanner
	scan        usageScanner // what scanner points to once ObserveUsage ran

	// idValue backs the request ID's response header value, so that it
	// costs no allocation of its own; idTaken says it is in use. The ID
	// itself is allocated apart: ledgers and logs keep it long after the
	// request, and it must not keep the State alive with it.
	idValue [1]string
	idTaken bool
}

type stateKey struct{}

// requestState is the one allocation Begin makes per request: the State,
// the context that carries it, and the shallow copy of the request that
// carries that context. The context is the parent one with a Value method
// that answers for the State, so StateFrom finds it with a type assertion
// instead of a walk up the chain of contexts.
type requestState struct {
	context.Context
	st  State
	req http.Request
}

// Value returns the State for its key and asks the parent context for any
// other.
func (c *requestState) Value(key any) any {
	if _, ok := key.(stateKey); ok {
		return &c.st
	}
	return c.Context.Value(key)
}

// StateFrom returns the request's State, or nil when no tollgate layer has
// seen the request.
func StateFrom(ctx context.Context) *State {
	if c, ok := ctx.(*requestState); ok {
		return &c.st
	}
	st, _ := ctx.Value(stateKey{}).(*State)
	return st
}

// Begin returns the request's State, creating it on the first call. The
// first call also wraps w in a writer that records the status and whether
// the response has started, and returns a request whose context carries the
// State; later calls return w and r unchanged. Every tollgate middleware
// calls Begin first, so a whole stack costs one State and one context.
func Begin(w http.ResponseWriter, r *http.Request) (http.ResponseWriter, *http.Request, *State) {
	if st := StateFrom(r.Context()); st != nil {
		return w, r, st
	}
	rs := &requestState{Context: r.Context()}
	st := &rs.st
	st.writer.ResponseWriter = w
	st.writer.st = st
	// WithContext is inlined, so its copy of the request stays on the
	// stack and is copied once more, into the same allocation.
	rs.req = *r.WithContext(rs)
	return &st.writer, &rs.req, st
}

// Status returns the status code written so far: 0 before the header was
// sent, 200 when the handler wrote a body without calling WriteHeader.
// Informational (1xx) responses are not counted.
func (s *State) Status() int { return s.writer.status }

// Started reports whether the response header has been sent, after which a
// layer can no longer replace the response with an error envelope.
func (s *State) Started() bool { return s.writer.status != 0 }

// BytesWritten returns how many body bytes the handler has written.
func (s *State) BytesWritten() int64 { return s.writer.written }

// ReportUsage records the usage of the request carried by ctx, overriding
// whatever was read from the response. It does nothing when ctx carries no
// State. It is safe to call from any goroutine.
func ReportUsage(ctx context.Context, u Usage) {
	if st := StateFrom(ctx); st != nil {
		st.SetUsage(u, UsageReported)
	}
}

// SetUsage records u as the request's usage from source. A reported usage
// is replaced only by another reported one; observed and partial usages
// replace each other, the latest winning, as the response's running count
// does; UsageUnknown replaces nothing but another unknown.
func (s *State) SetUsage(u Usage, source UsageSource) {
	s.mu.Lock()
	switch {
	case source == UsageReported,
		source == UsageUnknown && s.usageSource == UsageUnknown,
		source != UsageUnknown && s.usageSource != UsageReported:
		s.usage, s.usageSource = u, source
	}
	s.mu.Unlock()
}

// Usage returns the request's usage and where it came from. When usage
// observation is on, bytes still buffered in the scanner (an SSE line
// without its final newline) are taken into account first.
func (s *State) Usage() (Usage, UsageSource) {
	s.mu.Lock()
	sc := s.scanner
	s.mu.Unlock()
	if sc != nil {
		if u, src, ok := sc.finish(); ok {
			s.SetUsage(u, src)
		}
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.usage, s.usageSource
}

// ObserveUsage turns on reading the usage from the response body as it is
// written: an OpenAI- or Anthropic-style "usage" object in a JSON body, or
// in the data of an SSE event. The body passes through unbuffered. Calling
// it again is harmless; layers that need the usage (token limits, billing)
// call it before their next handler runs.
func (s *State) ObserveUsage() {
	s.mu.Lock()
	if s.scanner == nil {
		s.scanner = &s.scan
	}
	s.mu.Unlock()
}

// responseWriter is the one wrapper tollgate puts around the response: it
// records the status and byte count and feeds the usage scanner. It adds no
// buffering, forwards Flush and Hijack, and unwraps for
// http.ResponseController (deadlines, EnableFullDuplex).
type responseWriter struct {
	http.ResponseWriter
	st      *State
	status  int
	written int64
}

func (w *responseWriter) WriteHeader(code int) {
	if w.status == 0 && code >= 200 {
		w.status = code
	}
	w.ResponseWriter.WriteHeader(code)
}

func (w *responseWriter) Write(p []byte) (int, error) {
	if w.status == 0 {
		w.status = http.StatusOK
	}
	n, err := w.ResponseWriter.Write(p)
	w.written += int64(n)
	if sc := w.st.scanner; sc != nil && n > 0 {
		sc.write(w.ResponseWriter.Header(), p[:n], w.st)
	}
	return n, err
}

// Flush sends buffered data to the client; it is a no-op when the
// underlying writer cannot flush.
func (w *responseWriter) Flush() { _ = w.FlushError() }

// FlushError is Flush that reports whether the underlying writer could
// flush, so http.ResponseController(w).Flush() returns
// http.ErrNotSupported for a writer that cannot, rather than nil.
func (w *responseWriter) FlushError() error {
	err := http.NewResponseController(w.ResponseWriter).Flush()
	if err == nil && w.status == 0 {
		w.status = http.StatusOK
	}
	return err
}

// Hijack lets the handler take over the connection when the underlying
// writer allows it.
func (w *responseWriter) Hijack() (net.Conn, *bufio.ReadWriter, error) {
	return http.NewResponseController(w.ResponseWriter).Hijack()
}

// Unwrap returns the wrapped writer, for http.ResponseController.
func (w *responseWriter) Unwrap() http.ResponseWriter { return w.ResponseWriter }
