package errors

import (
	"bytes"
	"encoding/json"
	"io"
	"mime"
	"net/http"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"
)

// MaxParseBody bounds how much of a response body Parse reads.
const MaxParseBody = 1 << 20

// Parse reads an error response in any dialect back into an *Error: the
// status, the canonical code (mapped back from the dialect's spelling; a
// code the catalogue does not know is kept as it was sent), the message, the
// field at fault and the retry delay (from the body or the Retry-After
// header). It reads at most MaxParseBody bytes and does not close the body.
// It is how a gateway translates an upstream provider's errors into its own
// dialect, and how tests read envelopes back.
//
// The error is non-nil only when the body cannot be read; a body that is not
// an envelope still yields an *Error for the status.
func Parse(resp *http.Response) (*Error, error) {
	var body []byte
	if resp.Body != nil {
		b, err := io.ReadAll(io.LimitReader(resp.Body, MaxParseBody))
		if err != nil {
			return nil, err
		}
		body = b
	}
	e := ParseBody(resp.StatusCode, resp.Header.Get("Content-Type"), body)
	if e.RetryAfter <= 0 {
		e.RetryAfter = parseRetryAfter(resp.Header.Get("Retry-After"), time.Now())
	}
	return e, nil
}

// ParseBody is Parse for a status, a Content-Type and a body already read.
// It never fails: anything unrecognised becomes the catalogue's generic error
// for the status, with the body's text (trimmed, at most 512 bytes, valid
// UTF-8) as the message when there is any.
func ParseBody(status int, contentType string, body []byte) *Error {
	if status < 100 || status > 999 {
		status = http.StatusBadGateway
	}
	var top map[string]json.RawMessage
	if err := json.Unmarshal(body, &top); err != nil || top == nil {
		return plain(status, body)
	}
	mt, _, _ := mime.ParseMediaType(contentType)
	switch {
	case mt == "application/problem+json" || (has(top, "title") && has(top, "detail")):
		return parseProblem(status, top)
	case has(top, "success") && isObject(top["error"]):
		return parseMeta(status, top)
	case isString(top["error"]):
		return parseFlat(status, top)
	case str(top["type"]) == "error" && isObject(top["error"]):
		return parseAnthropic(status, top)
	case isObject(top["error"]):
		return parseNested(status, top["error"])
	}
	return plain(status, body)
}

func plain(status int, body []byte) *Error {
	e := &Error{Status: status, Code: StatusCode(status)}
	if row, ok := lookup(e.Code); ok {
		e.Message = row.message
	}
	text := bytes.TrimSpace(body)
	if len(text) > 512 {
		text = text[:512]
	}
	if len(text) > 0 && utf8.Valid(text) {
		e.Message = string(text)
	}
	return e
}

func parseProblem(status int, top map[string]json.RawMessage) *Error {
	if s := num(top["status"]); s >= 100 && s <= 999 && status == 0 {
		status = int(s)
	}
	e := &Error{Status: status, Code: Code(str(top["code"])), Message: str(top["detail"]), Param: str(top["param"])}
	if e.Code == "" {
		e.Code = StatusCode(status)
	}
	e.RetryAfter = time.Duration(num(top["retry_after"])) * time.Second
	e.Details = objectMap(top["details"])
	return e
}

func parseMeta(status int, top map[string]json.RawMessage) *Error {
	var body struct {
		Code    string         `json:"code"`
		Message string         `json:"message"`
		Details map[string]any `json:"details"`
	}
	_ = json.Unmarshal(top["error"], &body)
	e := &Error{Status: status, Code: reverse(Meta, body.Code, status), Message: body.Message}
	if len(body.Details) > 0 {
		e.Param, _ = body.Details["field"].(string)
		e.Issue, _ = body.Details["issue"].(string)
		if s, ok := body.Details["retry_after"].(float64); ok && s > 0 {
			e.RetryAfter = time.Duration(s) * time.Second
		}
		e.Details = without(body.Details, "field", "issue", "retry_after")
	}
	return e
}

func parseFlat(status int, top map[string]json.RawMessage) *Error {
	if s := num(top["statusCode"]); status == 0 && s >= 100 && s <= 999 {
		status = int(s)
	}
	e := &Error{Status: status, Code: reverse(Flat, str(top["error"]), status), Message: str(top["message"])}
	if d := objectMap(top["details"]); len(d) > 0 {
		e.Param, _ = d["field"].(string)
		if s, ok := d["retryAfter"].(float64); ok && s > 0 {
			e.RetryAfter = time.Duration(s) * time.Second
		}
		e.Details = without(d, "field", "retryAfter")
	}
	return e
}

