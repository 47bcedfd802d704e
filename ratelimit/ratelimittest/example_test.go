package ratelimittest_test

import (
	"testing"

	"github.com/tollgate/tollgate"
	"github.com/tollgate/tollgate/ratelimit"
	"github.com/tollgate/tollgate/ratelimit/ratelimittest"
)

// The suite checks itself against the memory stores, the reference every
// other backend is held to.
func TestMemoryStoresPass(t *testing.T) {
	ratelimittest.Run(t, func(t *testing.T, clock tollgate.Clock) ratelimit.Store {
		return ratelimit.MustMemoryStore(ratelimit.WithClock(clock))
	})
	ratelimittest.RunLeases(t, func(t *testing.T, clock tollgate.Clock) ratelimit.LeaseStore {
		return ratelimit.MustMemoryLeaseStore(ratelimit.WithClock(clock))
	})
}

// A backend's own test hands the suite a constructor; a store that owns
// its time (Redis reads TIME) accepts the suite's clock for this test and
// passes its reading to the server, and runs RunRealTime on its own clock.
func Example() {
	conformance := func(t *testing.T) {
		ratelimittest.Run(t, func(t *testing.T, clock tollgate.Clock) ratelimit.Store {
			return ratelimit.MustMemoryStore(ratelimit.WithClock(clock))
		})
		ratelimittest.RunRealTime(t, func(t *testing.T) ratelimit.Store {
			return ratelimit.MustMemoryStore()
		})
	}
	_ = conformance // in a _test.go file: func TestConformance(t *testing.T) { … }
}
