package quota

import (
	"context"
	"math/rand/v2"
	"slices"
	"strconv"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// Lapsed holds and receipts leave nothing behind: a memory store does not
// grow with the number of requests it has seen.
func TestMemoryLedgerForgets(t *testing.T) {
	ctx := context.Background()
	t0 := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	l := MustMemoryLedger(WithHoldTTL(time.Minute), WithReceiptTTL(time.Minute))
	for i := range 100 {
		account := "acct-" + strconv.Itoa(i)
		h, err := l.Reserve(ctx, account, 0, "r", t0)
		require.NoError(t, err)
		if i%2 == 0 {
			_, err = l.Release(ctx, h, t0)
			require.NoError(t, err)
		}
	}
	// Touch every shard after everything lapsed.
	for i := range 1000 {
		_, err := l.Balance(ctx, "probe-"+strconv.Itoa(i), t0.Add(3*time.Minute))
		require.NoError(t, err)
	}
	for i := range l.shards {
		s := &l.shards[i]
		assert.Empty(t, s.accounts, "shard %d", i)
		assert.Empty(t, s.holds, "shard %d", i)
		assert.Zero(t, s.receipts.len(), "shard %d", i)
	}
}

func TestMemoryWindowStoreForgets(t *testing.T) {
	ctx := context.Background()
	t0 := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	s := MustMemoryWindowStore(WithHoldTTL(time.Minute), WithReceiptTTL(time.Minute))
	limits := []Limit{{Name: "h", Window: RollingStep(time.Hour, time.Minute), Unit: Requests, Max: 10}}
	for i := range 50 {
		account := "acct-" + strconv.Itoa(i)
		h, err := s.Reserve(ctx, account, limits, Amounts{Requests: 1}, "r", t0)
		require.NoError(t, err)
		if i%2 == 0 {
			_, err = s.Settle(ctx, h, Amounts{Requests: 1}, t0)
			require.NoError(t, err)
		}
	}
	later := t0.Add(2 * time.Hour)
	for i := range 1000 {
		_, err := s.Usage(ctx, "probe-"+strconv.Itoa(i), limits, later)
		require.NoError(t, err)
	}
	for i := range s.shards {
		sh := &s.shards[i]
		assert.Empty(t, sh.accounts, "shard %d", i)
		assert.Empty(t, sh.holds, "shard %d", i)
		assert.Empty(t, sh.buckets, "shard %d", i)
		assert.Zero(t, sh.receipts.len(), "shard %d", i)
	}
}

// The heap pops in expiry order whatever was removed from its middle.
func TestExpiryHeap(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	var h expiryHeap
	var live []*timed
	for range 2_000 {
		if len(live) > 0 && rng.IntN(3) == 0 {
			i := rng.IntN(len(live))
			h.remove(live[i])
			assert.Equal(t, -1, live[i].index)
			h.remove(live[i]) // removing twice is harmless
			live = slices.Delete(live, i, i+1)
			continue
		}
		e := &timed{at: rng.Int64N(1_000)}
		h.push(e)
		live = append(live, e)
	}
	var got []int64
	for e := h.peek(); e != nil; e = h.peek() {
		h.remove(e)
		got = append(got, e.at)
	}
	assert.Len(t, got, len(live))
	assert.True(t, slices.IsSorted(got))
}

func TestMulDivCeil(t *testing.T) {
	_, err := mulDivCeil(1, 1, 1, 1, 1, 1, 0)
	assert.ErrorIs(t, err, ErrInvalidArgument)
	got, err := mulDivCeil(3, 1, 0, 0, 0, 0, 2)
	require.NoError(t, err)
	assert.Equal(t, int64(2), got)
	_, err = subChecked(minInt64, 1)
	assert.ErrorIs(t, err, ErrOverflow)
	assert.Equal(t, int64(minInt64), Funds{Balance: minInt64, Held: 1}.Available())
}

// Closed holds are reused by later reservations, never while they are
// still referred to, and the spares are bounded.
func TestMemoryLedgerReusesHolds(t *testing.T) {
	ctx := context.Background()
	t0 := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	l := MustMemoryLedger(WithHoldTTL(time.Minute))
	_, err := l.Credit(ctx, "acct", 1_000_000, "seed")
	require.NoError(t, err)
	holds := make([]Hold, 100)
	for i := range holds {
		holds[i], err = l.Reserve(ctx, "acct", 10, "open-"+strconv.Itoa(i), t0)
		require.NoError(t, err)
	}
	for _, h := range holds {
		_, err := l.Settle(ctx, h, 5, t0)
		require.NoError(t, err)
	}
	s := &l.shards[shardOf("acct", ledgerShards)]
	assert.Len(t, s.spare, maxSpareHolds)
	// Reuse: a new hold gets a spare, and the settled ones stay settled.
	h, err := l.Reserve(ctx, "acct", 7, "next", t0)
	require.NoError(t, err)
	assert.Len(t, s.spare, maxSpareHolds-1)
	rc, err := l.Settle(ctx, holds[0], 5, t0)
	require.NoError(t, err)
	assert.True(t, rc.Replayed)
	funds, err := l.Balance(ctx, "acct", t0)
	require.NoError(t, err)
	assert.Equal(t, Funds{Balance: 1_000_000 - 500, Held: 7, Holds: 1}, funds)
	// A lapsed hold is swept and its slot reused, its receipt kept.
	_, err = l.Balance(ctx, "acct", t0.Add(2*time.Minute))
	require.NoError(t, err)
	_, err = l.Reserve(ctx, "acct", 1, "next", t0.Add(2*time.Minute))
	assert.ErrorIs(t, err, ErrDuplicateRequest)
	rc, err = l.Settle(ctx, h, 7, t0.Add(2*time.Minute))
	require.NoError(t, err, "a late settlement still charges")
	assert.False(t, rc.Replayed)
}
