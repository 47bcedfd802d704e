package quotatest_test

import (
	"testing"

	"github.com/tollgate/tollgate/quota"
	"github.com/tollgate/tollgate/quota/quotatest"
)

// The suite checks itself against the memory ledger and window store, the
// reference every other backend is held to.
func TestMemoryStoresPass(t *testing.T) {
	quotatest.Run(t, func(t *testing.T) quota.Ledger { return quota.MustMemoryLedger() })
	quotatest.RunWindows(t, func(t *testing.T) quota.WindowStore { return quota.MustMemoryWindowStore() })
}

// A backend's own test hands the suite a constructor. Time is an argument
// of every Ledger method, so the suite walks its timeline from Epoch
// without waiting, on any backend; accounts are unique per subtest
// (quotatest.Account), so constructors may share one database.
func Example() {
	conformance := func(t *testing.T) {
		quotatest.Run(t, func(t *testing.T) quota.Ledger { return quota.MustMemoryLedger() })
		quotatest.RunWindows(t, func(t *testing.T) quota.WindowStore { return quota.MustMemoryWindowStore() })
	}
	_ = conformance // in a _test.go file: func TestConformance(t *testing.T) { … }
}
