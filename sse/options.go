package sse

import (
	"errors"
	"fmt"
	"net/http"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/tollgate/tollgate"
)

// DefaultKeepAliveInterval is how long the KeepAlive middleware lets a
// stream stay silent before it writes a comment, unless configured
// otherwise.
const DefaultKeepAliveInterval = 10 * time.Second

// DefaultKeepAliveComment is the text of the keep-alive comment unless
// configured otherwise; it goes on the wire as ": keep-alive".
const DefaultKeepAliveComment = "keep-alive"

// ErrConfig is wrapped by every error NewStreams and KeepAlive return for a
// bad option, so callers can tell configuration mistakes apart.
var ErrConfig = errors.New("sse: invalid configuration")

// Option configures NewStreams (and so the Writers it makes) or the
// KeepAlive middleware. Each option's doc says which of the two it applies
// to; giving an option to the other one is a configuration error, so a
// misplaced option is caught at start-up instead of being silently ignored.
type Option func(*config)

// target names the constructor a configuration is built for.
type target uint8

const (
	forWriter target = iota
	forMiddleware
)

type config struct {
	interval    time.Duration
	intervalSet bool
	comment     string
	commentSet  bool
	clock       tollgate.Clock
	done        string
	doneSet     bool
	early       func(*http.Request) bool
	earlySet    bool

	errs []error
}

// KeepAliveInterval sets how long a stream may stay silent before a
// keep-alive comment is written. For NewStreams it turns keep-alive on
// (Writers have none by default); for KeepAlive it replaces
// DefaultKeepAliveInterval. It must be positive.
func KeepAliveInterval(d time.Duration) Option {
	return func(c *config) {
		c.interval, c.intervalSet = d, true
		if d <= 0 {
			c.errs = append(c.errs, fmt.Errorf("keep-alive interval %v is not positive", d))
		}
	}
}

// KeepAliveComment sets the text of the keep-alive comment, written as
// ": " + text followed by a blank line (": ZENMUX PROCESSING" for
// KeepAliveComment("ZENMUX PROCESSING")). It applies to both NewStreams and
// KeepAlive; for NewStreams it needs KeepAliveInterval too. The text must be
// valid UTF-8 without line breaks.
func KeepAliveComment(text string) Option {
	return func(c *config) {
		c.comment, c.commentSet = text, true
		if strings.ContainsAny(text, "\r\n") || !utf8.ValidString(text) {
			c.errs = append(c.errs, fmt.Errorf("keep-alive comment %q must be one line of valid UTF-8", text))
		}
	}
}

// WithClock sets the time source of the keep-alive timers; tests pass a
// tollgatetest.Clock and advance it instead of sleeping. It applies to both
// NewStreams and KeepAlive. A nil clock means the system clock.
func WithClock(clock tollgate.Clock) Option {
	return func(c *config) { c.clock = clock }
}

// DoneData replaces what Writer.Done sends, for every dialect: Done writes
// one event whose data is data, or, when data is empty, nothing at all. It
// applies to NewStreams only. Without it Done follows the request's dialect
// (see Writer.Done).
func DoneData(data string) Option {
	return func(c *config) {
		c.done, c.doneSet = data, true
		if !utf8.ValidString(data) {
			c.errs = append(c.errs, fmt.Errorf("done data %q is not valid UTF-8", data))
		}
	}
}

// CommitEarly makes the KeepAlive middleware answer a request for which
// when returns true with status 200 and an event-stream header as soon as
// the handler has been silent for one interval, and keep it alive with
// comments from then on. It is for handlers, such as a reverse proxy, that
// write nothing until their upstream answers: without it the client sees
// no byte, not even a status, until then. Once the middleware has committed,
// a handler that answers with anything other than a 2xx event stream has its
// answer turned into the dialect's in-stream error event (see KeepAlive).
// It applies to KeepAlive only; when must be safe for concurrent use.
// AcceptsEventStream is a ready predicate.
func CommitEarly(when func(*http.Request) bool) Option {
	return func(c *config) {
		c.early, c.earlySet = when, true
		if when == nil {
			c.errs = append(c.errs, errors.New("CommitEarly predicate is nil"))
		}
	}
}

// buildConfig applies opts and validates them for the constructor t.
func buildConfig(t target, opts []Option) (config, error) {
	var c config
	for _, o := range opts {
		if o != nil {
			o(&c)
		}
	}
	switch {
	case t == forWriter && c.earlySet:
		c.errs = append(c.errs, errors.New("option CommitEarly applies to KeepAlive, not NewStreams"))
	case t == forMiddleware && c.doneSet:
		c.errs = append(c.errs, errors.New("option DoneData applies to NewStreams, not KeepAlive"))
	case t == forWriter && c.commentSet && !c.intervalSet:
		c.errs = append(c.errs, errors.New("option KeepAliveComment needs KeepAliveInterval"))
	}
	if len(c.errs) > 0 {
		return config{}, fmt.Errorf("%w: %w", ErrConfig, errors.Join(c.errs...))
	}
	if t == forMiddleware && !c.intervalSet {
		c.interval = DefaultKeepAliveInterval
	}
	if !c.commentSet {
		c.comment = DefaultKeepAliveComment
	}
	c.clock = tollgate.ClockOrSystem(c.clock)
	return c, nil
}

// commentFrame returns the bytes of one comment block: a ": text" line per
// line of text, then a blank line.
func commentFrame(dst []byte, text string) []byte {
	for {
		line, rest, more := cutLine(text)
		dst = append(dst, ':')
		if line != "" {
			dst = append(dst, ' ')
			dst = append(dst, line...)
		}
		dst = append(dst, '\n')
		if !more {
			break
		}
		text = rest
	}
	return append(dst, '\n')
}

// AcceptsEventStream reports whether the request's Accept header lists
// text/event-stream with a non-zero quality. It is a ready predicate for
// CommitEarly; gateways whose clients ask for streams in the body (OpenAI's
// "stream": true) write their own.
func AcceptsEventStream(r *http.Request) bool {
	for _, v := range r.Header.Values("Accept") {
		for part := range strings.SplitSeq(v, ",") {
			media, params, _ := strings.Cut(part, ";")
			if !strings.EqualFold(strings.TrimSpace(media), "text/event-stream") {
				continue
			}
			if !zeroQuality(params) {
				return true
			}
		}
	}
	return false
}

func zeroQuality(params string) bool {
	for p := range strings.SplitSeq(params, ";") {
		k, v, _ := strings.Cut(strings.TrimSpace(p), "=")
		if strings.EqualFold(k, "q") {
			v = strings.TrimRight(strings.TrimSpace(v), "0")
			return v == "0." || v == "0" || v == ""
		}
	}
	return false
}

// isEventStream reports whether a Content-Type names text/event-stream,
// ignoring parameters and case, without allocating.
func isEventStream(contentType string) bool {
	media, _, _ := strings.Cut(contentType, ";")
	return strings.EqualFold(strings.TrimSpace(media), "text/event-stream")
}
