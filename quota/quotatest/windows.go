package quotatest

import (
	"errors"
	"strconv"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/tollgate/tollgate/quota"
)

// RunWindows runs the WindowStore suite; newStore must return an empty
// store, or one that shares nothing with the accounts of other subtests.
func RunWindows(t *testing.T, newStore func(t *testing.T) quota.WindowStore) {
	t.Helper()
	cases := []struct {
		name string
		run  func(*testing.T, quota.WindowStore)
	}{
		{"RequestsLimit", testRequestsLimit},
		{"RetryAfterRolling", testRetryAfterRolling},
		{"CalendarMonthInZone", testCalendarMonth},
		{"SeveralLimitsAllOrNothing", testSeveralLimits},
		{"RetryAfterIsTheLongest", testRetryAfterLongest},
		{"SettleReplacesHold", testWindowSettle},
		{"ReleaseRemovesHold", testWindowRelease},
		{"SettleAndReleaseAreIdempotent", testWindowIdempotent},
		{"DuplicateRequestID", testWindowDuplicate},
		{"HoldExpires", testWindowHoldExpires},
		{"UsageReportsResets", testWindowResets},
		{"UnlimitedPlan", testUnlimited},
		{"RejectsBadArguments", testWindowValidation},
		{"ConcurrentReservesNeverExceed", testWindowConcurrent},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			s := newStore(t)
			require.NotNil(t, s, "newStore returned nil")
			c.run(t, s)
		})
	}
}

func limit(name string, w quota.Window, u quota.Unit, maximum int64) quota.Limit {
	return quota.Limit{Name: name, Window: w, Unit: u, Max: maximum}
}

var oneRequest = quota.Amounts{Requests: 1}

func wreserve(t *testing.T, s quota.WindowStore, a string, ls []quota.Limit, am quota.Amounts, id string, now time.Time) quota.WindowHold {
	t.Helper()
	h, err := s.Reserve(ctx, a, ls, am, id, now)
	require.NoError(t, err)
	return h
}

func wsettle(t *testing.T, s quota.WindowStore, h quota.WindowHold, actual quota.Amounts, now time.Time) {
	t.Helper()
	replayed, err := s.Settle(ctx, h, actual, now)
	require.NoError(t, err)
	require.False(t, replayed)
}

func used(t *testing.T, s quota.WindowStore, a string, ls []quota.Limit, now time.Time) []int64 {
	t.Helper()
	us, err := s.Usage(ctx, a, ls, now)
	require.NoError(t, err)
	require.Len(t, us, len(ls))
	out := make([]int64, len(us))
	for i, u := range us {
		out[i] = u.Used
	}
	return out
}

func testRequestsLimit(t *testing.T, s quota.WindowStore) {
	a := Account(t)
	ls := []quota.Limit{limit("5h", quota.Rolling(5*time.Hour), quota.Requests, 3)}
	for i := range 3 {
		h := wreserve(t, s, a, ls, oneRequest, "r"+strconv.Itoa(i), at(0))
		assert.Equal(t, int64(i+1), h.Usage[0].Used)
		assert.Equal(t, int64(2-i), h.Usage[0].Remaining())
	}
	_, err := s.Reserve(ctx, a, ls, oneRequest, "r3", at(0))
	r := refusal(t, err, quota.ErrQuotaExceeded)
	assert.Equal(t, "5h", r.Limit)
	assert.Equal(t, int64(3), r.Max)
	assert.Equal(t, int64(3), r.Used)
	assert.Equal(t, int64(1), r.Amount)
	assert.GreaterOrEqual(t, r.RetryAfter, time.Second)
}

