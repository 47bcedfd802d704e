package quota

import (
	"context"
	"sync"
	"time"
)

// settleContext is the context a settlement runs on: the request's values
// without its cancellation (a client that left must still be charged),
// bounded by the settle timeout. It behaves as
// context.WithTimeout(context.WithoutCancel(parent), timeout) does, but
// costs no allocation of its own: it lives inside the request's
// reservation, it starts its timer only when someone asks for Done, and
// it makes its view of the parent's values only when someone asks for
// one, so a Ledger that only polls Err, as the memory ledger does, settles
// without either. Its zero value is not usable; call init.
type settleContext struct {
	parent   context.Context
	deadline time.Time
	mu       sync.Mutex
	values   context.Context // context.WithoutCancel(parent), made by Value
	done     chan struct{}
	timer    *time.Timer
	err      error
}

// init records the parent, whose values (never its cancellation) the
// settlement sees, and sets the deadline.
func (c *settleContext) init(parent context.Context, deadline time.Time) {
	c.parent = parent
	c.deadline = deadline
}

// Value returns the parent's values, never its cancellation. They come
// through context.WithoutCancel, made on the first call, which hides the
// parent's cancellation from context.Cause and from contexts derived from
// this one the way the context package itself supports (both find a
// parent's cancellation through Value); a settlement must never see the
// client's cancellation, or a charge could be lost.
func (c *settleContext) Value(key any) any {
	c.mu.Lock()
	if c.values == nil {
		c.values = context.WithoutCancel(c.parent)
	}
	values := c.values
	c.mu.Unlock()
	return values.Value(key)
}

// Deadline returns the settlement's deadline.
func (c *settleContext) Deadline() (time.Time, bool) { return c.deadline, true }

// Done returns a channel closed when the deadline passes or the
// settlement ends, starting the deadline's timer on the first call.
func (c *settleContext) Done() <-chan struct{} {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.done == nil {
		c.done = make(chan struct{})
		if c.err == nil && c.expired() {
			c.err = context.DeadlineExceeded
		}
		if c.err != nil {
			close(c.done)
		} else {
			c.timer = time.AfterFunc(time.Until(c.deadline), func() { c.cancel(context.DeadlineExceeded) })
		}
	}
	return c.done
}

// Err returns context.DeadlineExceeded once the deadline has passed,
// context.Canceled once the settlement has ended, and nil before.
func (c *settleContext) Err() error {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.err == nil && c.expired() {
		c.err = context.DeadlineExceeded
		if c.done != nil {
			close(c.done)
			c.timer.Stop()
		}
	}
	return c.err
}

// expired reports whether the deadline has passed; c.mu is held.
func (c *settleContext) expired() bool { return time.Until(c.deadline) <= 0 }

// cancel ends the context with err unless it has already ended.
func (c *settleContext) cancel(err error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.err != nil {
		return
	}
	c.err = err
	if c.done != nil {
		close(c.done)
		c.timer.Stop()
	}
}
