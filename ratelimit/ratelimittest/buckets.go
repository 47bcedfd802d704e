package ratelimittest

import (
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/tollgate/tollgate/ratelimit"
)

// lim3 is the suite's usual bucket: 3 tokens, one earned every 100 ms.
var lim3 = ratelimit.Every(100*time.Millisecond, 3)

var bucketCases = []storeCase{
	{"BurstThenDeny", testBurstThenDeny},
	{"Refill", testRefill},
	{"RetryAfterIsTimeUntilCostFits", testRetryAfter},
	{"CostZeroPeeks", testPeek},
	{"DenialConsumesNothing", testDenialFree},
	{"InvalidChargesFailAndChangeNothing", testInvalid},
	{"KeysAreIndependentAndPrefixJoinsKey", testKeys},
	{"LimitChangeKeepsLevel", testLimitChange},
	{"ResetAtMatchesResetAfter", testResetAt},
}

func testBurstThenDeny(e *env) {
	t := e.t
	for i, want := range []int64{2, 1, 0} {
		r := e.take("k", lim3, 1)
		assert.True(t, r.Allowed, "take %d", i+1)
		assert.Equal(t, want, r.Remaining, "remaining after take %d", i+1)
		assert.Equal(t, time.Duration(i+1)*100*time.Millisecond, r.ResetAfter, "reset after take %d", i+1)
		assert.Zero(t, r.RetryAfter)
		assert.Equal(t, lim3, r.Limit)
	}
	r := e.take("k", lim3, 1)
	assert.False(t, r.Allowed)
	assert.Zero(t, r.Remaining)
	assert.Equal(t, 100*time.Millisecond, r.RetryAfter)
	assert.Equal(t, 300*time.Millisecond, r.ResetAfter)
	assert.Equal(t, lim3, r.Limit)
}

func testRefill(e *env) {
	t := e.t
	e.drain("k", lim3)
	e.clock.Advance(100 * time.Millisecond)
	assert.True(t, e.take("k", lim3, 1).Allowed, "one token after one interval")
	assert.False(t, e.take("k", lim3, 1).Allowed, "only one")
	e.clock.Advance(250 * time.Millisecond)
	assert.True(t, e.take("k", lim3, 1).Allowed)
	r := e.take("k", lim3, 1)
	assert.True(t, r.Allowed, "2.5 tokens hold two whole ones")
	assert.Zero(t, r.Remaining)
	r = e.take("k", lim3, 1)
	assert.False(t, r.Allowed)
	assert.Equal(t, 50*time.Millisecond, r.RetryAfter, "half a token is missing")
	e.clock.Advance(time.Hour)
	r = e.take("k", lim3, 1)
	assert.True(t, r.Allowed)
	assert.Equal(t, int64(2), r.Remaining, "a bucket never holds more than its burst")
}

func testRetryAfter(e *env) {
	t := e.t
	e.drain("k", lim3)
	e.clock.Advance(30 * time.Millisecond)
	tests := []struct {
		cost int64
		want time.Duration
	}{
		{1, 70 * time.Millisecond},
		{2, 170 * time.Millisecond},
		{3, 270 * time.Millisecond},
	}
	for _, tt := range tests {
		r := e.take("k", lim3, tt.cost)
		assert.False(t, r.Allowed, "cost %d", tt.cost)
		assert.Equal(t, tt.want, r.RetryAfter, "cost %d", tt.cost)
	}
	e.clock.Advance(70 * time.Millisecond)
	assert.True(t, e.take("k", lim3, 1).Allowed, "the first retry time is exact")
}

func testPeek(e *env) {
	t := e.t
	r := e.take("k", lim3, 0)
	assert.True(t, r.Allowed)
	assert.Equal(t, int64(3), r.Remaining)
	assert.Zero(t, r.ResetAfter, "a new bucket is full")
	e.take("k", lim3, 2)
	for range 3 {
		r = e.take("k", lim3, 0)
		assert.True(t, r.Allowed)
		assert.Equal(t, int64(1), r.Remaining, "peeking takes nothing")
		assert.Equal(t, 200*time.Millisecond, r.ResetAfter)
	}
	e.take("k", lim3, 1)
	r = e.take("k", lim3, 0)
	assert.True(t, r.Allowed, "an empty bucket is not in debt")
	assert.Zero(t, r.Remaining)
}

