package quota_test

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/tollgate/tollgate/quota"
)

// atomicMin and atomicMax keep running extremes.
func atomicMin(v *atomic.Int64, x int64) {
	for old := v.Load(); x < old && !v.CompareAndSwap(old, x); old = v.Load() {
	}
}

func atomicMax(v *atomic.Int64, x int64) {
	for old := v.Load(); x > old && !v.CompareAndSwap(old, x); old = v.Load() {
	}
}

// books is what the invariant test writes down on its side of the ledger.
type books struct {
	credits, settled atomic.Int64 // first-time credits and charges
	minBalance       atomic.Int64 // lowest balance any receipt showed
	maxOvershoot     atomic.Int64 // largest actual − hold of one request
	openOvershoot    atomic.Int64 // planned overshoot of requests in flight
	peakOvershoot    atomic.Int64 // the most that was ever in flight
	refusals         sync.Map     // reason → count
}

func (b *books) receipt(t *testing.T, rc quota.Receipt, err error) {
	if !assert.NoError(t, err) {
		return
	}
	if !rc.Replayed {
		b.settled.Add(rc.Amount)
	}
	atomicMin(&b.minBalance, rc.Balance)
}

// request reserves, then settles or releases at random, and repeats the
// close to prove it is a replay.
func (b *books) request(t *testing.T, l quota.Ledger, rng *rand.Rand, account, id string, now time.Time) {
	ctx := context.Background()
	hold := rng.Int64N(200)
	if rng.IntN(10) == 0 {
		hold = 0 // a free model
	}
	actual := rng.Int64N(hold + 1)
	if rng.IntN(4) == 0 {
		actual = hold + rng.Int64N(50) // the model used more than estimated
	}
	over := max(actual-hold, 0)
	atomicMax(&b.peakOvershoot, b.openOvershoot.Add(over))
	defer b.openOvershoot.Add(-over)

	h, err := l.Reserve(ctx, account, hold, id, now)
	var refusal *quota.Refusal
	if errors.As(err, &refusal) {
		n, _ := b.refusals.LoadOrStore(refusal.Reason.Error(), new(atomic.Int64))
		n.(*atomic.Int64).Add(1)
		return
	}
	require.NoError(t, err)
	atomicMax(&b.maxOvershoot, over)
	if rng.IntN(5) == 0 {
		rc, err := l.Release(ctx, h, now)
		b.receipt(t, rc, err)
		rc, err = l.Settle(ctx, h, actual, now)
		assert.True(t, rc.Replayed, "settle after release")
		b.receipt(t, rc, err)
		return
	}
	rc, err := l.Settle(ctx, h, actual, now)
	b.receipt(t, rc, err)
	again, err := l.Settle(ctx, h, actual+1, now)
	assert.Equal(t, quota.Receipt{Amount: rc.Amount, Balance: again.Balance, Replayed: true}, again)
	b.receipt(t, again, err)
}

// 1,000 goroutines reserve, settle, release, replay and top up at random
// against one account. At the end the books balance to the micro-unit, no
// hold is left, and the balance never went lower than the overshoot that
// was in flight at once: holds never overspend, only a request that used
// more than it held can push the balance below zero.
func TestLedgerInvariantUnderConcurrency(t *testing.T) {
	const (
		workers = 1_000
		rounds  = 20
		initial = 2_000
		account = "shared"
	)
	l := quota.MustMemoryLedger()
	ctx := context.Background()
	now := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	_, err := l.Credit(ctx, account, initial, "initial")
	require.NoError(t, err)
	var b books
	b.minBalance.Store(initial)

	start := make(chan struct{})
	var wg sync.WaitGroup
	for w := range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			rng := rand.New(rand.NewPCG(uint64(w), 42))
			<-start
			for i := range rounds {
				if rng.IntN(8) == 0 {
					// Top-ups, some of them delivered twice.
					ref := fmt.Sprintf("topup-%d-%d", w, rng.IntN(2))
					rc, err := l.Credit(ctx, account, 300, ref)
					if assert.NoError(t, err) && !rc.Replayed {
						b.credits.Add(rc.Amount)
					}
					continue
				}
				b.request(t, l, rng, account, fmt.Sprintf("req-%d-%d", w, i), now)
			}
		}()
	}
	close(start)
	wg.Wait()

	f, err := l.Balance(ctx, account, now)
	require.NoError(t, err)
	assert.Equal(t, initial+b.credits.Load()-b.settled.Load(), f.Balance, "initial + credits − settled charges == balance")
	assert.Zero(t, f.Held, "no money left held")
	assert.Zero(t, f.Holds, "no hold left open")
	assert.GreaterOrEqual(t, b.minBalance.Load(), -b.peakOvershoot.Load(), "never below the overshoot in flight")
	b.refusals.Range(func(k, v any) bool {
		t.Logf("refused %s: %d", k, v.(*atomic.Int64).Load())
		return true
	})
	t.Logf("balance %d, lowest %d, max single overshoot %d, peak overshoot in flight %d",
		f.Balance, b.minBalance.Load(), b.maxOvershoot.Load(), b.peakOvershoot.Load())
}

// One request at a time: the balance never goes below −(the largest single
// overshoot), because an overdue account is refused before it can
// overshoot again.
func TestLedgerSequentialOvershootBound(t *testing.T) {
	l := quota.MustMemoryLedger()
	ctx := context.Background()
	now := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	_, err := l.Credit(ctx, "acct", 5_000, "initial")
	require.NoError(t, err)
	var b books
	b.minBalance.Store(5_000)
	rng := rand.New(rand.NewPCG(7, 7))
	for i := range 2_000 {
		if i%100 == 99 {
			rc, err := l.Credit(ctx, "acct", 1_000, fmt.Sprint("topup-", i))
			require.NoError(t, err)
			b.credits.Add(rc.Amount)
		}
		b.request(t, l, rng, "acct", fmt.Sprint("req-", i), now)
	}
	f, err := l.Balance(ctx, "acct", now)
	require.NoError(t, err)
	assert.Equal(t, 5_000+b.credits.Load()-b.settled.Load(), f.Balance)
	assert.GreaterOrEqual(t, b.minBalance.Load(), -b.maxOvershoot.Load())
	assert.Less(t, b.minBalance.Load(), int64(0), "the test must reach overdue to mean anything")
	var overdue int64
	if n, ok := b.refusals.Load(quota.ErrAccountOverdue.Error()); ok {
		overdue = n.(*atomic.Int64).Load()
	}
	assert.Positive(t, overdue, "overdue refusals must have happened")
}
