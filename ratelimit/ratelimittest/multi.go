package ratelimittest

import (
	"math"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/tollgate/tollgate/ratelimit"
)

var multiCases = []storeCase{
	{"TakeAllTakesEveryCharge", testTakeAllAllowed},
	{"TakeAllDeniedTakesNothing", testTakeAllDenied},
	{"TakeAllChargesToOneBucketAddUp", testTakeAllDuplicates},
	{"TakeAllInvalidChargeFailsWhole", testTakeAllInvalid},
	{"TakeAllEmptyAndSingle", testTakeAllEdges},
}

func charge(key string, l ratelimit.Limit, cost int64) ratelimit.Charge {
	return ratelimit.Charge{Key: key, Limit: l, Cost: cost}
}

func (e *env) takeAll(charges ...ratelimit.Charge) (bool, []ratelimit.Result) {
	e.t.Helper()
	results := make([]ratelimit.Result, len(charges))
	ok, err := e.store.TakeAll(e.ctx, charges, results)
	require.NoError(e.t, err)
	return ok, results
}

func testTakeAllAllowed(e *env) {
	t := e.t
	lim5 := ratelimit.Every(time.Second, 5)
	ok, rs := e.takeAll(charge("a", lim3, 1), charge("b", lim5, 2))
	require.True(t, ok)
	assert.True(t, rs[0].Allowed)
	assert.True(t, rs[1].Allowed)
	assert.Equal(t, int64(2), rs[0].Remaining)
	assert.Equal(t, int64(3), rs[1].Remaining)
	assert.Equal(t, 2*time.Second, rs[1].ResetAfter)
	assert.Equal(t, lim5, rs[1].Limit)
	assert.Equal(t, int64(2), e.remaining("a", lim3))
	assert.Equal(t, int64(3), e.remaining("b", lim5))
}

func testTakeAllDenied(e *env) {
	t := e.t
	one := ratelimit.Every(100*time.Millisecond, 1)
	e.take("a", lim3, 1)
	e.take("c", one, 1)
	e.clock.Advance(40 * time.Millisecond)
	ok, rs := e.takeAll(charge("a", lim3, 1), charge("c", one, 1), charge("d", lim3, 2))
	require.False(t, ok)
	assert.True(t, rs[0].Allowed, "a alone would have fitted")
	assert.Equal(t, int64(2), rs[0].Remaining, "a's state is unchanged")
	assert.Zero(t, rs[0].RetryAfter)
	assert.False(t, rs[1].Allowed, "c is empty")
	assert.Equal(t, 60*time.Millisecond, rs[1].RetryAfter)
	assert.Equal(t, 60*time.Millisecond, rs[1].ResetAfter)
	assert.True(t, rs[2].Allowed)
	assert.Equal(t, int64(3), rs[2].Remaining, "d was not created")
	assert.Equal(t, int64(2), e.remaining("a", lim3), "nothing was taken from a")
	assert.Equal(t, int64(3), e.remaining("d", lim3), "nothing was taken from d")
	e.clock.Advance(60 * time.Millisecond)
	ok, _ = e.takeAll(charge("a", lim3, 1), charge("c", one, 1))
	assert.True(t, ok, "allowed once c refilled")
}

func testTakeAllDuplicates(e *env) {
	t := e.t
	ok, rs := e.takeAll(charge("d", lim3, 2), charge("d", lim3, 2))
	require.False(t, ok, "4 tokens from a bucket of 3")
	assert.True(t, rs[0].Allowed)
	assert.False(t, rs[1].Allowed)
	assert.Equal(t, 100*time.Millisecond, rs[1].RetryAfter, "the second charge lacks one token after the first")
	assert.Equal(t, int64(3), e.remaining("d", lim3))
	ok, rs = e.takeAll(charge("d", lim3, 1), charge("d", lim3, 2))
	require.True(t, ok)
	assert.Equal(t, int64(2), rs[0].Remaining)
	assert.Equal(t, int64(0), rs[1].Remaining)
	assert.Zero(t, e.remaining("d", lim3))
}

