// Package tollgatetest helps users test handlers that sit behind tollgate's
// middleware: a manual clock, requests that carry a key, and assertions on
// error envelopes in any dialect.
package tollgatetest

import (
	"sort"
	"sync"
	"time"

	"github.com/tollgate/tollgate"
)

// Clock is a manual tollgate.Clock: time stands still until Advance or Set
// moves it, and timers fire, in order, when the time they wait for is
// reached. It is safe for concurrent use. The zero value is not ready; use
// NewClock.
type Clock struct {
	mu     sync.Mutex
	now    time.Time
	timers []*timer
}

// Epoch is the time a NewClock starts at when given the zero time: a fixed,
// round instant so that test expectations are easy to write.
var Epoch = time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)

// NewClock returns a clock standing at start, or at Epoch when start is zero.
func NewClock(start time.Time) *Clock {
	if start.IsZero() {
		start = Epoch
	}
	return &Clock{now: start}
}

// Now returns the clock's current time.
func (c *Clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

// Advance moves the clock forward by d and fires every timer that falls due,
// in the order of their deadlines. A negative d is ignored.
func (c *Clock) Advance(d time.Duration) {
	if d < 0 {
		return
	}
	c.Set(c.Now().Add(d))
}

// Set moves the clock to t (never backwards) and fires the timers that fall
// due.
func (c *Clock) Set(t time.Time) {
	c.mu.Lock()
	if t.After(c.now) {
		c.now = t
	}
	now := c.now
	var due []*timer
	keep := c.timers[:0]
	for _, tm := range c.timers {
		if !tm.when.After(now) {
			due = append(due, tm)
		} else {
			keep = append(keep, tm)
		}
	}
	c.timers = keep
	c.mu.Unlock()
	sort.Slice(due, func(i, j int) bool { return due[i].when.Before(due[j].when) })
	for _, tm := range due {
		select {
		case tm.ch <- tm.when:
		default: // the channel already holds an unread tick, as with time.Timer
		}
	}
}

// Timers returns how many timers are waiting to fire, so a test can wait
// until the code under test has armed its timer before advancing.
func (c *Clock) Timers() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return len(c.timers)
}

// NewTimer returns a timer that fires when the clock reaches Now()+d.
func (c *Clock) NewTimer(d time.Duration) tollgate.Timer {
	t := &timer{c: c, ch: make(chan time.Time, 1)}
	t.Reset(d)
	return t
}

type timer struct {
	c    *Clock
	ch   chan time.Time
	when time.Time
}

func (t *timer) C() <-chan time.Time { return t.ch }

func (t *timer) Stop() bool {
	t.c.mu.Lock()
	defer t.c.mu.Unlock()
	for i, o := range t.c.timers {
		if o == t {
			t.c.timers = append(t.c.timers[:i], t.c.timers[i+1:]...)
			return true
		}
	}
	return false
}

func (t *timer) Reset(d time.Duration) bool {
	active := t.Stop()
	t.c.mu.Lock()
	t.when = t.c.now.Add(d)
	fire := d <= 0
	if !fire {
		t.c.timers = append(t.c.timers, t)
	}
	t.c.mu.Unlock()
	if fire {
		select {
		case t.ch <- t.when:
		default:
		}
	}
	return active
}

var _ tollgate.Clock = (*Clock)(nil)
