package quota

import (
	"context"
	"errors"
	"math"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

type settleKey struct{}

// TestSettleContext checks that a settlement's context behaves as
// context.WithTimeout(context.WithoutCancel(parent), d) does.
func TestSettleContext(t *testing.T) {
	parent, cancelParent := context.WithCancelCause(context.WithValue(context.Background(), settleKey{}, "v"))
	deadline := time.Now().Add(time.Hour)
	var c settleContext
	c.init(parent, deadline)
	cancelParent(errors.New("client left"))
	assert.NoError(t, context.Cause(&c), "Cause, asked first, finds no cancellation through Value")

	got, ok := c.Deadline()
	assert.True(t, ok)
	assert.Equal(t, deadline, got)
	assert.Equal(t, "v", c.Value(settleKey{}), "values pass through")
	assert.NoError(t, c.Err(), "the client's cancellation does not reach a settlement")
	assert.NoError(t, context.Cause(&c), "nor its cause")
	child, stop := context.WithCancel(&c)
	defer stop()
	assert.NoError(t, child.Err())
	select {
	case <-c.Done():
		t.Fatal("done before the deadline")
	default:
	}

	c.cancel(context.Canceled)
	<-child.Done()
	assert.ErrorIs(t, c.Err(), context.Canceled)
	assert.ErrorIs(t, context.Cause(&c), context.Canceled, "its own cause, not the client's")
	assert.ErrorIs(t, child.Err(), context.Canceled)
	c.cancel(context.DeadlineExceeded)
	assert.ErrorIs(t, c.Err(), context.Canceled, "the first end stays")
}

func TestSettleContextDeadline(t *testing.T) {
	t.Run("passed, polled", func(t *testing.T) {
		var c settleContext
		c.init(context.Background(), time.Now().Add(-time.Second))
		assert.ErrorIs(t, c.Err(), context.DeadlineExceeded)
		<-c.Done()
	})
	t.Run("passed, waited on", func(t *testing.T) {
		var c settleContext
		c.init(context.Background(), time.Now().Add(-time.Second))
		<-c.Done()
		assert.ErrorIs(t, c.Err(), context.DeadlineExceeded)
	})
	t.Run("reached by the timer", func(t *testing.T) {
		var c settleContext
		c.init(context.Background(), time.Now().Add(time.Millisecond))
		<-c.Done() // the timer started by Done closes it
		assert.ErrorIs(t, c.Err(), context.DeadlineExceeded)
		c.cancel(context.Canceled)
		assert.ErrorIs(t, c.Err(), context.DeadlineExceeded)
	})
	t.Run("polled past it after Done", func(t *testing.T) {
		var c settleContext
		c.init(context.Background(), time.Now().Add(time.Hour))
		done := c.Done()
		c.deadline = time.Now().Add(-time.Second) // as if an hour went by
		assert.ErrorIs(t, c.Err(), context.DeadlineExceeded)
		<-done
	})
}

func TestHeaderStorageMatchesFormatDecimal(t *testing.T) {
	for _, micros := range []int64{0, 1, -1, 4_500_000, 1_234, -1_000_000, math.MaxInt64, math.MinInt64} {
		var s headerStorage
		v := s.decimal(micros)
		require.Len(t, v, 1)
		assert.Equal(t, FormatDecimal(micros), v[0], "%d", micros)
		assert.Equal(t, 1, cap(v), "an Add must not write into the storage")
	}
	var sink string
	assert.LessOrEqual(t, testing.AllocsPerRun(100, func() { sink = FormatDecimal(-123_456_789) }), 1.0)
	assert.Equal(t, "-123.456789", sink)
}
