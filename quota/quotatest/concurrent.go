package quotatest

import (
	"errors"
	"strconv"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/tollgate/tollgate/quota"
)

// goroutines is how many callers the concurrency cases start at once.
const goroutines = 64

// together runs f(i) for i in [0, n) on n goroutines released at the same
// moment, and waits for all of them.
func together(n int, f func(i int)) {
	start := make(chan struct{})
	var wg sync.WaitGroup
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			<-start
			f(i)
		}()
	}
	close(start)
	wg.Wait()
}

func testConcurrentReserves(t *testing.T, l quota.Ledger) {
	a := Account(t)
	const balance = goroutines / 4
	credit(t, l, a, balance)
	var granted, refused, failed atomic.Int64
	together(goroutines, func(i int) {
		_, err := l.Reserve(ctx, a, 1, "r"+strconv.Itoa(i), at(0))
		switch {
		case err == nil:
			granted.Add(1)
		case errors.Is(err, quota.ErrInsufficientBalance):
			refused.Add(1)
		default:
			failed.Add(1)
		}
	})
	require.Zero(t, failed.Load(), "only insufficient-balance refusals are expected")
	assert.Equal(t, int64(balance), granted.Load(), "exactly the balance is reserved")
	assert.Equal(t, int64(goroutines-balance), refused.Load())
	assert.Equal(t, quota.Funds{Balance: balance, Held: balance, Holds: balance}, funds(t, l, a, at(0)))
}

func testConcurrentSettles(t *testing.T, l quota.Ledger) {
	a := Account(t)
	credit(t, l, a, 1_000)
	h := reserve(t, l, a, 100, "once", at(0))
	var fresh atomic.Int64
	together(goroutines, func(i int) {
		var rc quota.Receipt
		var err error
		if i%2 == 0 {
			rc, err = l.Settle(ctx, h, 90, at(time.Second))
		} else {
			rc, err = l.Release(ctx, h, at(time.Second))
		}
		if assert.NoError(t, err) && !rc.Replayed {
			fresh.Add(1)
		}
	})
	assert.Equal(t, int64(1), fresh.Load(), "exactly one close takes effect")
	f := funds(t, l, a, at(time.Second))
	assert.Contains(t, []int64{910, 1_000}, f.Balance, "charged once or released once")
	assert.Zero(t, f.Holds)
}

func testConcurrentCredits(t *testing.T, l quota.Ledger) {
	a := Account(t)
	var fresh atomic.Int64
	together(goroutines, func(i int) {
		ref := "ref-" + strconv.Itoa(i%4)
		rc, err := l.Credit(ctx, a, 250, ref)
		if assert.NoError(t, err) && !rc.Replayed {
			fresh.Add(1)
		}
	})
	assert.Equal(t, int64(4), fresh.Load())
	assert.Equal(t, int64(1_000), funds(t, l, a, at(0)).Balance)
}
