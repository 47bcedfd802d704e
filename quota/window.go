package quota

import (
	"fmt"
	"strconv"
	"time"
)

// Window is the span a subscription limit counts over: rolling (the last
// five hours, the last seven days) or calendar (this day, this month, in a
// time zone). The zero value is invalid; build one with Rolling,
// RollingStep, Daily or Monthly. A Window is a small immutable value.
//
// Usage is counted in buckets: Bucket(t) names the bucket that usage at t
// goes into and when that bucket stops counting. Stores keep one total per
// bucket, so memory per limit is bounded and a Redis script receives the
// bucket's bounds as arguments instead of doing calendar arithmetic.
type Window struct {
	kind   windowKind
	length time.Duration
	step   time.Duration
	loc    *time.Location
}

type windowKind uint8

const (
	rolling windowKind = iota + 1
	daily
	monthly
)

// rollingBuckets is how many buckets Rolling divides its window into.
const rollingBuckets = 60

// Rolling returns a window over the last length: usage leaves it length
// after it happened, give or take one bucket of length/60 (rounded down to
// a millisecond). Usage is counted from the start of its bucket and kept
// until the bucket's end plus length, so the window is never shorter than
// length: rounding can only delay room, never grant extra.
func Rolling(length time.Duration) Window {
	step := (length / rollingBuckets).Truncate(time.Millisecond)
	if step <= 0 {
		step = length
	}
	return RollingStep(length, step)
}

// RollingStep is Rolling with an explicit bucket size: smaller steps make
// Retry-After more precise and cost a bucket each.
func RollingStep(length, step time.Duration) Window {
	return Window{kind: rolling, length: length, step: step}
}

// Daily returns the calendar day in loc (UTC when nil): usage counts until
// the next local midnight.
func Daily(loc *time.Location) Window { return Window{kind: daily, loc: locOrUTC(loc)} }

// Monthly returns the calendar month in loc (UTC when nil): usage counts
// until midnight on the first of the next month, local time.
func Monthly(loc *time.Location) Window { return Window{kind: monthly, loc: locOrUTC(loc)} }

func locOrUTC(loc *time.Location) *time.Location {
	if loc == nil {
		return time.UTC
	}
	return loc
}

// Validate reports a zero window, or a rolling window whose length or step
// is not a positive whole number of milliseconds with step ≤ length.
func (w Window) Validate() error {
	switch w.kind {
	case rolling:
		ms := time.Millisecond
		if w.length <= 0 || w.step <= 0 || w.step > w.length || w.length%ms != 0 || w.step%ms != 0 {
			return fmt.Errorf("%w: rolling window %v step %v must be whole milliseconds, 0 < step ≤ length",
				ErrInvalidArgument, w.length, w.step)
		}
		return nil
	case daily, monthly:
		return nil
	}
	return fmt.Errorf("%w: zero Window", ErrInvalidArgument)
}

// Bucket returns the bucket that usage at t is counted in: it starts at
// start and counts while now < end. For a rolling window start is t
// rounded down to the step (counted from the Unix epoch) and end is
// start + step + length; for a calendar window they are the bounds of the
// local day or month containing t.
func (w Window) Bucket(t time.Time) (start, end time.Time) {
	switch w.kind {
	case rolling:
		ns, step := t.UnixNano(), int64(w.step)
		s := ns - ((ns%step)+step)%step
		return time.Unix(0, s), time.Unix(0, s+step+int64(w.length))
	case daily:
		l := t.In(w.loc)
		y, m, d := l.Date()
		return time.Date(y, m, d, 0, 0, 0, 0, w.loc), time.Date(y, m, d+1, 0, 0, 0, 0, w.loc)
	case monthly:
		y, m, _ := t.In(w.loc).Date()
		return time.Date(y, m, 1, 0, 0, 0, 0, w.loc), time.Date(y, m+1, 1, 0, 0, 0, 0, w.loc)
	}
	return t, t
}

// String describes the window: "rolling 5h0m0s", "daily Europe/Paris",
// "monthly UTC".
func (w Window) String() string {
	switch w.kind {
	case rolling:
		return "rolling " + w.length.String()
	case daily:
		return "daily " + w.loc.String()
	case monthly:
		return "monthly " + w.loc.String()
	}
	return "invalid window"
}

// Unit is what a limit counts. The zero value is no unit, which Limit's
// Validate rejects.
type Unit uint8

// The units a limit can count in.
const (
	// Requests counts one per request.
	Requests Unit = iota + 1
	// Tokens counts input plus output tokens.
	Tokens
	// Money counts cost in micro-units.
	Money
)

// String returns "requests", "tokens" or "money".
func (u Unit) String() string {
	switch u {
	case Requests:
		return "requests"
	case Tokens:
		return "tokens"
	case Money:
		return "money"
	}
	return "unit(" + strconv.Itoa(int(u)) + ")"
}

// Amounts is what one request counts against limits, in every unit at
// once; each limit takes the amount of its own unit. The zero value counts
// nothing.
type Amounts struct {
	// Requests is 1 for a request.
	Requests int64
	// Tokens is input plus output tokens.
	Tokens int64
	// Money is the cost in micro-units.
	Money int64
}

// Of returns the amount in unit u.
func (a Amounts) Of(u Unit) int64 {
	switch u {
	case Requests:
		return a.Requests
	case Tokens:
		return a.Tokens
	case Money:
		return a.Money
	}
	return 0
}

func (a Amounts) valid() bool { return a.Requests >= 0 && a.Tokens >= 0 && a.Money >= 0 }
