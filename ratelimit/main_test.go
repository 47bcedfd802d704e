package ratelimit_test

import (
	"testing"

	"go.uber.org/goleak"
)

// TestMain fails the package's tests when any goroutine outlives them: a
// leaked timer, connection or background loop shows up here.
func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m)
}
