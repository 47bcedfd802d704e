package tollgate

import (
	"context"
	"log/slog"
	"net/http"
)

// DefaultRequestIDHeader is the header RequestID reads and writes unless
// configured otherwise.
const DefaultRequestIDHeader = "X-Request-ID"

// MaxRequestIDLength bounds an accepted incoming request ID.
const MaxRequestIDLength = 128

// RequestIDOption configures the RequestID middleware.
type RequestIDOption func(*requestIDConfig)

type requestIDConfig struct {
	incoming string
	outgoing string
	trust    bool
	valid    func(string) bool
	generate func() string
}

// RequestIDHeader sets the header the incoming ID is read from and the
// response header the ID is written to (for example "X-ZenMux-RequestId").
func RequestIDHeader(name string) RequestIDOption {
	return func(c *requestIDConfig) { c.incoming, c.outgoing = name, name }
}

// RequestIDResponseHeader sets only the response header, keeping the
// incoming one.
func RequestIDResponseHeader(name string) RequestIDOption {
	return func(c *requestIDConfig) { c.outgoing = name }
}

// IgnoreIncomingRequestID makes the middleware always generate a fresh ID,
// never trusting one the client sent. Use it on a gateway facing the public
// internet when IDs end up in places a client must not choose.
func IgnoreIncomingRequestID() RequestIDOption {
	return func(c *requestIDConfig) { c.trust = false }
}

// RequestIDValidator replaces ValidRequestID as the test an incoming ID must
// pass to be kept.
func RequestIDValidator(valid func(string) bool) RequestIDOption {
	return func(c *requestIDConfig) { c.valid = valid }
}

// RequestIDGenerator replaces the UUIDv7 generator. The function must be
// safe for concurrent use and return IDs that pass the validator. A nil
// generate restores the default.
func RequestIDGenerator(generate func() string) RequestIDOption {
	return func(c *requestIDConfig) { c.generate = generate }
}

// headerValue returns id as a header value, backed by the State the first
// time so that it costs no allocation; a second RequestID layer gets a
// slice of its own, never overwriting the first one's.
func (s *State) headerValue(id string) []string {
	if s.idTaken {
		return []string{id}
	}
	s.idTaken, s.idValue[0] = true, id
	return s.idValue[:1:1]
}

// RequestID returns middleware that gives every request an ID: the incoming
// one when it passes validation (see ValidRequestID), otherwise a new
// UUIDv7. The ID is set on the response header before the next handler runs,
// stored in the request's State and readable with RequestIDFrom. Invalid
// incoming IDs are dropped, never echoed, so a client cannot inject header
// lines or log noise through them.
//
// It panics at start-up when an option leaves a header name empty.
func RequestID(opts ...RequestIDOption) Middleware {
	cfg := requestIDConfig{
		incoming: DefaultRequestIDHeader,
		outgoing: DefaultRequestIDHeader,
		trust:    true,
		valid:    ValidRequestID,
		generate: NewRequestID,
	}
	for _, o := range opts {
		o(&cfg)
	}
	if cfg.generate == nil {
		cfg.generate = NewRequestID
	}
	if cfg.incoming == "" || cfg.outgoing == "" {
		panic("tollgate: RequestID header name must not be empty")
	}
	cfg.incoming = http.CanonicalHeaderKey(cfg.incoming)
	cfg.outgoing = http.CanonicalHeaderKey(cfg.outgoing)
	return func(next http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			w, r, st := Begin(w, r)
			id := ""
			if cfg.trust {
				if v := r.Header[cfg.incoming]; len(v) == 1 && cfg.valid(v[0]) {
					id = v[0]
				}
			}
			if id == "" {
				id = cfg.generate()
			}
			st.RequestID = id
			w.Header()[cfg.outgoing] = st.headerValue(id)
			next.ServeHTTP(w, r)
		})
	}
}

// ValidRequestID reports whether s is acceptable as an incoming request ID:
// 1 to MaxRequestIDLength characters, each a letter, a digit or one of
// . _ : + / = -. The set covers UUIDs, ULIDs, base64 and prefixed IDs like
// "req_1234567890", and excludes everything that could break a header, a log
// line or a JSON string.
func ValidRequestID(s string) bool {
	if len(s) == 0 || len(s) > MaxRequestIDLength {
		return false
	}
	for i := 0; i < len(s); i++ {
		if !requestIDChar[s[i]] {
			return false
		}
	}
	return true
}

var requestIDChar = func() (t [256]bool) {
	for c := '0'; c <= '9'; c++ {
		t[c] = true
	}
	for c := 'a'; c <= 'z'; c++ {
		t[c], t[c-'a'+'A'] = true, true
	}
	for _, c := range "._:+/=-" {
		t[c] = true
	}
	return t
}()

// RequestIDFrom returns the request ID stored by RequestID, or "" when the
// request has none.
func RequestIDFrom(ctx context.Context) string {
	if st := StateFrom(ctx); st != nil {
		return st.RequestID
	}
	return ""
}

// LogHandler wraps an slog.Handler so that every record logged with a
// request's context (slog.InfoContext(r.Context(), …)) carries that
// request's ID as the attribute "request_id". Records without one pass
// through unchanged.
func LogHandler(h slog.Handler) slog.Handler { return logHandler{h} }

type logHandler struct{ slog.Handler }

func (h logHandler) Handle(ctx context.Context, rec slog.Record) error {
	if id := RequestIDFrom(ctx); id != "" {
		rec = rec.Clone()
		rec.AddAttrs(slog.String("request_id", id))
	}
	return h.Handler.Handle(ctx, rec)
}

func (h logHandler) WithAttrs(attrs []slog.Attr) slog.Handler {
	return logHandler{h.Handler.WithAttrs(attrs)}
}

func (h logHandler) WithGroup(name string) slog.Handler {
	return logHandler{h.Handler.WithGroup(name)}
}
