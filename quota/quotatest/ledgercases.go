package quotatest

import (
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/tollgate/tollgate/quota"
)

func testInsufficientBalance(t *testing.T, l quota.Ledger) {
	a := Account(t)
	credit(t, l, a, 5_000_000)
	_, err := l.Reserve(ctx, a, 10_000_000, "big", at(0))
	r := refusal(t, err, quota.ErrInsufficientBalance)
	assert.Equal(t, int64(5_000_000), r.Balance)
	assert.Equal(t, int64(10_000_000), r.Amount)

	h := reserve(t, l, a, 3_000_000, "first", at(0))
	assert.Equal(t, int64(2_000_000), h.Available)
	_, err = l.Reserve(ctx, a, 3_000_000, "second", at(0))
	r = refusal(t, err, quota.ErrInsufficientBalance)
	assert.Equal(t, int64(2_000_000), r.Balance, "the refusal names the available balance")
	h2 := reserve(t, l, a, 2_000_000, "exact", at(0))
	assert.Equal(t, int64(0), h2.Available, "a hold may take the whole available balance")
	assert.Equal(t, quota.Funds{Balance: 5_000_000, Held: 5_000_000, Holds: 2}, funds(t, l, a, at(0)))
}

func testOverdue(t *testing.T, l quota.Ledger) {
	a := Account(t)
	credit(t, l, a, 10)
	h := reserve(t, l, a, 10, "r1", at(0))
	rc, err := l.Settle(ctx, h, 15, at(time.Second))
	require.NoError(t, err)
	assert.Equal(t, quota.Receipt{Amount: 15, Balance: -5}, rc, "settle may exceed the hold")
	for _, amount := range []int64{0, 1} {
		_, err = l.Reserve(ctx, a, amount, "r2", at(time.Second))
		r := refusal(t, err, quota.ErrAccountOverdue)
		assert.Equal(t, int64(-5), r.Balance)
	}
	credit(t, l, a, 5)
	reserve(t, l, a, 0, "r3", at(time.Second))
	_, err = l.Reserve(ctx, a, 1, "r4", at(time.Second))
	refusal(t, err, quota.ErrCreditRequired)
}

func testSettleChargesActual(t *testing.T, l quota.Ledger) {
	a := Account(t)
	credit(t, l, a, 1_000)
	cases := []struct {
		id           string
		hold, actual int64
		balance      int64
	}{
		{"under", 100, 40, 960},
		{"exact", 100, 100, 860},
		{"over", 100, 130, 730},
		{"zero", 100, 0, 730},
	}
	for _, c := range cases {
		h := reserve(t, l, a, c.hold, c.id, at(0))
		assert.Equal(t, quota.Funds{Balance: c.balance + c.actual, Held: c.hold, Holds: 1}, funds(t, l, a, at(0)), c.id)
		rc, err := l.Settle(ctx, h, c.actual, at(time.Second))
		require.NoError(t, err)
		assert.Equal(t, quota.Receipt{Amount: c.actual, Balance: c.balance}, rc, c.id)
		assert.Equal(t, quota.Funds{Balance: c.balance}, funds(t, l, a, at(time.Second)), c.id)
	}
}

func testSettleIdempotent(t *testing.T, l quota.Ledger) {
	a := Account(t)
	credit(t, l, a, 1_000)
	h := reserve(t, l, a, 100, "req", at(0))
	first, err := l.Settle(ctx, h, 70, at(time.Second))
	require.NoError(t, err)
	for _, actual := range []int64{70, 500} {
		again, err := l.Settle(ctx, h, actual, at(2*time.Second))
		require.NoError(t, err)
		assert.Equal(t, quota.Receipt{Amount: 70, Balance: first.Balance, Replayed: true}, again)
	}
	rel, err := l.Release(ctx, h, at(3*time.Second))
	require.NoError(t, err)
	assert.Equal(t, quota.Receipt{Amount: 70, Balance: 930, Replayed: true}, rel, "release after settle is a replay")
	assert.Equal(t, quota.Funds{Balance: 930}, funds(t, l, a, at(3*time.Second)))
}

func testReleaseIdempotent(t *testing.T, l quota.Ledger) {
	a := Account(t)
	credit(t, l, a, 1_000)
	h := reserve(t, l, a, 400, "req", at(0))
	rc, err := l.Release(ctx, h, at(time.Second))
	require.NoError(t, err)
	assert.Equal(t, quota.Receipt{Balance: 1_000}, rc)
	rc, err = l.Release(ctx, h, at(time.Second))
	require.NoError(t, err)
	assert.Equal(t, quota.Receipt{Balance: 1_000, Replayed: true}, rc)
	rc, err = l.Settle(ctx, h, 400, at(time.Second))
	require.NoError(t, err)
	assert.Equal(t, quota.Receipt{Balance: 1_000, Replayed: true}, rc, "settle after release charges nothing")
	assert.Equal(t, quota.Funds{Balance: 1_000}, funds(t, l, a, at(time.Second)))
}

