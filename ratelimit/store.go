package ratelimit

import (
	"context"
	"time"
)

// Store holds token buckets. Each bucket is named by a Charge's Prefix and
// Key (the two are concatenated: Prefix "rpm:" with Key "k1" is the bucket
// "rpm:k1"), so callers that namespace their keys never build a string per
// request.
//
// A bucket that does not exist is full; implementations may forget a bucket
// whenever it is full again, since that changes no answer. Every method
// decides with the store's own clock (the memory store's Clock option, the
// Redis server's TIME), which is why none takes a time.
//
// Implementations must be safe for concurrent use, must apply each call
// atomically (no other call observes half of it), and must pass the
// conformance suite in package ratelimittest.
type Store interface {
	// Take takes c.Cost tokens from c's bucket when it holds that many and
	// reports the outcome. A denied Take consumes nothing. A cost of 0
	// takes nothing and reports the bucket's state; it is allowed unless
	// the bucket is in debt. Take returns ErrInvalidLimit,
	// ErrInvalidCost or ErrCostExceedsBurst (possibly wrapped) for a
	// charge that could never succeed, and other errors when the store
	// fails.
	Take(ctx context.Context, c Charge) (Result, error)

	// TakeAll takes every charge or none: it reports true, having taken
	// them all, when each bucket holds its cost (charges to the same bucket
	// add up, in order); otherwise it takes nothing and reports false.
	// results must be at least as long as charges; results[i] receives the
	// outcome of charges[i]: after the take when all were allowed, and
	// otherwise the bucket's unchanged state with Allowed telling whether
	// that charge would have fitted and RetryAfter how long until it does.
	// The errors are Take's.
	TakeAll(ctx context.Context, charges []Charge, results []Result) (bool, error)

	// Debit removes c.Cost tokens unconditionally, letting the bucket go
	// into debt (at most MaxDebt of refill time), or gives -c.Cost tokens
	// back when c.Cost is negative (never beyond full). It is how token
	// limits settle the real usage of a request admitted on an estimate.
	// The result's Allowed reports whether the bucket is out of debt, and
	// RetryAfter, when it is not, how long until it is. Debit ignores the
	// burst: a debit larger than the bucket is valid.
	Debit(ctx context.Context, c Charge) (Result, error)
}

// Charge is one bucket and what to take from it. The zero Charge names the
// bucket "" with the zero Limit, which every store rejects with
// ErrInvalidLimit. Charges are plain values, safe to copy.
type Charge struct {
	// Prefix namespaces Key; the bucket is Prefix+Key. It may be empty.
	Prefix string
	// Key names the bucket within Prefix: an API key ID, an account, a
	// client address.
	Key string
	// Limit is the bucket's rate and capacity. It is passed on every call
	// rather than stored, so a key's limit can change (a plan upgrade)
	// without a reset: the bucket keeps its level and refills at the new
	// rate up to the new burst.
	Limit Limit
	// Cost is the number of tokens to take.
	Cost int64
}

// Result is the outcome of a Take, or the state of a bucket after a Debit.
// The zero Result is a denial with no information.
type Result struct {
	// Allowed reports whether the tokens were taken.
	Allowed bool
	// Limit is the limit the decision was made with.
	Limit Limit
	// Remaining is the number of whole tokens left in the bucket after the
	// call, never negative (a bucket in debt reports 0).
	Remaining int64
	// ResetAt is when the bucket will be full again if nothing more is
	// taken (the X-RateLimit-Reset instant).
	ResetAt time.Time
	// ResetAfter is ResetAt less the store's current time.
	ResetAfter time.Duration
	// RetryAfter is, for a denied Take, how long until the cost fits; zero
	// when allowed.
	RetryAfter time.Duration
}

// The bucket arithmetic, shared by every method of the memory store. It is
// GCRA: a bucket is one number, its theoretical arrival time (TAT), the
// instant at which it will be full again. This file works with the offset
// off = TAT − now, clamped at 0 (a full bucket): how much refill time the
// bucket lacks. A bucket of window τ = Burst × Interval holds
// (τ − off) / Interval tokens, so taking n tokens moves off to
// off + n × Interval and is allowed when that stays within τ. Exactly
// rate.Limiter's rule, in integers.

// offset returns the offset of a bucket whose TAT is tat at time now.
func offset(tat, now int64) int64 {
	if tat <= now {
		return 0
	}
	return tat - now
}

// fits returns the offset after taking cost tokens at offset off, and
// whether the bucket held them. cost ≤ Burst and off ≤ τ + MaxDebt keep
// the sum within int64.
func fits(off int64, l Limit, cost int64) (int64, bool) {
	next := off + cost*int64(l.Interval)
	return next, next <= int64(l.Window())
}

// debited returns the offset after removing cost tokens (adding −cost when
// cost is negative), clamped to [0, τ + MaxDebt]. A positive debit never
// lowers an offset that a smaller limit already left above the clamp.
func debited(off int64, l Limit, cost int64) int64 {
	iv := int64(l.Interval)
	maxOff := int64(l.Window()) + int64(MaxDebt)
	switch {
	case cost >= 0:
		if off >= maxOff {
			return off
		}
		if cost > (maxOff-off)/iv {
			return maxOff
		}
		return off + cost*iv
	case cost <= -(off/iv + 1):
		return 0
	default:
		return max(off+cost*iv, 0)
	}
}

// result describes a bucket at offset off at time now.
func result(now, off int64, l Limit, allowed bool, retry int64) Result {
	var remaining int64
	if w := int64(l.Window()); off < w {
		remaining = (w - off) / int64(l.Interval)
	}
	return Result{
		Allowed:    allowed,
		Limit:      l,
		Remaining:  remaining,
		ResetAt:    time.Unix(0, now+off),
		ResetAfter: time.Duration(off),
		RetryAfter: time.Duration(retry),
	}
}

// takeResult is the outcome of taking cost at offset off: the new offset to
// store (off itself when denied) and the Result.
func takeResult(now, off int64, l Limit, cost int64) (int64, Result) {
	next, ok := fits(off, l, cost)
	if ok {
		return next, result(now, next, l, true, 0)
	}
	return off, result(now, off, l, false, next-int64(l.Window()))
}

// debitResult is the outcome of debiting cost at offset off.
func debitResult(now, off int64, l Limit, cost int64) (int64, Result) {
	next := debited(off, l, cost)
	var retry int64
	if w := int64(l.Window()); next > w {
		retry = next - w
	}
	return next, result(now, next, l, retry == 0, retry)
}
