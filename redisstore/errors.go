package redisstore

import (
	"errors"
	"strings"

	"github.com/redis/go-redis/v9"
)

// Errors a Store's methods return, wrapped in an *Error, besides the
// errors of the interfaces they implement (ratelimit.ErrInvalidLimit,
// quota.ErrInvalidArgument, …), which they return as the memory stores do.
var (
	// ErrCircuitOpen means the call was refused without going to Redis,
	// because Redis kept failing and the circuit breaker is open.
	ErrCircuitOpen = errors.New("redisstore: circuit open: Redis is failing, calls are refused until the cool-down ends")
	// ErrCrossSlot means a Redis Cluster refused a TakeAll whose buckets
	// live in different hash slots; see WithHashTag.
	ErrCrossSlot = errors.New("redisstore: the keys of one call are in different hash slots (see WithHashTag)")
)

// Error is a failure of the store: Redis or the connection to it failed,
// the call timed out, or the circuit breaker refused it. Op names the
// operation ("take", "reserve", …) and Err is the cause, which
// errors.Is and errors.As see through: ErrCircuitOpen,
// context.DeadlineExceeded for a timeout, go-redis's errors otherwise.
// Stores return it as a pointer; the zero value describes nothing.
type Error struct {
	// Op is the operation that failed.
	Op string
	// Err is the cause.
	Err error
}

// Error describes the failure.
func (e *Error) Error() string { return "redisstore: " + e.Op + ": " + e.Err.Error() }

// Unwrap returns the cause.
func (e *Error) Unwrap() error { return e.Err }

// unavailable lists the error replies of a server that is up but cannot
// serve: they count as failures for the breaker. Any other reply (a type
// error, a cross-slot call) proves the server answers.
var unavailable = []string{"LOADING", "BUSY", "MASTERDOWN", "CLUSTERDOWN", "TRYAGAIN", "READONLY", "OOM", "MISCONF", "NOREPLICAS"}

// classify tells what err says about the server. A caller whose own
// context ended learned nothing about it.
func classify(callerGaveUp bool, err error) outcome {
	if err == nil {
		return succeeded
	}
	if callerGaveUp {
		return neutral
	}
	var reply redis.Error
	if errors.As(err, &reply) {
		msg := reply.Error()
		for _, p := range unavailable {
			if strings.HasPrefix(msg, p) {
				return failed
			}
		}
		return succeeded
	}
	return failed
}

// wrap turns a call's error into an *Error.
func wrap(op string, err error) error {
	if redis.HasErrorPrefix(err, "CROSSSLOT") {
		err = errors.Join(ErrCrossSlot, err)
	}
	return &Error{Op: op, Err: err}
}
