package ratelimit_test

import (
	"context"
	"strconv"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/tollgate/tollgate/ratelimit"
	"github.com/tollgate/tollgate/tollgatetest"
)

func TestLeaseKeysAreDeletedAndSwept(t *testing.T) {
	clock := tollgatetest.NewClock(time.Time{})
	s := ratelimit.MustMemoryLeaseStore(ratelimit.WithClock(clock))
	ctx := context.Background()
	for i := range 1000 {
		l, err := s.Acquire(ctx, "c:", strconv.Itoa(i), 1, time.Minute)
		require.NoError(t, err)
		require.NoError(t, s.Release(ctx, "c:", strconv.Itoa(i), l.ID))
	}
	assert.Zero(t, s.Len(), "released keys are deleted at once")
	for i := range 5000 {
		_, err := s.Acquire(ctx, "f:", strconv.Itoa(i), 10, time.Minute)
		require.NoError(t, err)
	}
	require.Equal(t, 5000, s.Len())
	clock.Advance(time.Minute)
	for i := range 50_000 {
		key := strconv.Itoa(i % 1000)
		l, err := s.Acquire(ctx, "c:", key, 1, time.Minute)
		require.NoError(t, err)
		require.NoError(t, s.Release(ctx, "c:", key, l.ID))
	}
	assert.Less(t, s.Len(), 500, "steady traffic swept the lapsed leases")
}

func TestLeaseKeyCap(t *testing.T) {
	clock := tollgatetest.NewClock(time.Time{})
	s := ratelimit.MustMemoryLeaseStore(ratelimit.WithClock(clock), ratelimit.WithMaxKeys(256), ratelimit.WithShards(2))
	ctx := context.Background()
	for i := range 20_000 {
		l, err := s.Acquire(ctx, "", strconv.Itoa(i), 1, time.Hour)
		require.NoError(t, err)
		require.True(t, l.Acquired)
		if i%101 == 0 {
			require.LessOrEqual(t, s.Len(), 256)
		}
		clock.Advance(time.Millisecond)
	}
	assert.LessOrEqual(t, s.Len(), 256)
}

func TestLeaseIDsStayUnique(t *testing.T) {
	s := ratelimit.MustMemoryLeaseStore()
	ctx := context.Background()
	seen := map[ratelimit.LeaseID]bool{}
	for range 100 {
		l, err := s.Acquire(ctx, "", "k", 1000, time.Hour)
		require.NoError(t, err)
		require.False(t, seen[l.ID])
		seen[l.ID] = true
	}
	for id := range seen {
		require.NoError(t, s.Release(ctx, "", "k", id))
	}
	l, err := s.Acquire(ctx, "", "k", 1, time.Hour)
	require.NoError(t, err)
	assert.False(t, seen[l.ID], "a recycled set does not recycle IDs")
}

func TestMemoryLeaseStoreRealTime(t *testing.T) {
	s := ratelimit.MustMemoryLeaseStore()
	l, err := s.Acquire(context.Background(), "", "k", 1, time.Hour)
	require.NoError(t, err)
	assert.WithinDuration(t, time.Now().Add(time.Hour), l.ExpiresAt, time.Second)
}
