package tollgate_test

import (
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/tollgate/tollgate"
)

func TestNewRequestIDIsAUUIDv7OfNow(t *testing.T) {
	before := time.Now().Add(-time.Second)
	id := tollgate.NewRequestID()
	after := time.Now().Add(time.Second)
	require.Len(t, id, 36)
	parsed, err := uuid.Parse(id)
	require.NoError(t, err)
	assert.Equal(t, uuid.Version(7), parsed.Version())
	assert.Equal(t, uuid.RFC4122, parsed.Variant())
	assert.Equal(t, parsed.String(), id, "canonical lowercase form")
	sec, nsec := parsed.Time().UnixTime()
	stamp := time.Unix(sec, nsec)
	assert.True(t, stamp.After(before) && stamp.Before(after), "timestamp %v is now", stamp)
	assert.True(t, tollgate.ValidRequestID(id))
}

func TestNewRequestIDStrictlyIncreases(t *testing.T) {
	ids := make([]string, 10_000)
	for i := range ids {
		ids[i] = tollgate.NewRequestID()
	}
	// Fixed-width lowercase hex sorts as the numbers do.
	for i := 1; i < len(ids); i++ {
		require.Less(t, ids[i-1], ids[i], "id %d", i)
	}
}

func TestNewRequestIDIsUniqueAcrossGoroutines(t *testing.T) {
	const workers, each = 8, 2_000
	out := make([][]string, workers)
	var wg sync.WaitGroup
	for w := range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for range each {
				out[w] = append(out[w], tollgate.NewRequestID())
			}
		}()
	}
	wg.Wait()
	all := slices.Concat(out...)
	slices.Sort(all)
	assert.Len(t, slices.Compact(all), workers*each)
	for _, ids := range out {
		assert.True(t, slices.IsSorted(ids), "each goroutine's IDs increase")
	}
}

func TestNewRequestIDAllocatesOnlyItsString(t *testing.T) {
	allocs := testing.AllocsPerRun(1000, func() { _ = tollgate.NewRequestID() })
	assert.Equal(t, 1.0, allocs)
}
