// Package quotatest is the conformance suite that every quota.Ledger and
// quota.WindowStore must pass, the in-memory ones and the Redis ones alike:
//
//	func TestLedger(t *testing.T) {
//		quotatest.Run(t, func(t *testing.T) quota.Ledger { return newRedisLedger(t) })
//	}
//
// The suite never sleeps and never reads a clock: every operation gets its
// time as an argument, on a timeline starting at Epoch, so a backend that
// stores times (with millisecond precision or better) is tested for hold
// expiry exactly. Each subtest asks for a fresh store and uses account
// names unique to the run, so a factory may hand out views of one shared
// database.
package quotatest

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/tollgate/tollgate/quota"
)

// Epoch is the instant the suite's timelines start from: a whole second,
// so backends storing milliseconds keep every time exact.
var Epoch = time.Date(2026, 3, 1, 9, 0, 0, 0, time.UTC)

// Run runs the Ledger suite; newLedger must return an empty ledger, or one
// that shares nothing with the accounts of other subtests.
func Run(t *testing.T, newLedger func(t *testing.T) quota.Ledger) {
	t.Helper()
	cases := []struct {
		name string
		run  func(*testing.T, quota.Ledger)
	}{
		{"CreditAndBalance", testCreditAndBalance},
		{"CreditIdempotentByReference", testCreditIdempotent},
		{"CreditRejectsBadArguments", testCreditValidation},
		{"CreditOverflow", testCreditOverflow},
		{"FreeRequestOnZeroBalance", testFreeOnZero},
		{"CreditRequired", testCreditRequired},
		{"InsufficientBalance", testInsufficientBalance},
		{"AccountOverdue", testOverdue},
		{"SettleChargesActual", testSettleChargesActual},
		{"SettleIsIdempotent", testSettleIdempotent},
		{"ReleaseIsIdempotent", testReleaseIdempotent},
		{"DuplicateRequestID", testDuplicateRequestID},
		{"HoldExpires", testHoldExpires},
		{"SettleAfterExpiryCharges", testSettleAfterExpiry},
		{"ReleaseAfterExpiryChangesNothing", testReleaseAfterExpiry},
		{"RejectsBadArguments", testValidation},
		{"AccountsAreIndependent", testAccountsIndependent},
		{"ConcurrentReservesNeverOverspend", testConcurrentReserves},
		{"ConcurrentSettlesChargeOnce", testConcurrentSettles},
		{"ConcurrentCreditsCountOnce", testConcurrentCredits},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			l := newLedger(t)
			require.NotNil(t, l, "newLedger returned nil")
			c.run(t, l)
		})
	}
}

// Account returns an account name unique to this run.
func Account(t *testing.T) string {
	t.Helper()
	return "quotatest-" + uuid.NewString()
}

var ctx = context.Background()

func at(d time.Duration) time.Time { return Epoch.Add(d) }

func funds(t *testing.T, l quota.Ledger, account string, now time.Time) quota.Funds {
	t.Helper()
	f, err := l.Balance(ctx, account, now)
	require.NoError(t, err)
	return f
}

func credit(t *testing.T, l quota.Ledger, account string, amount int64) {
	t.Helper()
	_, err := l.Credit(ctx, account, amount, uuid.NewString())
	require.NoError(t, err)
}

func reserve(t *testing.T, l quota.Ledger, account string, amount int64, id string, now time.Time) quota.Hold {
	t.Helper()
	h, err := l.Reserve(ctx, account, amount, id, now)
	require.NoError(t, err)
	return h
}

// refusal asserts that err is a *quota.Refusal for reason and returns it.
func refusal(t *testing.T, err error, reason error) *quota.Refusal {
	t.Helper()
	require.Error(t, err)
	var r *quota.Refusal
	require.True(t, errors.As(err, &r), "want a *quota.Refusal, got %T: %v", err, err)
	require.ErrorIs(t, err, reason)
	return r
}

func testCreditAndBalance(t *testing.T, l quota.Ledger) {
	a := Account(t)
	assert.Equal(t, quota.Funds{}, funds(t, l, a, at(0)), "an unknown account is empty")
	rc, err := l.Credit(ctx, a, 5_000_000, "topup-1")
	require.NoError(t, err)
	assert.Equal(t, quota.Receipt{Amount: 5_000_000, Balance: 5_000_000}, rc)
	rc, err = l.Credit(ctx, a, 2_500_000, "topup-2")
	require.NoError(t, err)
	assert.Equal(t, int64(7_500_000), rc.Balance)
	assert.Equal(t, quota.Funds{Balance: 7_500_000}, funds(t, l, a, at(0)))
}

func testCreditIdempotent(t *testing.T, l quota.Ledger) {
	a := Account(t)
	first, err := l.Credit(ctx, a, 1_000, "ref")
	require.NoError(t, err)
	again, err := l.Credit(ctx, a, 1_000, "ref")
	require.NoError(t, err)
	assert.Equal(t, quota.Receipt{Amount: 1_000, Balance: first.Balance, Replayed: true}, again)
	_, err = l.Credit(ctx, a, 2_000, "ref")
	assert.ErrorIs(t, err, quota.ErrReferenceConflict)
	assert.Equal(t, int64(1_000), funds(t, l, a, at(0)).Balance)
	other := Account(t)
	rc, err := l.Credit(ctx, other, 1_000, "ref")
	require.NoError(t, err)
	assert.False(t, rc.Replayed, "references are per account")
}

func testCreditValidation(t *testing.T, l quota.Ledger) {
	a := Account(t)
	for name, call := range map[string]func() error{
		"zero amount":     func() error { _, err := l.Credit(ctx, a, 0, "r"); return err },
		"negative amount": func() error { _, err := l.Credit(ctx, a, -1, "r"); return err },
		"empty reference": func() error { _, err := l.Credit(ctx, a, 1, ""); return err },
		"empty account":   func() error { _, err := l.Credit(ctx, "", 1, "r"); return err },
	} {
		assert.ErrorIs(t, call(), quota.ErrInvalidArgument, name)
	}
	assert.Equal(t, quota.Funds{}, funds(t, l, a, at(0)))
}

func testCreditOverflow(t *testing.T, l quota.Ledger) {
	a := Account(t)
	_, err := l.Credit(ctx, a, 1<<63-1, "max")
	require.NoError(t, err)
	_, err = l.Credit(ctx, a, 1, "one-more")
	assert.ErrorIs(t, err, quota.ErrOverflow)
	assert.Equal(t, int64(1<<63-1), funds(t, l, a, at(0)).Balance, "a failed credit changes nothing")
}

func testFreeOnZero(t *testing.T, l quota.Ledger) {
	a := Account(t)
	h := reserve(t, l, a, 0, "free-1", at(0))
	assert.Equal(t, int64(0), h.Amount)
	assert.Equal(t, quota.Funds{Holds: 1}, funds(t, l, a, at(0)), "a free hold is still a hold")
	rc, err := l.Settle(ctx, h, 0, at(time.Second))
	require.NoError(t, err)
	assert.Equal(t, quota.Receipt{}, rc)
	assert.Equal(t, quota.Funds{}, funds(t, l, a, at(time.Second)))
}

func testCreditRequired(t *testing.T, l quota.Ledger) {
	a := Account(t)
	_, err := l.Reserve(ctx, a, 1, "paid-1", at(0))
	r := refusal(t, err, quota.ErrCreditRequired)
	assert.Equal(t, a, r.Account)
	assert.Equal(t, int64(1), r.Amount)
	assert.Equal(t, quota.Funds{}, funds(t, l, a, at(0)), "a refusal holds nothing")
}