func testRetryAfterRolling(t *testing.T, s quota.WindowStore) {
	a := Account(t)
	w := quota.RollingStep(time.Hour, time.Minute)
	ls := []quota.Limit{limit("hour", w, quota.Requests, 2)}
	h1 := wreserve(t, s, a, ls, oneRequest, "r1", at(0))
	wsettle(t, s, h1, oneRequest, at(30*time.Second))
	h2 := wreserve(t, s, a, ls, oneRequest, "r2", at(20*time.Minute))
	wsettle(t, s, h2, oneRequest, at(20*time.Minute))

	now := at(25 * time.Minute)
	_, err := s.Reserve(ctx, a, ls, oneRequest, "r3", now)
	r := refusal(t, err, quota.ErrQuotaExceeded)
	_, end := w.Bucket(at(30 * time.Second))
	assert.Equal(t, end.Sub(now), r.RetryAfter, "room comes back when the first request's bucket leaves")

	before := end.Add(-time.Millisecond)
	_, err = s.Reserve(ctx, a, ls, oneRequest, "r4", before)
	refusal(t, err, quota.ErrQuotaExceeded)
	wreserve(t, s, a, ls, oneRequest, "r5", end)
}

func testCalendarMonth(t *testing.T, s quota.WindowStore) {
	a := Account(t)
	zone := time.FixedZone("UTC+5", 5*3600)
	ls := []quota.Limit{limit("month", quota.Monthly(zone), quota.Money, 1_000)}
	nextMonth := time.Date(2026, 4, 1, 0, 0, 0, 0, zone) // 2026-03-31 19:00 UTC
	now := nextMonth.Add(-time.Hour)
	h := wreserve(t, s, a, ls, quota.Amounts{Money: 900}, "r1", now)
	wsettle(t, s, h, quota.Amounts{Money: 1_000}, now)
	_, err := s.Reserve(ctx, a, ls, quota.Amounts{Money: 1}, "r2", now)
	r := refusal(t, err, quota.ErrQuotaExceeded)
	assert.Equal(t, time.Hour, r.RetryAfter, "the month ends at local midnight")
	wreserve(t, s, a, ls, quota.Amounts{Money: 1_000}, "r3", nextMonth)
}

func testSeveralLimits(t *testing.T, s quota.WindowStore) {
	a := Account(t)
	ls := []quota.Limit{
		limit("requests", quota.Rolling(5*time.Hour), quota.Requests, 10),
		limit("tokens", quota.Rolling(7*24*time.Hour), quota.Tokens, 1_000),
		limit("money", quota.Monthly(nil), quota.Money, 500),
	}
	h := wreserve(t, s, a, ls, quota.Amounts{Requests: 1, Tokens: 800, Money: 100}, "r1", at(0))
	assert.Equal(t, []int64{1, 800, 100}, used(t, s, a, ls, at(0)))
	_, err := s.Reserve(ctx, a, ls, quota.Amounts{Requests: 1, Tokens: 300, Money: 100}, "r2", at(0))
	r := refusal(t, err, quota.ErrQuotaExceeded)
	assert.Equal(t, "tokens", r.Limit)
	assert.Equal(t, []int64{1, 800, 100}, used(t, s, a, ls, at(0)), "a refusal holds nothing in any limit")
	wsettle(t, s, h, quota.Amounts{Requests: 1, Tokens: 500, Money: 450}, at(time.Second))
	_, err = s.Reserve(ctx, a, ls, quota.Amounts{Requests: 1, Tokens: 300, Money: 100}, "r3", at(time.Second))
	r = refusal(t, err, quota.ErrQuotaExceeded)
	assert.Equal(t, "money", r.Limit)
	wreserve(t, s, a, ls, quota.Amounts{Requests: 1, Tokens: 300, Money: 50}, "r4", at(time.Second))
}

func testRetryAfterLongest(t *testing.T, s quota.WindowStore) {
	a := Account(t)
	short, long := quota.RollingStep(time.Hour, time.Minute), quota.RollingStep(24*time.Hour, time.Hour)
	ls := []quota.Limit{limit("short", short, quota.Requests, 1), limit("long", long, quota.Requests, 1)}
	h := wreserve(t, s, a, ls, oneRequest, "r1", at(0))
	wsettle(t, s, h, oneRequest, at(0))
	_, err := s.Reserve(ctx, a, ls, oneRequest, "r2", at(0))
	r := refusal(t, err, quota.ErrQuotaExceeded)
	_, end := long.Bucket(at(0))
	assert.Equal(t, "long", r.Limit)
	assert.Equal(t, end.Sub(at(0)), r.RetryAfter)
}

