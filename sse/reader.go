package sse

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"time"
	"unicode/utf8"
)

// DefaultMaxLineLength bounds a line a Reader accepts unless MaxLineLength
// says otherwise: 1 MiB, room for any realistic event's data line.
const DefaultMaxLineLength = 1 << 20

// ErrLineTooLong is wrapped by the error a Reader returns when a line is
// longer than its limit; the Reader is unusable afterwards.
var ErrLineTooLong = errors.New("sse: line too long")

// ReaderOption configures a Reader.
type ReaderOption func(*Reader)

// MaxLineLength sets the longest line, in bytes without its line break, a
// Reader accepts; a longer one fails with ErrLineTooLong instead of being
// buffered. Zero or less means DefaultMaxLineLength.
func MaxLineLength(n int) ReaderOption {
	return func(r *Reader) {
		if n > 0 {
			r.max = n
		}
	}
}

// OnComment makes the Reader call fn with the text of every comment line
// (the line after its colon, less one leading space), which the standard
// otherwise ignores. Tests use it to see keep-alive comments. fn runs
// inside Next, on the caller's goroutine.
func OnComment(fn func(text string)) ReaderOption {
	return func(r *Reader) { r.onComment = fn }
}

// Reader parses an event stream exactly as the WHATWG HTML standard's
// "event stream interpretation" tells a browser to: lines end with CR, LF
// or CRLF; one leading UTF-8 BOM is skipped; the stream is decoded as UTF-8
// with invalid bytes replaced by U+FFFD; comment lines are ignored; one
// space after a field's colon is dropped; data lines are joined with LF; an
// id containing NUL is ignored; retry takes only ASCII digits; unknown
// fields are ignored; a blank line with no data dispatches nothing; and an
// event still incomplete when the stream ends is discarded.
//
// A Reader is for one goroutine. The zero value is not ready; use
// NewReader.
type Reader struct {
	src       io.Reader
	max       int
	onComment func(string)

	buf      []byte // buf[start:end] holds bytes read but not yet parsed
	start    int
	end      int
	scanned  int  // bytes after start known to hold no line break
	skipLF   bool // the last line ended with CR: drop an LF that follows
	bomDone  bool
	err      error
	srcErr   error  // io.EOF or the error that ended the source
	data     []byte // the data buffer
	hasData  bool
	typ      string
	lastID   string
	retry    time.Duration
	retrySet time.Duration // retry seen since the last blank line
}

// NewReader returns a Reader of the event stream src.
func NewReader(src io.Reader, opts ...ReaderOption) *Reader {
	r := &Reader{src: src, max: DefaultMaxLineLength}
	for _, o := range opts {
		if o != nil {
			o(r)
		}
	}
	return r
}

// LastEventID returns the last event ID the stream set, the value a
// browser sends back as Last-Event-ID when it reconnects.
func (r *Reader) LastEventID() string { return r.lastID }

// Retry returns the reconnection time the stream last set with a retry
// field, or zero when it set none.
func (r *Reader) Retry() time.Duration { return r.retry }

// Next returns the next dispatched event. Its Type is the "event" field
// (empty means "message"), its ID the last event ID in force when it was
// dispatched, which an earlier event may have set, its Data the joined data
// lines, and its Retry the reconnection time set by a retry field in the
// event's own block (zero if none). At the end of the stream Next returns
// io.EOF, discarding an incomplete event; it returns any other read error
// as it is, and an error wrapping ErrLineTooLong for an overlong line. An
// error is final: every later call returns it again.
func (r *Reader) Next() (Event, error) {
	for r.err == nil {
		line, err := r.readLine()
		if err != nil {
			r.err = err
			break
		}
		if len(line) == 0 {
			if ev, ok := r.dispatch(); ok {
				return ev, nil
			}
			continue
		}
		r.field(line)
	}
	return Event{}, r.err
}

// dispatch ends the current block; it reports an event when the block
// carried data.
func (r *Reader) dispatch() (Event, bool) {
	retry := r.retrySet
	r.retrySet = 0
	if !r.hasData {
		r.typ = ""
		return Event{}, false
	}
	data := r.data[:len(r.data)-1] // every data line appended an LF
	ev := Event{Type: r.typ, ID: r.lastID, Data: decode(data), Retry: retry}
	r.data, r.hasData, r.typ = r.data[:0], false, ""
	return ev, true
}

// field processes one non-empty line.
func (r *Reader) field(line []byte) {
	name, value, found := bytes.Cut(line, []byte{':'})
	if found && len(value) > 0 && value[0] == ' ' {
		value = value[1:]
	}
	switch {
	case len(name) == 0:
		if r.onComment != nil {
			r.onComment(decode(value))
		}
	case string(name) == "data":
		r.data = append(append(r.data, value...), '\n')
		r.hasData = true
	case string(name) == "event":
		r.typ = decode(value)
	case string(name) == "id":
		if bytes.IndexByte(value, 0) < 0 {
			r.lastID = decode(value)
		}
	case string(name) == "retry":
		if ms, ok := parseDigits(value); ok {
			r.retry, r.retrySet = ms, ms
		}
	}
}

