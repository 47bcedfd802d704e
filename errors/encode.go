package errors

import (
	"encoding/json"
	"maps"
	"net/http"
	"strconv"
	"time"

	"github.com/tollgate/tollgate"
)

// Context is what an envelope may carry beyond the error itself.
type Context struct {
	// RequestID goes into the envelope where the dialect has a place for it.
	RequestID string
	// Time stamps dialects that carry a timestamp (meta, flat's stream form).
	Time time.Time
}

// Rendered is an error encoded in one dialect.
type Rendered struct {
	// Status is the HTTP status the dialect uses for the error.
	Status int
	// ContentType is the body's media type.
	ContentType string
	// Body is the JSON envelope.
	Body []byte
}

// Encode renders e as a response body in dialect d. A nil e renders as the
// generic internal error.
func Encode(d Dialect, e *Error, c Context) Rendered {
	if e == nil {
		e = New(CodeInternalError)
	}
	res := resolve(d, e)
	out := Rendered{Status: res.status, ContentType: "application/json"}
	if d == Problem {
		out.ContentType = "application/problem+json"
	}
	out.Body = mustJSON(body(d, e, res, c))
	return out
}

// EncodeStream renders e as an in-stream error event in dialect d: the SSE
// event name (empty for a plain data event) and the event's data.
func EncodeStream(d Dialect, e *Error, c Context) (event string, data []byte) {
	if e == nil {
		e = New(CodeInternalError)
	}
	res := resolve(d, e)
	switch d {
	case Anthropic:
		return "error", mustJSON(anthropicBody{Type: "error", Error: anthropicError{Type: res.kind, Message: e.Message}, RequestID: c.RequestID})
	case Flat:
		return "", mustJSON(flatStream{Type: "error", Error: codeMessage{Code: res.code, Message: e.Message}, Timestamp: stamp(c.Time, true)})
	case Problem:
		return "error", mustJSON(body(d, e, res, c))
	default:
		return "", mustJSON(body(d, e, res, c))
	}
}

func mustJSON(v any) []byte {
	b, err := json.Marshal(v)
	if err != nil {
		// Only a caller-supplied detail can fail to marshal; drop the
		// details rather than fail to report the error.
		b, _ = json.Marshal(map[string]any{"error": map[string]string{"message": "Internal server error"}})
	}
	return b
}

func stamp(t time.Time, millis bool) string {
	if t.IsZero() {
		t = time.Now()
	}
	if millis {
		return t.UTC().Format("2006-01-02T15:04:05.000Z")
	}
	return t.UTC().Format(time.RFC3339)
}

type codeMessage struct {
	Code    string `json:"code"`
	Message string `json:"message"`
}

type openAIBody struct {
	Error openAIError `json:"error"`
}

type openAIError struct {
	Message string  `json:"message"`
	Type    string  `json:"type"`
	Param   *string `json:"param"`
	Code    string  `json:"code"`
}

type anthropicBody struct {
	Type      string         `json:"type"`
	Error     anthropicError `json:"error"`
	RequestID string         `json:"request_id,omitempty"`
}

type anthropicError struct {
	Type    string `json:"type"`
	Message string `json:"message"`
}

type zenMuxBody struct {
	Error struct {
		Code    string `json:"code"`
		Type    string `json:"type"`
		Message string `json:"message"`
	} `json:"error"`
}

type metaBody struct {
	Success bool `json:"success"`
	Error   struct {
		Code    string         `json:"code"`
		Message string         `json:"message"`
		Details map[string]any `json:"details,omitempty"`
	} `json:"error"`
	Meta struct {
		RequestID string `json:"request_id,omitempty"`
		Timestamp string `json:"timestamp"`
	} `json:"meta"`
}

type typedBody struct {
	Error struct {
		Code      string `json:"code"`
		Message   string `json:"message"`
		Type      string `json:"type"`
		Param     string `json:"param,omitempty"`
		RequestID string `json:"request_id,omitempty"`
	} `json:"error"`
}

type flatBody struct {
	Error      string         `json:"error"`
	Message    string         `json:"message"`
	StatusCode int            `json:"statusCode"`
	Details    map[string]any `json:"details,omitempty"`
}

type flatStream struct {
	Type      string      `json:"type"`
	Error     codeMessage `json:"error"`
	Timestamp string      `json:"timestamp"`
}

type googleBody struct {
	Error struct {
		Code    int              `json:"code"`
		Message string           `json:"message"`
		Status  string           `json:"status"`
		Details []map[string]any `json:"details,omitempty"`
	} `json:"error"`
}

