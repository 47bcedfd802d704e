package ratelimit_test

import (
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/tollgate/tollgate"
	"github.com/tollgate/tollgate/ratelimit"
	"github.com/tollgate/tollgate/ratelimit/ratelimittest"
)

func TestMemoryStoreConformance(t *testing.T) {
	ratelimittest.Run(t, func(t *testing.T, clock tollgate.Clock) ratelimit.Store {
		s, err := ratelimit.NewMemoryStore(ratelimit.WithClock(clock))
		require.NoError(t, err)
		return s
	})
}

func TestMemoryStoreConformanceOneShard(t *testing.T) {
	ratelimittest.Run(t, func(t *testing.T, clock tollgate.Clock) ratelimit.Store {
		s, err := ratelimit.NewMemoryStore(ratelimit.WithClock(clock), ratelimit.WithShards(1))
		require.NoError(t, err)
		return s
	})
}

func TestMemoryStoreRealTime(t *testing.T) {
	ratelimittest.RunRealTime(t, func(t *testing.T) ratelimit.Store {
		return ratelimit.MustMemoryStore()
	})
}

func TestMemoryLeaseStoreConformance(t *testing.T) {
	ratelimittest.RunLeases(t, func(t *testing.T, clock tollgate.Clock) ratelimit.LeaseStore {
		s, err := ratelimit.NewMemoryLeaseStore(ratelimit.WithClock(clock))
		require.NoError(t, err)
		return s
	})
}