func parseAnthropic(status int, top map[string]json.RawMessage) *Error {
	var body struct {
		Type    string `json:"type"`
		Message string `json:"message"`
	}
	_ = json.Unmarshal(top["error"], &body)
	return &Error{Status: status, Code: reverse(Anthropic, body.Type, status), Message: body.Message}
}

// parseNested reads the {"error":{…}} family: OpenAI (and one-api), Typed,
// ZenMux (code is the status as a string) and Google (code is a number).
func parseNested(status int, raw json.RawMessage) *Error {
	var body struct {
		Code    json.RawMessage  `json:"code"`
		Type    string           `json:"type"`
		Message string           `json:"message"`
		Param   *string          `json:"param"`
		Details []map[string]any `json:"details"`
	}
	if json.Unmarshal(raw, &body) != nil {
		// details of an unexpected shape: read the scalar fields alone.
		var fallback struct {
			Type    string `json:"type"`
			Message string `json:"message"`
		}
		_ = json.Unmarshal(raw, &fallback)
		body.Type, body.Message = fallback.Type, fallback.Message
	}
	e := &Error{Status: status, Message: body.Message}
	if body.Param != nil {
		e.Param = *body.Param
	}
	code := str(body.Code)
	switch {
	case isNumber(body.Code):
		parseGoogleDetails(e, body.Details)
	case code != "" && code == strconv.Itoa(status):
		e.Code = reverse(ZenMux, body.Type, status)
	case code != "":
		e.Code = reverseAny(code, status, OpenAI, Typed)
	case body.Type != "":
		e.Code = reverseAny(body.Type, status, OpenAI, Typed, Anthropic)
	default:
		e.Code = StatusCode(status)
	}
	return e
}

func parseGoogleDetails(e *Error, details []map[string]any) {
	for _, d := range details {
		switch d["@type"] {
		case "type.googleapis.com/google.rpc.ErrorInfo":
			if reason, _ := d["reason"].(string); reason != "" {
				e.Code = reverse(Google, reason, e.Status)
			}
			if md, ok := d["metadata"].(map[string]any); ok && len(md) > 0 {
				e.Details = md
			}
		case "type.googleapis.com/google.rpc.RetryInfo":
			if s, _ := d["retryDelay"].(string); s != "" {
				if dur, err := time.ParseDuration(s); err == nil && dur > 0 {
					e.RetryAfter = dur
				}
			}
		case "type.googleapis.com/google.rpc.BadRequest":
			if fv, ok := d["fieldViolations"].([]any); ok && len(fv) > 0 {
				if v, ok := fv[0].(map[string]any); ok {
					e.Param, _ = v["field"].(string)
				}
			}
		}
	}
	if e.Code == "" {
		// Without an ErrorInfo reason, the canonical status name says only
		// as much as the HTTP status does.
		e.Code = StatusCode(e.Status)
	}
}

func parseRetryAfter(v string, now time.Time) time.Duration {
	v = strings.TrimSpace(v)
	if v == "" {
		return 0
	}
	if s, err := strconv.ParseInt(v, 10, 64); err == nil {
		if s <= 0 || s > 1<<31 {
			return 0
		}
		return time.Duration(s) * time.Second
	}
	if t, err := http.ParseTime(v); err == nil && t.After(now) {
		return t.Sub(now)
	}
	return 0
}

func has(m map[string]json.RawMessage, k string) bool { _, ok := m[k]; return ok }

func isObject(raw json.RawMessage) bool {
	raw = bytes.TrimSpace(raw)
	return len(raw) > 0 && raw[0] == '{'
}

func isString(raw json.RawMessage) bool {
	raw = bytes.TrimSpace(raw)
	return len(raw) > 0 && raw[0] == '"'
}

func isNumber(raw json.RawMessage) bool {
	raw = bytes.TrimSpace(raw)
	return len(raw) > 0 && (raw[0] == '-' || (raw[0] >= '0' && raw[0] <= '9'))
}

// str returns a JSON string's value, or a number's text, or "".
func str(raw json.RawMessage) string {
	var s string
	if json.Unmarshal(raw, &s) == nil {
		return s
	}
	if isNumber(raw) {
		return string(bytes.TrimSpace(raw))
	}
	return ""
}

func num(raw json.RawMessage) int64 {
	var n float64
	if json.Unmarshal(raw, &n) != nil || n != n || n > 1<<53 || n < -(1<<53) {
		return 0
	}
	return int64(n)
}

func objectMap(raw json.RawMessage) map[string]any {
	var m map[string]any
	if !isObject(raw) || json.Unmarshal(raw, &m) != nil {
		return nil
	}
	return m
}

func without(m map[string]any, keys ...string) map[string]any {
	for _, k := range keys {
		delete(m, k)
	}
	if len(m) == 0 {
		return nil
	}
	return m
}