func testDuplicateRequestID(t *testing.T, l quota.Ledger) {
	a := Account(t)
	credit(t, l, a, 1_000)
	h := reserve(t, l, a, 10, "dup", at(0))
	_, err := l.Reserve(ctx, a, 10, "dup", at(0))
	refusal(t, err, quota.ErrDuplicateRequest)
	_, err = l.Settle(ctx, h, 10, at(time.Second))
	require.NoError(t, err)
	_, err = l.Reserve(ctx, a, 10, "dup", at(2*time.Second))
	refusal(t, err, quota.ErrDuplicateRequest)
	rel := reserve(t, l, a, 10, "released", at(0))
	_, err = l.Release(ctx, rel, at(time.Second))
	require.NoError(t, err)
	_, err = l.Reserve(ctx, a, 10, "released", at(2*time.Second))
	refusal(t, err, quota.ErrDuplicateRequest)

	other := Account(t)
	credit(t, l, other, 1_000)
	reserve(t, l, other, 10, "dup", at(0))
	assert.Equal(t, quota.Funds{Balance: 990}, funds(t, l, a, at(2*time.Second)))
}

func testHoldExpires(t *testing.T, l quota.Ledger) {
	a := Account(t)
	credit(t, l, a, 100)
	h := reserve(t, l, a, 100, "slow", at(0))
	require.True(t, h.Expires.After(at(0)), "Expires %v must be after the reservation", h.Expires)
	before := h.Expires.Add(-time.Millisecond)
	assert.Equal(t, quota.Funds{Balance: 100, Held: 100, Holds: 1}, funds(t, l, a, before))
	_, err := l.Reserve(ctx, a, 1, "blocked", before)
	refusal(t, err, quota.ErrInsufficientBalance)

	assert.Equal(t, quota.Funds{Balance: 100}, funds(t, l, a, h.Expires), "the hold lapses at Expires")
	reserve(t, l, a, 100, "next", h.Expires)
	_, err = l.Reserve(ctx, a, 0, "slow", h.Expires)
	refusal(t, err, quota.ErrDuplicateRequest)
}

func testSettleAfterExpiry(t *testing.T, l quota.Ledger) {
	a := Account(t)
	credit(t, l, a, 100)
	h := reserve(t, l, a, 60, "late", at(0))
	late := h.Expires.Add(time.Second)
	assert.Equal(t, quota.Funds{Balance: 100}, funds(t, l, a, late))
	rc, err := l.Settle(ctx, h, 80, late)
	require.NoError(t, err)
	assert.Equal(t, quota.Receipt{Amount: 80, Balance: 20}, rc, "a lapsed hold still charges")
	rc, err = l.Settle(ctx, h, 80, late)
	require.NoError(t, err)
	assert.True(t, rc.Replayed)
	assert.Equal(t, quota.Funds{Balance: 20}, funds(t, l, a, late))
}

func testReleaseAfterExpiry(t *testing.T, l quota.Ledger) {
	a := Account(t)
	credit(t, l, a, 100)
	h := reserve(t, l, a, 60, "late", at(0))
	late := h.Expires.Add(time.Second)
	rc, err := l.Release(ctx, h, late)
	require.NoError(t, err)
	assert.Equal(t, int64(0), rc.Amount)
	assert.Equal(t, quota.Funds{Balance: 100}, funds(t, l, a, late))
}

func testValidation(t *testing.T, l quota.Ledger) {
	a := Account(t)
	h := quota.Hold{Account: a, RequestID: "x"}
	for name, call := range map[string]func() error{
		"reserve empty account": func() error { _, err := l.Reserve(ctx, "", 1, "x", at(0)); return err },
		"reserve empty id":      func() error { _, err := l.Reserve(ctx, a, 1, "", at(0)); return err },
		"reserve negative":      func() error { _, err := l.Reserve(ctx, a, -1, "x", at(0)); return err },
		"settle negative":       func() error { _, err := l.Settle(ctx, h, -1, at(0)); return err },
		"settle no account":     func() error { _, err := l.Settle(ctx, quota.Hold{RequestID: "x"}, 1, at(0)); return err },
		"release no id":         func() error { _, err := l.Release(ctx, quota.Hold{Account: a}, at(0)); return err },
		"balance empty account": func() error { _, err := l.Balance(ctx, "", at(0)); return err },
	} {
		assert.ErrorIs(t, call(), quota.ErrInvalidArgument, name)
	}
	assert.Equal(t, quota.Funds{}, funds(t, l, a, at(0)))
}

func testAccountsIndependent(t *testing.T, l quota.Ledger) {
	a, b := Account(t), Account(t)
	credit(t, l, a, 100)
	h := reserve(t, l, a, 100, "r", at(0))
	_, err := l.Reserve(ctx, b, 1, "r", at(0))
	refusal(t, err, quota.ErrCreditRequired)
	_, err = l.Settle(ctx, h, 150, at(time.Second))
	require.NoError(t, err)
	reserve(t, l, b, 0, "r", at(time.Second))
	assert.Equal(t, quota.Funds{Balance: -50}, funds(t, l, a, at(time.Second)))
	assert.Equal(t, quota.Funds{Holds: 1}, funds(t, l, b, at(time.Second)))
}
