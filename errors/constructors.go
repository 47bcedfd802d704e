package errors

import (
	"fmt"
	"time"
)

// RateLimited returns a 429 rate_limit_exceeded telling the client to retry
// after d (sent as Retry-After, rounded up to whole seconds, and in the body
// where the dialect has a place for it).
func RateLimited(d time.Duration) *Error {
	e := New(CodeRateLimitExceeded)
	e.RetryAfter = d
	return e
}

// InvalidParam returns a 400 invalid_params naming the request field at
// fault, with a formatted message.
func InvalidParam(param, format string, args ...any) *Error {
	e := New(CodeInvalidParams)
	e.Message, e.Param = fmt.Sprintf(format, args...), param
	return e
}

// MissingField returns a 400 missing_required_field for param, with the
// message "Parameter <param> is required".
func MissingField(param string) *Error {
	e := New(CodeMissingRequiredField)
	e.Message, e.Param = "Parameter "+param+" is required", param
	return e
}

// Internal returns a 500 internal_error wrapping cause, which is logged by
// whoever logs the error and never shown to the client.
func Internal(cause error) *Error {
	e := New(CodeInternalError)
	e.Cause = cause
	return e
}

// Unavailable returns a 503 service_unavailable wrapping cause: what a
// layer answers when the store it depends on is down and it fails closed.
func Unavailable(cause error) *Error {
	e := New(CodeServiceUnavailable)
	e.Cause = cause
	return e
}
