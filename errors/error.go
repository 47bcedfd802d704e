// Package errors is tollgate's error catalogue: one *Error type, one table
// with a row for every error code of the platforms tollgate reproduces, and
// the dialects that render an error as each platform's JSON envelope, both
// as a response body and as an in-stream (Server-Sent Events) error event.
//
// Its name shadows the standard library's, so callers usually import it as
//
//	import apierrors "github.com/tollgate/tollgate/errors"
//
// Every tollgate layer rejects a request through Write, which picks the
// request's dialect (set by WithDialect, or the default), puts the request
// ID inside the envelope where the dialect has a place for it, sets
// Retry-After, and turns any error that is not an *Error into a generic 500
// that leaks nothing of its cause.
package errors

import (
	stderrors "errors"
	"fmt"
	"maps"
	"time"
)

// Error is an API error: what the client is told, in a form every dialect
// can render. The zero value is not useful; build one with New or one of
// the constructors. An *Error is immutable once shared: the With methods
// return modified copies, so package-level values such as those returned by
// New can be reused safely by many goroutines.
type Error struct {
	// Status is the HTTP status code.
	Status int
	// Code is the canonical catalogue code; each dialect spells it its own way.
	Code Code
	// Message is the human-readable text shown to the client. It must not
	// contain secrets.
	Message string
	// Param names the request field at fault, when there is one ("model",
	// "messages", "temperature").
	Param string
	// Issue describes what is wrong with Param, for dialects with a
	// field-level detail (the meta dialect's details.issue).
	Issue string
	// Details carries extra, client-visible context. Keys and values must
	// marshal to JSON.
	Details map[string]any
	// RetryAfter, when positive, is sent as the Retry-After header (whole
	// seconds, rounded up) and, in dialects that have a place for it, in the
	// body.
	RetryAfter time.Duration
	// Cause is the underlying error, for logs and errors.Is/As. It is never
	// rendered to the client.
	Cause error
}

// New returns the catalogue's error for code, with the row's status and
// default message. A code missing from the catalogue yields a 500 with that
// code, so a typo is visible rather than silent.
func New(code Code) *Error {
	row, ok := lookup(code)
	if !ok {
		return &Error{Status: 500, Code: code, Message: "Internal server error"}
	}
	return &Error{Status: row.status, Code: code, Message: row.message, Param: row.param}
}

// Newf returns New(code) with a formatted message.
func Newf(code Code, format string, args ...any) *Error {
	e := New(code)
	e.Message = fmt.Sprintf(format, args...)
	return e
}

// Error returns "code: message", and the cause when there is one.
func (e *Error) Error() string {
	if e.Cause != nil {
		return string(e.Code) + ": " + e.Message + ": " + e.Cause.Error()
	}
	return string(e.Code) + ": " + e.Message
}

// Unwrap returns the cause.
func (e *Error) Unwrap() error { return e.Cause }

// Is reports whether target is an *Error with the same code, so that
// errors.Is(err, apierrors.New(apierrors.CodeRateLimitExceeded)) matches any
// rate-limit error whatever its message.
func (e *Error) Is(target error) bool {
	t, ok := target.(*Error)
	return ok && t != nil && t.Code == e.Code
}

func (e *Error) clone() *Error {
	c := *e
	if e.Details != nil {
		c.Details = maps.Clone(e.Details)
	}
	return &c
}

// WithMessage returns a copy with the message replaced.
func (e *Error) WithMessage(msg string) *Error {
	c := e.clone()
	c.Message = msg
	return c
}

// WithStatus returns a copy with the HTTP status replaced.
func (e *Error) WithStatus(status int) *Error {
	c := e.clone()
	c.Status = status
	return c
}

// WithParam returns a copy naming the request field at fault and, when
// issue is not empty, what is wrong with it.
func (e *Error) WithParam(param, issue string) *Error {
	c := e.clone()
	c.Param, c.Issue = param, issue
	return c
}

// WithDetail returns a copy with one more detail.
func (e *Error) WithDetail(key string, value any) *Error {
	c := e.clone()
	if c.Details == nil {
		c.Details = make(map[string]any, 1)
	}
	c.Details[key] = value
	return c
}

// WithRetryAfter returns a copy telling the client to retry after d.
func (e *Error) WithRetryAfter(d time.Duration) *Error {
	c := e.clone()
	c.RetryAfter = d
	return c
}

// WithCause returns a copy wrapping cause, which is logged but never sent.
func (e *Error) WithCause(cause error) *Error {
	c := e.clone()
	c.Cause = cause
	return c
}

// RetryAfterSeconds returns RetryAfter in whole seconds, rounded up, or 0
// when none is set.
func (e *Error) RetryAfterSeconds() int64 {
	if e.RetryAfter <= 0 {
		return 0
	}
	return int64((e.RetryAfter + time.Second - 1) / time.Second)
}

// From returns err as an *Error: itself (or the first *Error in its chain),
// or, for anything else, a generic 500 internal_error that wraps err as its
// cause and says nothing about it to the client. A nil err yields nil.
func From(err error) *Error {
	if err == nil {
		return nil
	}
	if e, ok := err.(*Error); ok && e != nil {
		return e // the common case, without the allocation As costs
	}
	var e *Error
	if stderrors.As(err, &e) && e != nil {
		return e
	}
	return New(CodeInternalError).WithCause(err)
}
