package ratelimit

import (
	"fmt"
	"net/http"
	"time"

	apierrors "github.com/tollgate/tollgate/errors"
)

// Reason says why a request was denied. The zero Reason is none of the
// reasons below.
type Reason uint8

// The reasons a request is denied.
const (
	// ReasonRate: a request policy's bucket lacked the request's cost.
	ReasonRate Reason = iota + 1
	// ReasonTokens: a token policy's bucket lacked the estimate, or is in
	// debt.
	ReasonTokens
	// ReasonConcurrency: the key already holds its limit of concurrent
	// requests.
	ReasonConcurrency
	// ReasonPenalty: the key is blocked after too many failures.
	ReasonPenalty
	// ReasonTooLarge: the request costs more than the policy's burst, so
	// it could never be allowed.
	ReasonTooLarge
)

var reasonNames = [...]string{"", "rate", "tokens", "concurrency", "penalty", "too_large"}

// String returns the reason's name: "rate", "tokens", "concurrency",
// "penalty" or "too_large".
func (r Reason) String() string {
	if int(r) < len(reasonNames) && r > 0 {
		return reasonNames[r]
	}
	return fmt.Sprintf("reason(%d)", r)
}

// Denial describes a denied request, for the OnLimited hook. The hook gets
// its own copy; the zero Denial describes nothing.
type Denial struct {
	// Reason says why.
	Reason Reason
	// Policy names the policy, concurrency limit or penalty box that
	// denied the request.
	Policy string
	// Key is the key the request was limited by.
	Key string
	// Result is the denying bucket's state, for ReasonRate and
	// ReasonTokens (and its Limit for ReasonTooLarge).
	Result Result
	// Lease is the denied Acquire, for ReasonConcurrency.
	Lease Lease
	// Cost is what the request would have taken.
	Cost int64
	// RetryAfter is the wait the client is told (zero for ReasonTooLarge).
	RetryAfter time.Duration

	message string // precomputed for a fixed limit
}

// deny reports a denial to the hook and writes its error.
func (l *limiter) deny(w http.ResponseWriter, r *http.Request, d Denial) {
	if l.onLimited != nil {
		l.onLimited(r, d)
	}
	// The OpenAI envelope has no details, so a denial written in it skips
	// building them: one map less per refusal.
	dialect := apierrors.DialectFrom(r)
	apierrors.WriteDialect(w, r, dialect, d.err(dialect != apierrors.OpenAI))
}

// err builds the denial's error envelope: the catalogue's code for the
// reason, a message naming the limit, and the retry delay both as
// Retry-After (whole seconds, rounded up, at least 1) and as
// details.retryAfter, which is left out unless withDetails.
func (d *Denial) err(withDetails bool) *apierrors.Error {
	var e *apierrors.Error
	l := d.Result.Limit
	switch d.Reason {
	case ReasonTokens:
		e = apierrors.New(apierrors.CodeTokenLimitExceeded)
		e.Message = d.message
		if e.Message == "" {
			e.Message = denialMessage(true, d.Policy, l)
		}
	case ReasonConcurrency:
		e = apierrors.New(apierrors.CodeConcurrentLimitExceeded)
		e.Message = fmt.Sprintf("Too many concurrent requests: at most %d at a time", d.Lease.Limit)
	case ReasonPenalty:
		e = apierrors.New(apierrors.CodeTooManyFailures)
	case ReasonTooLarge:
		e = apierrors.New(apierrors.CodeRequestTooLarge)
		e.Message = fmt.Sprintf("Request costs %d but the %s limit allows at most %d per %s", d.Cost, d.Policy, l.Burst, per(l.Window()))
		e.Details = map[string]any{"limit": l.Burst, "requested": d.Cost}
		return e
	default:
		e = apierrors.New(apierrors.CodeRateLimitExceeded)
		e.Message = d.message
		if e.Message == "" {
			e.Message = denialMessage(false, d.Policy, l)
		}
	}
	if d.RetryAfter > 0 {
		e.RetryAfter = d.RetryAfter
		if withDetails {
			e.Details = map[string]any{"retryAfter": max(ceilSeconds(d.RetryAfter), 1)}
		}
	}
	return e
}

// denialMessage is the message of a request or token policy's denial.
func denialMessage(tokens bool, policy string, l Limit) string {
	if tokens {
		return fmt.Sprintf("Token rate limit exceeded: %d tokens per %s (%s)", l.Burst, per(l.Window()), policy)
	}
	return fmt.Sprintf("Rate limit exceeded: %d requests per %s (%s)", l.Burst, per(l.Window()), policy)
}

// per names a window for a message: "second", "minute", "hour", "day"
// when it is one (to the millisecond, since Per rounds), else a duration.
func per(w time.Duration) string {
	w = w.Round(time.Millisecond)
	switch w {
	case time.Second:
		return "second"
	case time.Minute:
		return "minute"
	case time.Hour:
		return "hour"
	case 24 * time.Hour:
		return "day"
	}
	return w.String()
}

// reject writes the error a key, cost or limit function returned: an
// *apierrors.Error as it is, anything else as a generic 500.
func (l *limiter) reject(w http.ResponseWriter, r *http.Request, err error) {
	l.report(r, err)
	apierrors.Write(w, r, err)
}

// report passes an error to the OnError hook.
func (l *limiter) report(r *http.Request, err error) {
	if l.onError != nil {
		l.onError(r, err)
	}
}

// storeFailed reports a store error and, failing closed, writes 503. It
// returns true when the response has been written.
func (l *limiter) storeFailed(w http.ResponseWriter, r *http.Request, err error) bool {
	l.report(r, err)
	if !l.failClosed {
		return false
	}
	apierrors.Write(w, r, apierrors.New(apierrors.CodeServiceUnavailable).WithCause(err))
	return true
}
