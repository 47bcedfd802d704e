package tollgate

import "time"

// Clock is the one time source every tollgate package accepts, so tests walk
// a fixed timeline instead of sleeping. Implementations must be safe for
// concurrent use. SystemClock is the real one; tollgatetest.Clock is a
// manual one for tests.
type Clock interface {
	// Now returns the current time.
	Now() time.Time
	// NewTimer returns a timer that sends on its channel once d has passed
	// on this clock.
	NewTimer(d time.Duration) Timer
}

// Timer is the part of *time.Timer that tollgate uses, so that a test clock
// can fire timers when it is advanced.
type Timer interface {
	// C returns the channel on which the timer delivers the time it fired.
	C() <-chan time.Time
	// Stop prevents the timer from firing; it reports whether it did so.
	Stop() bool
	// Reset changes the timer to fire after d; it reports whether the timer
	// had been active.
	Reset(d time.Duration) bool
}

// SystemClock is the wall clock. Its zero value is ready to use.
type SystemClock struct{}

// Now returns time.Now().
func (SystemClock) Now() time.Time { return time.Now() }

// NewTimer returns a real timer.
func (SystemClock) NewTimer(d time.Duration) Timer { return systemTimer{time.NewTimer(d)} }

type systemTimer struct{ t *time.Timer }

func (s systemTimer) C() <-chan time.Time        { return s.t.C }
func (s systemTimer) Stop() bool                 { return s.t.Stop() }
func (s systemTimer) Reset(d time.Duration) bool { return s.t.Reset(d) }

// ClockOrSystem returns c, or SystemClock when c is nil. Packages use it to
// resolve an optional clock option.
func ClockOrSystem(c Clock) Clock {
	if c == nil {
		return SystemClock{}
	}
	return c
}