func testTakeAllInvalid(e *env) {
	t := e.t
	rs := make([]ratelimit.Result, 2)
	_, err := e.store.TakeAll(e.ctx, []ratelimit.Charge{charge("a", lim3, 1), charge("b", lim3, 4)}, rs)
	assert.ErrorIs(t, err, ratelimit.ErrCostExceedsBurst)
	_, err = e.store.TakeAll(e.ctx, []ratelimit.Charge{charge("a", lim3, 1), charge("b", ratelimit.Limit{}, 1)}, rs)
	assert.ErrorIs(t, err, ratelimit.ErrInvalidLimit)
	_, err = e.store.TakeAll(e.ctx, []ratelimit.Charge{charge("a", lim3, 1), charge("b", lim3, -1)}, rs)
	assert.ErrorIs(t, err, ratelimit.ErrInvalidCost)
	_, err = e.store.TakeAll(e.ctx, []ratelimit.Charge{charge("a", lim3, 1), charge("b", lim3, 1)}, rs[:1])
	assert.Error(t, err, "results shorter than charges")
	assert.Equal(t, int64(3), e.remaining("a", lim3), "a failed call takes nothing")
	assert.Equal(t, int64(3), e.remaining("b", lim3))
}

func testTakeAllEdges(e *env) {
	t := e.t
	ok, err := e.store.TakeAll(e.ctx, nil, nil)
	require.NoError(t, err)
	assert.True(t, ok, "no charges: nothing to deny")
	ok, rs := e.takeAll(charge("a", lim3, 3))
	assert.True(t, ok)
	assert.Zero(t, rs[0].Remaining)
	ok, rs = e.takeAll(charge("a", lim3, 1))
	assert.False(t, ok)
	assert.False(t, rs[0].Allowed)
	assert.Equal(t, 100*time.Millisecond, rs[0].RetryAfter)
}

var debitCases = []storeCase{
	{"DebitGoesIntoDebt", testDebitDebt},
	{"DebitRefundsUpToFull", testDebitRefund},
	{"DebitClampsExtremes", testDebitClamp},
}

func testDebitDebt(e *env) {
	t := e.t
	r := e.debit("k", lim3, 5)
	assert.False(t, r.Allowed, "5 tokens from a bucket of 3 is a debt of 2")
	assert.Zero(t, r.Remaining)
	assert.Equal(t, 500*time.Millisecond, r.ResetAfter)
	assert.Equal(t, 200*time.Millisecond, r.RetryAfter, "out of debt after two intervals")

	peek := e.take("k", lim3, 0)
	assert.False(t, peek.Allowed, "a bucket in debt denies even a peek")
	assert.Equal(t, 200*time.Millisecond, peek.RetryAfter)
	denied := e.take("k", lim3, 1)
	assert.False(t, denied.Allowed)
	assert.Equal(t, 300*time.Millisecond, denied.RetryAfter, "the debt and then one token")

	e.clock.Advance(300 * time.Millisecond)
	r = e.take("k", lim3, 1)
	assert.True(t, r.Allowed)
	assert.Zero(t, r.Remaining)
	r = e.debit("k", lim3, 1)
	assert.False(t, r.Allowed)
	assert.Equal(t, 100*time.Millisecond, r.RetryAfter)
}

func testDebitRefund(e *env) {
	t := e.t
	e.drain("k", lim3)
	r := e.debit("k", lim3, -2)
	assert.True(t, r.Allowed)
	assert.Equal(t, int64(2), r.Remaining, "two tokens given back")
	assert.Equal(t, 100*time.Millisecond, r.ResetAfter)
	r = e.debit("k", lim3, -10)
	assert.Equal(t, int64(3), r.Remaining, "never beyond full")
	assert.Zero(t, r.ResetAfter)
	r = e.debit("k", lim3, 0)
	assert.True(t, r.Allowed)
	assert.Equal(t, int64(3), r.Remaining, "a zero debit changes nothing")
	r = e.debit("fresh", lim3, -1)
	assert.Equal(t, int64(3), r.Remaining, "a refund to a full bucket changes nothing")
}

func testDebitClamp(e *env) {
	t := e.t
	r := e.debit("k", lim3, math.MaxInt64)
	assert.False(t, r.Allowed)
	assert.LessOrEqual(t, r.ResetAfter, lim3.Window()+ratelimit.MaxDebt, "the debt is capped")
	assert.Greater(t, r.RetryAfter, time.Duration(0))
	r = e.debit("k", lim3, math.MaxInt64)
	assert.LessOrEqual(t, r.ResetAfter, lim3.Window()+ratelimit.MaxDebt, "the cap holds on a second debit")
	r = e.debit("k", lim3, math.MinInt64)
	assert.True(t, r.Allowed)
	assert.Equal(t, int64(3), r.Remaining, "the largest refund fills the bucket")
	assert.Zero(t, r.ResetAfter)
}