// parseDigits reads a retry value: ASCII digits only, at least one, in
// milliseconds. A value too large for a time.Duration is ignored.
func parseDigits(b []byte) (time.Duration, bool) {
	const limit = int64(1<<63-1) / int64(time.Millisecond)
	if len(b) == 0 {
		return 0, false
	}
	var n int64
	for _, c := range b {
		if c < '0' || c > '9' {
			return 0, false
		}
		n = n*10 + int64(c-'0')
		if n > limit {
			return 0, false
		}
	}
	return time.Duration(n) * time.Millisecond, true
}

// readLine returns the next line without its line break. The slice is
// valid until the next call. Once the source has ended (io.EOF) or failed,
// bytes after the last line break are discarded and the source's error is
// returned.
func (r *Reader) readLine() ([]byte, error) {
	for {
		if r.skipLF && r.start < r.end {
			if r.buf[r.start] == '\n' {
				r.start++
			}
			r.skipLF = false
		}
		if !r.bomDone && (r.end-r.start >= 3 || r.srcErr != nil || !bytes.HasPrefix(bom, r.buf[r.start:r.end])) {
			if bytes.HasPrefix(r.buf[r.start:r.end], bom) {
				r.start += len(bom)
			}
			r.bomDone = true
		}
		if r.bomDone && !r.skipLF {
			if line, ok, err := r.cutLine(); ok || err != nil {
				return line, err
			}
		}
		if r.srcErr != nil {
			return nil, r.srcErr
		}
		if err := r.fill(); err != nil {
			return nil, err
		}
	}
}

var bom = []byte{0xEF, 0xBB, 0xBF}

// cutLine takes one line off the buffer when a line break is in it.
func (r *Reader) cutLine() ([]byte, bool, error) {
	pending := r.buf[r.start:r.end]
	i := bytes.IndexAny(pending[r.scanned:], "\r\n")
	if i < 0 {
		r.scanned = len(pending)
		if r.scanned > r.max {
			return nil, false, fmt.Errorf("%w: more than %d bytes without a line break", ErrLineTooLong, r.max)
		}
		return nil, false, nil
	}
	i += r.scanned
	if i > r.max {
		return nil, false, fmt.Errorf("%w: a line of %d bytes, the limit is %d", ErrLineTooLong, i, r.max)
	}
	r.skipLF = pending[i] == '\r'
	r.start += i + 1
	r.scanned = 0
	return pending[:i], true, nil
}

// fill reads more of the stream into the buffer, making room first.
func (r *Reader) fill() error {
	if r.start > 0 {
		n := copy(r.buf, r.buf[r.start:r.end])
		r.start, r.end = 0, n
	}
	if r.end == len(r.buf) {
		size := max(2*len(r.buf), 4096)
		size = min(size, r.max+2) // a full line, its CR and one more byte
		if size <= len(r.buf) {
			size = len(r.buf) + 1
		}
		r.buf = append(r.buf, make([]byte, size-len(r.buf))...)
	}
	for range 100 {
		n, err := r.src.Read(r.buf[r.end:])
		r.end += n
		if err != nil {
			// Bytes that came with the error are parsed before it is
			// reported, as io.Reader's contract asks.
			r.srcErr = err
			return nil
		}
		if n > 0 {
			return nil
		}
	}
	return io.ErrNoProgress
}

// decode turns b into a string the way the WHATWG Encoding standard's
// "UTF-8 decode" does: valid UTF-8 is kept, and each maximal subpart of an
// ill-formed sequence becomes one U+FFFD. Go's own conversions replace
// every bad byte instead, so "\xE2\x82" would give two replacement
// characters where a browser shows one.
func decode(b []byte) string {
	if utf8.Valid(b) {
		return string(b)
	}
	out := make([]byte, 0, len(b)+8)
	for len(b) > 0 {
		r, size := utf8.DecodeRune(b)
		if r == utf8.RuneError && size <= 1 {
			out = utf8.AppendRune(out, utf8.RuneError)
			b = b[maximalSubpart(b):]
			continue
		}
		out = append(out, b[:size]...)
		b = b[size:]
	}
	return string(out)
}

// maximalSubpart returns the length of the ill-formed sequence at the start
// of b: the lead byte and every continuation byte that could still have
// completed a character (Unicode's "maximal subpart"), at least 1.
func maximalSubpart(b []byte) int {
	lo, hi := byte(0x80), byte(0xBF)
	var need int
	switch c := b[0]; {
	case c >= 0xC2 && c <= 0xDF:
		need = 1
	case c == 0xE0:
		need, lo = 2, 0xA0
	case c == 0xED:
		need, hi = 2, 0x9F
	case c >= 0xE1 && c <= 0xEF:
		need = 2
	case c == 0xF0:
		need, lo = 3, 0x90
	case c == 0xF4:
		need, hi = 3, 0x8F
	case c >= 0xF1 && c <= 0xF3:
		need = 3
	default:
		return 1
	}
	n := 1
	for ; n <= need && n < len(b); n++ {
		if b[n] < lo || b[n] > hi {
			break
		}
		lo, hi = 0x80, 0xBF
	}
	return n
}