func testWindowSettle(t *testing.T, s quota.WindowStore) {
	a := Account(t)
	ls := []quota.Limit{limit("tokens", quota.Rolling(time.Hour), quota.Tokens, 1_000)}
	h := wreserve(t, s, a, ls, quota.Amounts{Tokens: 900}, "r1", at(0))
	assert.Equal(t, []int64{900}, used(t, s, a, ls, at(0)))
	wsettle(t, s, h, quota.Amounts{Tokens: 300}, at(time.Second))
	assert.Equal(t, []int64{300}, used(t, s, a, ls, at(time.Second)))
	h = wreserve(t, s, a, ls, quota.Amounts{Tokens: 700}, "r2", at(time.Second))
	wsettle(t, s, h, quota.Amounts{Tokens: 900}, at(2*time.Second))
	assert.Equal(t, []int64{1_200}, used(t, s, a, ls, at(2*time.Second)), "actual usage may exceed the limit")
	_, err := s.Reserve(ctx, a, ls, quota.Amounts{}, "r3", at(2*time.Second))
	refusal(t, err, quota.ErrQuotaExceeded)
}

func testWindowRelease(t *testing.T, s quota.WindowStore) {
	a := Account(t)
	ls := []quota.Limit{limit("day", quota.Daily(nil), quota.Requests, 1)}
	h := wreserve(t, s, a, ls, oneRequest, "r1", at(0))
	replayed, err := s.Release(ctx, h, at(time.Second))
	require.NoError(t, err)
	assert.False(t, replayed)
	assert.Equal(t, []int64{0}, used(t, s, a, ls, at(time.Second)))
	wreserve(t, s, a, ls, oneRequest, "r2", at(time.Second))
}

func testWindowIdempotent(t *testing.T, s quota.WindowStore) {
	a := Account(t)
	ls := []quota.Limit{limit("tokens", quota.Rolling(time.Hour), quota.Tokens, 1_000)}
	h := wreserve(t, s, a, ls, quota.Amounts{Tokens: 100}, "r1", at(0))
	wsettle(t, s, h, quota.Amounts{Tokens: 100}, at(time.Second))
	for range 2 {
		replayed, err := s.Settle(ctx, h, quota.Amounts{Tokens: 100}, at(time.Second))
		require.NoError(t, err)
		assert.True(t, replayed)
		replayed, err = s.Release(ctx, h, at(time.Second))
		require.NoError(t, err)
		assert.True(t, replayed)
	}
	assert.Equal(t, []int64{100}, used(t, s, a, ls, at(time.Second)), "counted once")
}

func testWindowDuplicate(t *testing.T, s quota.WindowStore) {
	a := Account(t)
	ls := []quota.Limit{limit("day", quota.Daily(nil), quota.Requests, 10)}
	h := wreserve(t, s, a, ls, oneRequest, "dup", at(0))
	_, err := s.Reserve(ctx, a, ls, oneRequest, "dup", at(0))
	refusal(t, err, quota.ErrDuplicateRequest)
	wsettle(t, s, h, oneRequest, at(time.Second))
	_, err = s.Reserve(ctx, a, ls, oneRequest, "dup", at(time.Second))
	refusal(t, err, quota.ErrDuplicateRequest)
	wreserve(t, s, Account(t), ls, oneRequest, "dup", at(time.Second))
}

func testWindowHoldExpires(t *testing.T, s quota.WindowStore) {
	a := Account(t)
	ls := []quota.Limit{limit("week", quota.Rolling(7*24*time.Hour), quota.Tokens, 100)}
	h := wreserve(t, s, a, ls, quota.Amounts{Tokens: 100}, "slow", at(0))
	require.True(t, h.Expires.After(at(0)))
	assert.Equal(t, []int64{100}, used(t, s, a, ls, h.Expires.Add(-time.Millisecond)))
	assert.Equal(t, []int64{0}, used(t, s, a, ls, h.Expires), "the hold lapses at Expires")
	wsettle(t, s, h, quota.Amounts{Tokens: 40}, h.Expires.Add(time.Second))
	assert.Equal(t, []int64{40}, used(t, s, a, ls, h.Expires.Add(time.Second)), "a lapsed hold still counts when settled")
}

