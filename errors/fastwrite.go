package errors

import (
	"net/http"
	"strconv"
	"unsafe"
)

// The OpenAI envelope is the default dialect's, and so the body of most
// refusals a gateway sends (every 429 among them). writeOpenAI writes it
// without reflection and with one allocation for the body and the header
// values together, byte for byte as Encode would.

// maxFastBody bounds the envelopes writeOpenAI builds; longer ones go
// through Encode.
const maxFastBody = 320

// fastResponse is the one allocation behind a fast refusal: the header
// values and the body. The header map keeps it alive until the response is
// done; nothing writes to it after it is handed out.
type fastResponse struct {
	values [3]string
	digits [20]byte
	body   [maxFastBody]byte
}

// writeOpenAI writes e in the OpenAI dialect and reports true, or reports
// false having written nothing when a string of the envelope needs more
// JSON escaping than quotes and backslashes, or the envelope is long: then
// the caller encodes it the general way.
func writeOpenAI(w http.ResponseWriter, e *Error) bool {
	res := resolve(OpenAI, e)
	const frame = len(`{"error":{"message":"","type":"","param":"","code":""}}`)
	if frame+2*(len(e.Message)+len(res.kind)+len(e.Param)+len(res.code)) > maxFastBody ||
		!plainJSON(e.Message) || !plainJSON(res.kind) || !plainJSON(e.Param) || !plainJSON(res.code) {
		return false
	}
	out := new(fastResponse)
	b := append(out.body[:0], `{"error":{"message":"`...)
	b = appendPlainJSON(b, e.Message)
	b = append(b, `","type":"`...)
	b = appendPlainJSON(b, res.kind)
	if e.Param == "" {
		b = append(b, `","param":null,"code":"`...)
	} else {
		b = append(b, `","param":"`...)
		b = appendPlainJSON(b, e.Param)
		b = append(b, `","code":"`...)
	}
	b = appendPlainJSON(b, res.code)
	b = append(b, `"}}`...)

	h := w.Header()
	out.values[0], out.values[1] = "application/json", "nosniff"
	h["Content-Type"] = out.values[0:1:1]
	h["X-Content-Type-Options"] = out.values[1:2:2]
	delete(h, "Content-Length")
	if s := e.RetryAfterSeconds(); s > 0 {
		d := strconv.AppendInt(out.digits[:0], s, 10)
		out.values[2] = unsafe.String(&out.digits[0], len(d))
		h["Retry-After"] = out.values[2:3:3]
	}
	w.WriteHeader(res.status)
	_, _ = w.Write(b)
	return true
}

// plainJSON reports whether s is printable ASCII that encoding/json writes
// as it is, but for quotes and backslashes: no control characters, no
// non-ASCII, and none of the <, > and & that it escapes for HTML.
func plainJSON(s string) bool {
	for i := 0; i < len(s); i++ {
		if c := s[i]; c < 0x20 || c >= 0x7f || c == '<' || c == '>' || c == '&' {
			return false
		}
	}
	return true
}

// appendPlainJSON appends s, for which plainJSON holds, as the inside of a
// JSON string.
func appendPlainJSON(b []byte, s string) []byte {
	start := 0
	for i := 0; i < len(s); i++ {
		if c := s[i]; c == '"' || c == '\\' {
			b = append(b, s[start:i]...)
			b = append(b, '\\', c)
			start = i + 1
		}
	}
	return append(b, s[start:]...)
}
