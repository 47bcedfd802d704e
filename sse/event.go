package sse

import (
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"
)

// ErrInvalidEvent is wrapped by the error Event.Append, Writer.Send and
// their relatives return for an event the wire format cannot carry: a line
// break in the type or ID, a NUL in the ID, invalid UTF-8, a negative retry.
var ErrInvalidEvent = errors.New("sse: invalid event")

// Event is one server-sent event. The zero value is a "message" event with
// empty data, which a browser does dispatch.
//
// Written by a Writer, every field goes on the wire as it is, except that
// Data's line breaks (CR, LF or CRLF) are written as separate data lines and
// so come back from any reader as LF. Read by a Reader, the fields are what
// the WHATWG algorithm gives a browser's MessageEvent (see Reader.Next).
type Event struct {
	// Type is the event's type, the "event" field. Empty means "message",
	// the type EventSource.onmessage receives. It must not contain CR or LF.
	Type string
	// ID is the event ID, the "id" field, which a browser sends back as
	// Last-Event-ID when it reconnects. Empty means the event sets no ID.
	// It must not contain CR, LF or NUL (a browser ignores such an ID).
	ID string
	// Data is the event's payload. It may span several lines.
	Data string
	// Retry, when positive, is the "retry" field: how long a browser waits
	// before reconnecting. It is sent in whole milliseconds, rounded up.
	Retry time.Duration
}

// Validate reports whether e can be written as it is: it returns an error
// wrapping ErrInvalidEvent when it cannot.
func (e Event) Validate() error {
	switch {
	case strings.ContainsAny(e.Type, "\r\n"):
		return fmt.Errorf("%w: type %q contains a line break", ErrInvalidEvent, e.Type)
	case strings.ContainsAny(e.ID, "\r\n\x00"):
		return fmt.Errorf("%w: id %q contains a line break or NUL", ErrInvalidEvent, e.ID)
	case e.Retry < 0:
		return fmt.Errorf("%w: retry %v is negative", ErrInvalidEvent, e.Retry)
	case !utf8.ValidString(e.Type) || !utf8.ValidString(e.ID) || !utf8.ValidString(e.Data):
		return fmt.Errorf("%w: not valid UTF-8", ErrInvalidEvent)
	}
	return nil
}

// Append validates e and appends its wire form to dst: the event, id and
// retry fields when set, one data line per line of Data, and the blank line
// that dispatches the event. On error it returns dst unchanged.
func (e Event) Append(dst []byte) ([]byte, error) {
	if err := e.Validate(); err != nil {
		return dst, err
	}
	dst = appendHeader(dst, e.Type, e.ID, e.Retry)
	return appendData(dst, e.Data), nil
}

// appendHeader appends the event, id and retry fields that are set.
func appendHeader(dst []byte, typ, id string, retry time.Duration) []byte {
	if typ != "" {
		dst = append(dst, "event: "...)
		dst = append(dst, typ...)
		dst = append(dst, '\n')
	}
	if id != "" {
		dst = append(dst, "id: "...)
		dst = append(dst, id...)
		dst = append(dst, '\n')
	}
	if retry > 0 {
		ms := (retry + time.Millisecond - 1) / time.Millisecond
		dst = append(dst, "retry: "...)
		dst = strconv.AppendInt(dst, int64(ms), 10)
		dst = append(dst, '\n')
	}
	return dst
}

// appendData appends one "data:" line per line of data, then the blank line
// that ends the event. An empty data still gets one (empty) data line, so
// that the event is dispatched.
func appendData[T string | []byte](dst []byte, data T) []byte {
	for {
		line, rest, more := cutLine(data)
		dst = append(dst, "data:"...)
		if len(line) > 0 {
			dst = append(dst, ' ')
			dst = append(dst, line...)
		}
		dst = append(dst, '\n')
		if !more {
			break
		}
		data = rest
	}
	return append(dst, '\n')
}

// cutLine splits s at its first line break (CRLF, CR or LF), reporting
// whether there was one.
func cutLine[T string | []byte](s T) (line, rest T, found bool) {
	for i := 0; i < len(s); i++ {
		switch s[i] {
		case '\n':
			return s[:i], s[i+1:], true
		case '\r':
			if i+1 < len(s) && s[i+1] == '\n' {
				return s[:i], s[i+2:], true
			}
			return s[:i], s[i+1:], true
		}
	}
	return s, s[len(s):], false
}
