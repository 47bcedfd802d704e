package loadtest

import (
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
)

func TestHistogramBucketsWithinThreePercent(t *testing.T) {
	for d := time.Duration(1); d < time.Hour; d = d*17/16 + 1 {
		i := bucketOf(d)
		assert.GreaterOrEqual(t, upper(i), d, "%v", d)
		if d > 64 {
			assert.LessOrEqual(t, float64(upper(i)-d), 0.032*float64(d), "%v", d)
		}
		if i > 0 {
			assert.Less(t, upper(i-1), d, "%v is in the first bucket that holds it", d)
		}
	}
}

func TestHistogramQuantiles(t *testing.T) {
	var h histogram
	for i := 1; i <= 1000; i++ {
		h.add(time.Duration(i) * time.Microsecond)
	}
	assert.InEpsilon(t, float64(500*time.Microsecond), float64(h.quantile(0.5)), 0.035)
	assert.InEpsilon(t, float64(990*time.Microsecond), float64(h.quantile(0.99)), 0.035)
	assert.Equal(t, time.Millisecond, h.quantile(1))
	assert.Equal(t, time.Millisecond, h.max)
	var empty histogram
	assert.Zero(t, empty.quantile(0.99))
}