func testWindowResets(t *testing.T, s quota.WindowStore) {
	a := Account(t)
	w := quota.RollingStep(time.Hour, time.Minute)
	ls := []quota.Limit{limit("hour", w, quota.Requests, 5)}
	us, err := s.Usage(ctx, a, ls, at(0))
	require.NoError(t, err)
	assert.Equal(t, []quota.LimitUsage{{Limit: "hour", Unit: quota.Requests, Max: 5}}, us)
	h := wreserve(t, s, a, ls, oneRequest, "r1", at(0))
	wsettle(t, s, h, oneRequest, at(90*time.Second))
	us, err = s.Usage(ctx, a, ls, at(2*time.Minute))
	require.NoError(t, err)
	_, end := w.Bucket(at(90 * time.Second))
	assert.True(t, end.Equal(us[0].Resets), "Resets %v, want %v", us[0].Resets, end)
	assert.Equal(t, int64(4), us[0].Remaining())
}

func testUnlimited(t *testing.T, s quota.WindowStore) {
	a := Account(t)
	h := wreserve(t, s, a, nil, oneRequest, "r1", at(0))
	assert.Empty(t, h.Usage)
	wsettle(t, s, h, oneRequest, at(time.Second))
}

func testWindowValidation(t *testing.T, s quota.WindowStore) {
	a := Account(t)
	good := []quota.Limit{limit("day", quota.Daily(nil), quota.Requests, 1)}
	bad := map[string][]quota.Limit{
		"zero window":  {limit("w", quota.Window{}, quota.Requests, 1)},
		"zero max":     {limit("w", quota.Daily(nil), quota.Requests, 0)},
		"no unit":      {limit("w", quota.Daily(nil), 0, 1)},
		"bad name":     {limit("a b", quota.Daily(nil), quota.Requests, 1)},
		"duplicate":    {good[0], good[0]},
		"uneven step":  {limit("w", quota.RollingStep(time.Hour, time.Microsecond), quota.Requests, 1)},
		"step too big": {limit("w", quota.RollingStep(time.Minute, time.Hour), quota.Requests, 1)},
	}
	for name, ls := range bad {
		_, err := s.Reserve(ctx, a, ls, oneRequest, "r", at(0))
		assert.ErrorIs(t, err, quota.ErrInvalidArgument, name)
	}
	_, err := s.Reserve(ctx, a, good, quota.Amounts{Tokens: -1}, "r", at(0))
	assert.ErrorIs(t, err, quota.ErrInvalidArgument)
	_, err = s.Reserve(ctx, "", good, oneRequest, "r", at(0))
	assert.ErrorIs(t, err, quota.ErrInvalidArgument)
	_, err = s.Settle(ctx, quota.WindowHold{Account: a, RequestID: "r", Limits: good}, quota.Amounts{Money: -1}, at(0))
	assert.ErrorIs(t, err, quota.ErrInvalidArgument)
	assert.Equal(t, []int64{0}, used(t, s, a, good, at(0)))
}

func testWindowConcurrent(t *testing.T, s quota.WindowStore) {
	a := Account(t)
	const maximum = goroutines / 4
	ls := []quota.Limit{
		limit("requests", quota.Rolling(time.Hour), quota.Requests, maximum),
		limit("tokens", quota.Daily(nil), quota.Tokens, 1_000_000),
	}
	var granted, failed atomic.Int64
	together(goroutines, func(i int) {
		_, err := s.Reserve(ctx, a, ls, quota.Amounts{Requests: 1, Tokens: 10}, "r"+strconv.Itoa(i), at(0))
		switch {
		case err == nil:
			granted.Add(1)
		case !errors.Is(err, quota.ErrQuotaExceeded):
			failed.Add(1)
		}
	})
	require.Zero(t, failed.Load())
	assert.Equal(t, int64(maximum), granted.Load())
	assert.Equal(t, []int64{maximum, 10 * maximum}, used(t, s, a, ls, at(0)))
}
