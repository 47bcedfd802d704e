package redisstore

import (
	"sync"
	"sync/atomic"
	"time"

	"github.com/tollgate/tollgate"
)

// Defaults of the circuit breaker.
const (
	// DefaultBreakerFailures is how many consecutive failed calls open the
	// circuit.
	DefaultBreakerFailures = 5
	// DefaultCoolDown is how long an open circuit refuses calls before it
	// lets one through to probe the server.
	DefaultCoolDown = 5 * time.Second
)

// CircuitState is the state of a Store's circuit breaker. The zero value
// is CircuitClosed.
type CircuitState int32

// The circuit's states.
const (
	// CircuitClosed lets every call through: Redis is answering.
	CircuitClosed CircuitState = iota
	// CircuitOpen refuses every call at once with ErrCircuitOpen: Redis
	// failed Breaker.Failures times in a row and is left alone for the
	// cool-down.
	CircuitOpen
	// CircuitHalfOpen lets one call through to probe the server: its
	// success closes the circuit, its failure opens it again. Other calls
	// are refused meanwhile.
	CircuitHalfOpen
)

// String returns "closed", "open" or "half-open".
func (s CircuitState) String() string {
	switch s {
	case CircuitClosed:
		return "closed"
	case CircuitOpen:
		return "open"
	case CircuitHalfOpen:
		return "half-open"
	}
	return "unknown"
}

// Breaker configures the circuit breaker that stops a Store from
// hammering a Redis that is down: after Failures consecutive failed calls
// (errors of the connection or the server, timeouts; not a caller's
// cancelled context, nor the answers of a server that is up) every call
// fails at once with ErrCircuitOpen for CoolDown; then one call probes the
// server, and its outcome closes or reopens the circuit. The middlewares
// treat ErrCircuitOpen as any store failure: they fail open or closed as
// configured. The zero value is the default breaker.
type Breaker struct {
	// Failures is how many consecutive failures open the circuit;
	// DefaultBreakerFailures when zero. A negative value disables the
	// breaker: every call then goes to Redis.
	Failures int
	// CoolDown is how long the circuit stays open before probing;
	// DefaultCoolDown when zero.
	CoolDown time.Duration
	// Clock times the cool-down; the system clock when nil.
	Clock tollgate.Clock
	// OnChange, when set, is called after every change of state with the
	// old and new states and, on opening, the error that caused it (nil
	// otherwise): to log, alert or export a gauge. It runs on the
	// goroutine of the call that changed the state, outside the breaker's
	// lock, so calls for successive changes may overlap; keep it quick.
	OnChange func(from, to CircuitState, cause error)
}

// circuit is a Breaker at work. A nil circuit lets everything through.
type circuit struct {
	state    atomic.Int32 // CircuitState, read without the lock on the fast path
	fails    atomic.Int32 // consecutive failures while closed
	mu       sync.Mutex
	openedAt time.Time
	probing  bool
	limit    int32
	coolDown time.Duration
	clock    tollgate.Clock
	onChange func(from, to CircuitState, cause error)
}

func newCircuit(b Breaker) *circuit {
	if b.Failures < 0 {
		return nil
	}
	c := &circuit{
		limit:    int32(min(b.Failures, 1<<30)),
		coolDown: b.CoolDown,
		clock:    tollgate.ClockOrSystem(b.Clock),
		onChange: b.OnChange,
	}
	if c.limit == 0 {
		c.limit = DefaultBreakerFailures
	}
	if c.coolDown == 0 {
		c.coolDown = DefaultCoolDown
	}
	return c
}

// current returns the circuit's state.
func (c *circuit) current() CircuitState {
	if c == nil {
		return CircuitClosed
	}
	return CircuitState(c.state.Load())
}

// allow reports whether a call may go ahead, and whether it is the probe
// of a half-open circuit, which must report its outcome with probe set.
func (c *circuit) allow() (probe bool, err error) {
	if c.current() == CircuitClosed {
		return false, nil
	}
	c.mu.Lock()
	from := c.current()
	switch from {
	case CircuitClosed:
		c.mu.Unlock()
		return false, nil
	case CircuitOpen:
		if c.clock.Now().Sub(c.openedAt) < c.coolDown {
			c.mu.Unlock()
			return false, ErrCircuitOpen
		}
		c.state.Store(int32(CircuitHalfOpen))
	default:
		if c.probing {
			c.mu.Unlock()
			return false, ErrCircuitOpen
		}
	}
	c.probing = true
	c.mu.Unlock()
	c.notify(from, CircuitHalfOpen, nil)
	return true, nil
}

// outcome is what a call says about the server.
type outcome uint8

const (
	succeeded outcome = iota // the server answered
	failed                   // the server or the connection failed
	neutral                  // nothing learned: the caller gave up
)

// done records a call's outcome.
func (c *circuit) done(probe bool, o outcome, cause error) {
	if c == nil || !probe && o != failed && c.fails.Load() == 0 {
		return
	}
	c.mu.Lock()
	from := c.current()
	to := from
	if probe {
		c.probing = false
	}
	switch {
	case o == succeeded:
		c.fails.Store(0)
		if probe {
			to = CircuitClosed
		}
	case o == failed && probe:
		to = CircuitOpen
	case o == failed && from == CircuitClosed:
		if c.fails.Add(1) >= c.limit {
			to = CircuitOpen
		}
	}
	if to == CircuitOpen {
		c.openedAt = c.clock.Now()
		c.fails.Store(0)
	}
	if to != from {
		c.state.Store(int32(to))
	}
	c.mu.Unlock()
	if to != from {
		if to != CircuitOpen {
			cause = nil
		}
		c.notify(from, to, cause)
	}
}

func (c *circuit) notify(from, to CircuitState, cause error) {
	if c.onChange != nil {
		c.onChange(from, to, cause)
	}
}
