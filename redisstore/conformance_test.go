package redisstore_test

import (
	"testing"

	"github.com/tollgate/tollgate"
	"github.com/tollgate/tollgate/quota"
	"github.com/tollgate/tollgate/quota/quotatest"
	"github.com/tollgate/tollgate/ratelimit"
	"github.com/tollgate/tollgate/ratelimit/ratelimittest"
	"github.com/tollgate/tollgate/redisstore"
)

// The conformance suites of the core packages, the very tests the memory
// stores pass, run against a real Redis.

func TestBucketStoreConformance(t *testing.T) {
	c := sharedClient(t)
	ratelimittest.Run(t, func(t *testing.T, clock tollgate.Clock) ratelimit.Store {
		return newStore(t, c, redisstore.WithClock(clock)).Buckets()
	})
}

func TestBucketStoreConformanceHashTag(t *testing.T) {
	c := sharedClient(t)
	ratelimittest.Run(t, func(t *testing.T, clock tollgate.Clock) ratelimit.Store {
		tag := func(string) string { return "all" }
		return newStore(t, c, redisstore.WithClock(clock), redisstore.WithHashTag(tag)).Buckets()
	})
}

func TestBucketStoreRealTime(t *testing.T) {
	c := sharedClient(t)
	ratelimittest.RunRealTime(t, func(t *testing.T) ratelimit.Store {
		return newStore(t, c).Buckets()
	})
}

func TestLeaseStoreConformance(t *testing.T) {
	c := sharedClient(t)
	ratelimittest.RunLeases(t, func(t *testing.T, clock tollgate.Clock) ratelimit.LeaseStore {
		return newStore(t, c, redisstore.WithClock(clock)).Leases()
	})
}

func TestLedgerConformance(t *testing.T) {
	c := sharedClient(t)
	quotatest.Run(t, func(t *testing.T) quota.Ledger {
		return newStore(t, c).Ledger()
	})
}

func TestWindowStoreConformance(t *testing.T) {
	c := sharedClient(t)
	quotatest.RunWindows(t, func(t *testing.T) quota.WindowStore {
		return newStore(t, c).Windows()
	})
}