type problemBody struct {
	Type       string         `json:"type"`
	Title      string         `json:"title"`
	Status     int            `json:"status"`
	Detail     string         `json:"detail"`
	Code       string         `json:"code"`
	Param      string         `json:"param,omitempty"`
	RequestID  string         `json:"request_id,omitempty"`
	RetryAfter int64          `json:"retry_after,omitempty"`
	Details    map[string]any `json:"details,omitempty"`
}

func body(d Dialect, e *Error, res resolved, c Context) any {
	switch d {
	case Anthropic:
		return anthropicBody{Type: "error", Error: anthropicError{Type: res.kind, Message: e.Message}, RequestID: c.RequestID}
	case Google:
		return googleEnvelope(e, res, c)
	case ZenMux:
		var b zenMuxBody
		b.Error.Code, b.Error.Type, b.Error.Message = res.code, res.kind, e.Message
		return b
	case Meta:
		var b metaBody
		b.Error.Code, b.Error.Message = res.code, e.Message
		b.Error.Details = fieldDetails(e)
		b.Meta.RequestID, b.Meta.Timestamp = c.RequestID, stamp(c.Time, false)
		return b
	case Typed:
		var b typedBody
		b.Error.Code, b.Error.Message, b.Error.Type = res.code, e.Message, res.kind
		b.Error.Param, b.Error.RequestID = e.Param, c.RequestID
		return b
	case Flat:
		b := flatBody{Error: res.kind, Message: e.Message, StatusCode: res.status, Details: maps.Clone(e.Details)}
		if e.Param != "" {
			b.Details = withDetail(b.Details, "field", e.Param)
		}
		if s := e.RetryAfterSeconds(); s > 0 {
			b.Details = withDetail(b.Details, "retryAfter", s)
		}
		return b
	case Problem:
		return problemBody{
			Type: "about:blank", Title: res.kind, Status: res.status, Detail: e.Message,
			Code: res.code, Param: e.Param, RequestID: c.RequestID,
			RetryAfter: e.RetryAfterSeconds(), Details: e.Details,
		}
	default:
		b := openAIBody{Error: openAIError{Message: e.Message, Type: res.kind, Code: res.code}}
		if e.Param != "" {
			p := e.Param
			b.Error.Param = &p
		}
		return b
	}
}

func withDetail(m map[string]any, k string, v any) map[string]any {
	if m == nil {
		m = make(map[string]any, 2)
	}
	m[k] = v
	return m
}

// fieldDetails is the meta dialect's details object: field and issue, plus
// any extra details and the retry delay.
func fieldDetails(e *Error) map[string]any {
	if e.Param == "" && e.Issue == "" && len(e.Details) == 0 && e.RetryAfter <= 0 {
		return nil
	}
	m := maps.Clone(e.Details)
	if e.Param != "" {
		m = withDetail(m, "field", e.Param)
	}
	if e.Issue != "" {
		m = withDetail(m, "issue", e.Issue)
	}
	if s := e.RetryAfterSeconds(); s > 0 {
		m = withDetail(m, "retry_after", s)
	}
	return m
}

func googleEnvelope(e *Error, res resolved, c Context) googleBody {
	var b googleBody
	b.Error.Code, b.Error.Message, b.Error.Status = res.status, e.Message, res.kind
	info := map[string]any{
		"@type":  "type.googleapis.com/google.rpc.ErrorInfo",
		"reason": res.code,
		"domain": "tollgate",
	}
	if len(e.Details) > 0 {
		md := make(map[string]string, len(e.Details))
		for k, v := range e.Details {
			md[k] = detailString(v)
		}
		info["metadata"] = md
	}
	b.Error.Details = append(b.Error.Details, info)
	if s := e.RetryAfterSeconds(); s > 0 {
		b.Error.Details = append(b.Error.Details, map[string]any{
			"@type": "type.googleapis.com/google.rpc.RetryInfo", "retryDelay": strconv.FormatInt(s, 10) + "s",
		})
	}
	if e.Param != "" {
		b.Error.Details = append(b.Error.Details, map[string]any{
			"@type":           "type.googleapis.com/google.rpc.BadRequest",
			"fieldViolations": []map[string]string{{"field": e.Param, "description": firstNonEmpty(e.Issue, e.Message)}},
		})
	}
	if c.RequestID != "" {
		b.Error.Details = append(b.Error.Details, map[string]any{
			"@type": "type.googleapis.com/google.rpc.RequestInfo", "requestId": c.RequestID,
		})
	}
	return b
}

