package quota_test

import (
	"context"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/tollgate/tollgate/quota"
	"github.com/tollgate/tollgate/quota/quotatest"
)

func TestMemoryLedgerConformance(t *testing.T) {
	quotatest.Run(t, func(t *testing.T) quota.Ledger {
		l, err := quota.NewMemoryLedger()
		require.NoError(t, err)
		return l
	})
}

func TestMemoryWindowStoreConformance(t *testing.T) {
	quotatest.RunWindows(t, func(t *testing.T) quota.WindowStore {
		s, err := quota.NewMemoryWindowStore()
		require.NoError(t, err)
		return s
	})
}

func TestMemoryOptions(t *testing.T) {
	for _, opt := range []quota.MemoryOption{quota.WithHoldTTL(0), quota.WithReceiptTTL(-time.Second)} {
		_, err := quota.NewMemoryLedger(opt)
		assert.ErrorIs(t, err, quota.ErrInvalidArgument)
		_, err = quota.NewMemoryWindowStore(opt)
		assert.ErrorIs(t, err, quota.ErrInvalidArgument)
		assert.Panics(t, func() { quota.MustMemoryLedger(opt) })
		assert.Panics(t, func() { quota.MustMemoryWindowStore(opt) })
	}
}

func TestMemoryLedgerTTLs(t *testing.T) {
	ctx := context.Background()
	t0 := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	l := quota.MustMemoryLedger(quota.WithHoldTTL(time.Minute), quota.WithReceiptTTL(10*time.Minute))
	_, err := l.Credit(ctx, "a", 100, "r")
	require.NoError(t, err)
	h, err := l.Reserve(ctx, "a", 100, "req", t0)
	require.NoError(t, err)
	assert.Equal(t, t0.Add(time.Minute), h.Expires)
	_, err = l.Settle(ctx, h, 10, t0.Add(time.Second))
	require.NoError(t, err)

	_, err = l.Reserve(ctx, "a", 1, "req", t0.Add(10*time.Minute))
	assert.ErrorIs(t, err, quota.ErrDuplicateRequest, "the receipt lives until it lapses")
	_, err = l.Reserve(ctx, "a", 1, "req", t0.Add(time.Second+10*time.Minute))
	assert.NoError(t, err, "a lapsed receipt frees the request ID")
}

func TestMemoryStoresHonourContext(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	l := quota.MustMemoryLedger()
	now := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	_, err := l.Reserve(ctx, "a", 0, "r", now)
	assert.ErrorIs(t, err, context.Canceled)
	_, err = l.Settle(ctx, quota.Hold{Account: "a", RequestID: "r"}, 0, now)
	assert.ErrorIs(t, err, context.Canceled)
	_, err = l.Balance(ctx, "a", now)
	assert.ErrorIs(t, err, context.Canceled)
	_, err = l.Credit(ctx, "a", 1, "x")
	assert.ErrorIs(t, err, context.Canceled)
	s := quota.MustMemoryWindowStore()
	_, err = s.Reserve(ctx, "a", nil, quota.Amounts{}, "r", now)
	assert.ErrorIs(t, err, context.Canceled)
	_, err = s.Usage(ctx, "a", nil, now)
	assert.ErrorIs(t, err, context.Canceled)
}
