package ratelimit

import (
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
)

func TestAppendDuration(t *testing.T) {
	tests := []struct {
		d    time.Duration
		want string
	}{
		{-time.Second, "0s"},
		{0, "0s"},
		{1, "1ms"},
		{20 * time.Millisecond, "20ms"},
		{999*time.Millisecond + 1, "1s"},
		{time.Second, "1s"},
		{1500 * time.Millisecond, "1.5s"},
		{1250 * time.Millisecond, "1.25s"},
		{1001 * time.Millisecond, "1.001s"},
		{6 * time.Minute, "6m0s"},
		{time.Hour, "1h0m0s"},
		{time.Hour + 61500*time.Millisecond, "1h1m1.5s"},
		{100 * time.Hour, "100h0m0s"},
	}
	for _, tt := range tests {
		assert.Equal(t, tt.want, string(appendDuration(nil, tt.d)), "%d", tt.d)
	}
}

// FuzzAppendDuration checks appendDuration against time.Duration's own
// String, on the duration rounded up to the millisecond.
func FuzzAppendDuration(f *testing.F) {
	for _, d := range []int64{0, 1, 999_999, 1_000_000, 1_500_000_000, 360_000_000_000, 3_661_001_000_000, -5} {
		f.Add(d)
	}
	f.Fuzz(func(t *testing.T, n int64) {
		d := time.Duration(n)
		if d > time.Duration(1<<62) {
			return
		}
		want := "0s"
		if d > 0 {
			want = ((d + time.Millisecond - 1) / time.Millisecond * time.Millisecond).String()
		}
		if got := string(appendDuration(nil, d)); got != want {
			t.Fatalf("appendDuration(%d) = %q, want %q", n, got, want)
		}
	})
}

func TestCeilings(t *testing.T) {
	assert.Equal(t, int64(0), ceilSeconds(0))
	assert.Equal(t, int64(0), ceilSeconds(-time.Second))
	assert.Equal(t, int64(1), ceilSeconds(1))
	assert.Equal(t, int64(1), ceilSeconds(time.Second))
	assert.Equal(t, int64(2), ceilSeconds(time.Second+1))
	at := time.Unix(100, 0)
	assert.Equal(t, int64(100), ceilUnix(at))
	assert.Equal(t, int64(101), ceilUnix(at.Add(1)))
}

func TestPer(t *testing.T) {
	assert.Equal(t, "second", per(time.Second))
	assert.Equal(t, "minute", per(PerMinute(7).Window()), "rounding to the nanosecond is not shown")
	assert.Equal(t, "hour", per(time.Hour))
	assert.Equal(t, "day", per(PerDay(1000).Window()))
	assert.Equal(t, "2.5s", per(2500*time.Millisecond))
}

func TestReasonString(t *testing.T) {
	for r, want := range map[Reason]string{ReasonRate: "rate", ReasonTokens: "tokens", ReasonConcurrency: "concurrency", ReasonPenalty: "penalty", ReasonTooLarge: "too_large", 0: "reason(0)", 99: "reason(99)"} {
		assert.Equal(t, want, r.String())
	}
}