func detailString(v any) string {
	if s, ok := v.(string); ok {
		return s
	}
	b, err := json.Marshal(v)
	if err != nil {
		return ""
	}
	return string(b)
}

func firstNonEmpty(a, b string) string {
	if a != "" {
		return a
	}
	return b
}

// DialectFrom returns the dialect chosen for the request by WithDialect, or
// OpenAI.
func DialectFrom(r *http.Request) Dialect {
	if st := tollgate.StateFrom(r.Context()); st != nil && st.Dialect != "" {
		if d, ok := ParseDialect(st.Dialect); ok {
			return d
		}
	}
	return OpenAI
}

// WithDialect returns middleware that makes d the dialect of every error
// written for requests passing through it, by this package's Write and by
// every tollgate layer. Mount it per route to speak, say, Anthropic on
// /v1/messages and OpenAI elsewhere.
func WithDialect(d Dialect) tollgate.Middleware {
	name := d.String()
	return func(next http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			w, r, st := tollgate.Begin(w, r)
			st.Dialect = name
			next.ServeHTTP(w, r)
		})
	}
}

// Write sends err to the client in the request's dialect, with the request
// ID inside the envelope where the dialect has a place for it and a
// Retry-After header when the error carries a delay. Errors that are not
// *Error become a generic 500 that says nothing of their cause.
//
// When the response has already started, the status can no longer change:
// if it is an event stream, the error is written as the dialect's in-stream
// error event and flushed; otherwise nothing more is written.
func Write(w http.ResponseWriter, r *http.Request, err error) {
	WriteDialect(w, r, DialectFrom(r), err)
}

// WriteDialect is Write with an explicit dialect.
func WriteDialect(w http.ResponseWriter, r *http.Request, d Dialect, err error) {
	e := From(err)
	if e == nil {
		e = New(CodeInternalError)
	}
	st := tollgate.StateFrom(r.Context())
	var c Context // a zero Time is stamped when a dialect needs it
	if st != nil {
		c.RequestID = st.RequestID
		if st.Started() {
			if isEventStream(w.Header()) {
				writeStreamEvent(w, d, e, c)
			}
			return
		}
	}
	if d == OpenAI && writeOpenAI(w, e) {
		return
	}
	out := Encode(d, e, c)
	h := w.Header()
	h.Set("Content-Type", out.ContentType)
	h.Set("X-Content-Type-Options", "nosniff")
	h.Del("Content-Length")
	if s := e.RetryAfterSeconds(); s > 0 {
		h.Set("Retry-After", strconv.FormatInt(s, 10))
	}
	w.WriteHeader(out.Status)
	_, _ = w.Write(out.Body)
}

func isEventStream(h http.Header) bool {
	ct := h.Get("Content-Type")
	return len(ct) >= len("text/event-stream") && ct[:len("text/event-stream")] == "text/event-stream"
}

// StreamEvent renders err as the request dialect's in-stream error event,
// ready to write to an event stream: "event: …\n" when the dialect names
// its error events, then "data: …\n\n". The sse package's Writer.Error uses
// it; handlers that write their own streams can too.
func StreamEvent(r *http.Request, err error) []byte {
	e := From(err)
	if e == nil {
		e = New(CodeInternalError)
	}
	event, data := EncodeStream(DialectFrom(r), e, Context{RequestID: tollgate.RequestIDFrom(r.Context()), Time: time.Now()})
	return frame(event, data)
}

func frame(event string, data []byte) []byte {
	n := len(data) + len("data: \n\n")
	if event != "" {
		n += len("event: \n") + len(event)
	}
	b := make([]byte, 0, n)
	if event != "" {
		b = append(b, "event: "...)
		b = append(b, event...)
		b = append(b, '\n')
	}
	b = append(b, "data: "...)
	b = append(b, data...)
	return append(b, '\n', '\n')
}

func writeStreamEvent(w http.ResponseWriter, d Dialect, e *Error, c Context) {
	event, data := EncodeStream(d, e, c)
	_, _ = w.Write(frame(event, data))
	_ = http.NewResponseController(w).Flush()
}

// TaskError renders e as the error member of an asynchronous task object,
// the agents API's {"code":"AGENT_ERROR","message":…,"details":{…}}, for
// handlers that report a failed task in a 200 response.
func TaskError(e *Error) ([]byte, error) {
	if e == nil {
		e = New(CodeInternalError)
	}
	return json.Marshal(struct {
		Code    string         `json:"code"`
		Message string         `json:"message"`
		Details map[string]any `json:"details,omitempty"`
	}{resolve(Flat, e).code, e.Message, e.Details})
}
