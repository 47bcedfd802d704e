package ratelimit

import (
	"errors"
	"math"
	"time"

	"golang.org/x/time/rate"
)

// Errors returned by stores and by Limit.Validate. Callers branch on them
// with errors.Is; stores may wrap them with detail.
var (
	// ErrInvalidLimit means a Limit has a non-positive Burst or Interval, or
	// a window (Burst × Interval) longer than MaxWindow.
	ErrInvalidLimit = errors.New("ratelimit: invalid limit")
	// ErrInvalidCost means a Take asked for a negative number of tokens.
	ErrInvalidCost = errors.New("ratelimit: negative cost")
	// ErrCostExceedsBurst means a Take asked for more tokens than the
	// bucket can ever hold. Such a request could never be allowed, so it is
	// an error rather than a denial that would tell the client to retry.
	ErrCostExceedsBurst = errors.New("ratelimit: cost exceeds burst")
)

// MaxWindow bounds a Limit's window (Burst × Interval), and MaxDebt bounds
// how far Debit can push a bucket beyond empty. Both keep every computation
// on nanosecond timestamps inside int64 until the year 2200.
const (
	MaxWindow = time.Duration(1 << 60) // about 36 years
	MaxDebt   = time.Duration(1 << 61) // about 73 years
)

// Limit is a token bucket in the terms of golang.org/x/time/rate: it holds
// at most Burst tokens and earns one token every Interval (a rate of
// 1/Interval tokens per second). A request that costs n tokens is allowed
// when the bucket holds at least n; a new bucket starts full.
//
// The rate is kept as an integer interval rather than a float so that
// every store — in memory, in Redis, anywhere — computes the same decision
// to the nanosecond. For every limit whose interval is a whole number of
// nanoseconds (every PerSecond(n) with n dividing 10⁹, PerMinute(60),
// Every(d, b), …) decisions equal rate.Limiter's exactly. Otherwise the
// interval is rounded down to the nanosecond, which speeds the rate up by
// less than 1 ns per Interval: under one part in a million for any
// interval above a millisecond.
//
// The zero Limit is not valid for a Store. A Policy whose limit function
// returns the zero Limit applies no limit to that request. Limits are
// plain values, safe to copy and share.
type Limit struct {
	// Burst is the bucket's capacity: the most tokens one request, or one
	// burst of requests, can take.
	Burst int64
	// Interval is the time it takes to earn one token.
	Interval time.Duration
}

// Every returns a Limit that earns one token every interval and holds at
// most burst tokens, as rate.NewLimiter(rate.Every(interval), burst).
func Every(interval time.Duration, burst int64) Limit {
	return Limit{Burst: burst, Interval: interval}
}

// Per returns a Limit of n tokens per period with a burst of n: a client
// may spend the whole allowance at once and then earns it back evenly over
// period. The interval is period/n, rounded down to the nanosecond.
func Per(n int64, period time.Duration) Limit {
	if n <= 0 || period <= 0 {
		return Limit{Burst: n}
	}
	return Limit{Burst: n, Interval: period / time.Duration(n)}
}

// PerSecond returns Per(n, time.Second).
func PerSecond(n int64) Limit { return Per(n, time.Second) }

// PerMinute returns Per(n, time.Minute).
func PerMinute(n int64) Limit { return Per(n, time.Minute) }

// PerHour returns Per(n, time.Hour).
func PerHour(n int64) Limit { return Per(n, time.Hour) }

// PerDay returns Per(n, 24*time.Hour).
func PerDay(n int64) Limit { return Per(n, 24*time.Hour) }

// FromRate converts a rate.Limit and burst to a Limit, rounding the
// interval (1/r seconds) to the nearest nanosecond when it is within a
// thousandth of one, down otherwise. It returns the zero Limit for a
// non-positive or infinite r, or a rate above 10⁹ tokens per second.
func FromRate(r rate.Limit, burst int) Limit {
	if r <= 0 || math.IsInf(float64(r), 0) || math.IsNaN(float64(r)) {
		return Limit{}
	}
	ns := 1e9 / float64(r)
	if ns < 1 || ns > float64(MaxWindow) {
		return Limit{}
	}
	iv := math.Floor(ns + 1e-3)
	return Limit{Burst: int64(burst), Interval: time.Duration(iv)}
}

// Rate returns the limit's refill rate in tokens per second, for use with
// golang.org/x/time/rate. It returns 0 for a limit without an interval.
func (l Limit) Rate() rate.Limit {
	if l.Interval <= 0 {
		return 0
	}
	return rate.Limit(float64(time.Second) / float64(l.Interval))
}

// Window returns the time an empty bucket takes to fill: Burst × Interval.
// It is the "w" of the RateLimit-Policy header.
func (l Limit) Window() time.Duration {
	return time.Duration(l.Burst) * l.Interval
}

// IsZero reports whether l is the zero Limit.
func (l Limit) IsZero() bool { return l == Limit{} }

// Validate returns ErrInvalidLimit when l cannot be used by a Store: a
// non-positive Burst or Interval, or a window longer than MaxWindow.
func (l Limit) Validate() error {
	if l.Burst <= 0 || l.Interval <= 0 || l.Burst > int64(MaxWindow/l.Interval) {
		return ErrInvalidLimit
	}
	return nil
}

// check validates a limit and a cost the way every store must: the limit
// is valid, the cost is not negative and not more than the burst.
func check(l Limit, cost int64) error {
	if err := l.Validate(); err != nil {
		return err
	}
	if cost < 0 {
		return ErrInvalidCost
	}
	if cost > l.Burst {
		return ErrCostExceedsBurst
	}
	return nil
}