func testDenialFree(e *env) {
	t := e.t
	e.drain("k", lim3)
	for range 10 {
		assert.False(t, e.take("k", lim3, 1).Allowed)
	}
	e.clock.Advance(100 * time.Millisecond)
	assert.True(t, e.take("k", lim3, 1).Allowed, "denied takes did not push the bucket back")
	assert.False(t, e.take("k", lim3, 1).Allowed)
}

func testInvalid(e *env) {
	t := e.t
	e.take("k", lim3, 1)
	tests := []struct {
		name  string
		limit ratelimit.Limit
		cost  int64
		want  error
	}{
		{"cost above burst", lim3, 4, ratelimit.ErrCostExceedsBurst},
		{"negative cost", lim3, -1, ratelimit.ErrInvalidCost},
		{"zero limit", ratelimit.Limit{}, 1, ratelimit.ErrInvalidLimit},
		{"zero burst", ratelimit.Limit{Interval: time.Second}, 0, ratelimit.ErrInvalidLimit},
		{"zero interval", ratelimit.Limit{Burst: 3}, 1, ratelimit.ErrInvalidLimit},
		{"negative interval", ratelimit.Limit{Burst: 3, Interval: -time.Second}, 1, ratelimit.ErrInvalidLimit},
		{"window too long", ratelimit.Every(ratelimit.MaxWindow/2, 3), 1, ratelimit.ErrInvalidLimit},
	}
	for _, tt := range tests {
		_, err := e.store.Take(e.ctx, ratelimit.Charge{Key: "k", Limit: tt.limit, Cost: tt.cost})
		assert.ErrorIs(t, err, tt.want, "Take: %s", tt.name)
	}
	_, err := e.store.Debit(e.ctx, ratelimit.Charge{Key: "k", Limit: ratelimit.Limit{}, Cost: 1})
	assert.ErrorIs(t, err, ratelimit.ErrInvalidLimit, "Debit with the zero limit")
	assert.Equal(t, int64(2), e.remaining("k", lim3), "failed calls changed the bucket")
}

func testKeys(e *env) {
	t := e.t
	e.drain("a", lim3)
	assert.False(t, e.take("a", lim3, 1).Allowed)
	assert.True(t, e.take("b", lim3, 1).Allowed, "another key has its own bucket")

	same := []ratelimit.Charge{
		{Prefix: "p:", Key: "k", Limit: lim3, Cost: 1},
		{Key: "p:k", Limit: lim3, Cost: 1},
		{Prefix: "p", Key: ":k", Limit: lim3, Cost: 1},
	}
	for i, c := range same {
		r, err := e.store.Take(e.ctx, c)
		require.NoError(t, err)
		assert.Equal(t, int64(2-i), r.Remaining, "Prefix+Key %q+%q names one bucket", c.Prefix, c.Key)
	}
	r, err := e.store.Take(e.ctx, ratelimit.Charge{Prefix: "q:", Key: "k", Limit: lim3, Cost: 1})
	require.NoError(t, err)
	assert.Equal(t, int64(2), r.Remaining, "another prefix is another bucket")
}

func testLimitChange(e *env) {
	t := e.t
	e.drain("k", lim3)
	bigger := ratelimit.Every(100*time.Millisecond, 10)
	r := e.take("k", bigger, 1)
	assert.True(t, r.Allowed, "a larger burst makes room at once")
	assert.Equal(t, int64(6), r.Remaining, "the bucket kept its level: 3 taken, then 1")
	smaller := ratelimit.Every(100*time.Millisecond, 2)
	r = e.take("k", smaller, 1)
	assert.False(t, r.Allowed)
	assert.Equal(t, 300*time.Millisecond, r.RetryAfter, "4 tokens owed, 2 of them beyond the smaller burst")
}

func testResetAt(e *env) {
	t := e.t
	for i := range 4 {
		r := e.take("k", lim3, 1)
		sameTime(t, e.clock.Now().Add(r.ResetAfter), r.ResetAt, "take %d", i+1)
		e.clock.Advance(40 * time.Millisecond)
	}
	r := e.take("fresh", lim3, 0)
	sameTime(t, e.clock.Now(), r.ResetAt, "a full bucket resets now")
}

// sameTime asserts that two instants are equal, whatever their locations.
func sameTime(t assert.TestingT, want, got time.Time, msgAndArgs ...any) bool {
	if h, ok := t.(interface{ Helper() }); ok {
		h.Helper()
	}
	return assert.True(t, want.Equal(got), append([]any{"want %v, got %v", want, got}, msgAndArgs...)...)
}
