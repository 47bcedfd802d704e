package quota_test

import (
	"testing"
	"time"
	_ "time/tzdata" // the DST cases need a zone database wherever tests run

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/tollgate/tollgate/quota"
)

func TestWindowBucket(t *testing.T) {
	ny, err := time.LoadLocation("America/New_York")
	require.NoError(t, err)
	utc := func(s string) time.Time {
		tm, err := time.Parse(time.RFC3339Nano, s)
		require.NoError(t, err)
		return tm
	}
	local := func(y int, m time.Month, d, h int) time.Time { return time.Date(y, m, d, h, 0, 0, 0, ny) }
	cases := []struct {
		name       string
		w          quota.Window
		at         time.Time
		start, end time.Time
	}{
		{"rolling aligned", quota.RollingStep(time.Hour, time.Minute), utc("2026-03-01T09:00:00Z"),
			utc("2026-03-01T09:00:00Z"), utc("2026-03-01T10:01:00Z")},
		{"rolling mid-step", quota.RollingStep(time.Hour, time.Minute), utc("2026-03-01T09:00:59.999Z"),
			utc("2026-03-01T09:00:00Z"), utc("2026-03-01T10:01:00Z")},
		{"rolling default step is a sixtieth", quota.Rolling(5 * time.Hour), utc("2026-03-01T09:07:00Z"),
			utc("2026-03-01T09:05:00Z"), utc("2026-03-01T14:10:00Z")},
		{"rolling before 1970", quota.RollingStep(time.Hour, time.Minute), utc("1969-12-31T23:59:30Z"),
			utc("1969-12-31T23:59:00Z"), utc("1970-01-01T01:00:00Z")},
		{"daily utc", quota.Daily(nil), utc("2026-03-01T23:59:59Z"),
			utc("2026-03-01T00:00:00Z"), utc("2026-03-02T00:00:00Z")},
		{"daily across spring-forward", quota.Daily(ny), local(2026, 3, 8, 12),
			local(2026, 3, 8, 0), local(2026, 3, 9, 0)},
		{"monthly in zone", quota.Monthly(ny), utc("2026-03-01T04:59:59Z"), // still February in New York
			local(2026, 2, 1, 0), local(2026, 3, 1, 0)},
		{"monthly december", quota.Monthly(nil), utc("2026-12-31T12:00:00Z"),
			utc("2026-12-01T00:00:00Z"), utc("2027-01-01T00:00:00Z")},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			require.NoError(t, c.w.Validate())
			start, end := c.w.Bucket(c.at)
			assert.True(t, c.start.Equal(start), "start %v, want %v", start, c.start)
			assert.True(t, c.end.Equal(end), "end %v, want %v", end, c.end)
			assert.False(t, c.at.Before(start))
			assert.True(t, c.at.Before(end))
		})
	}
	_, end := quota.Daily(ny).Bucket(local(2026, 3, 8, 12))
	start, _ := quota.Daily(ny).Bucket(local(2026, 3, 8, 12))
	assert.Equal(t, 23*time.Hour, end.Sub(start), "the DST day is 23 hours long")
}

func TestWindowValidateAndString(t *testing.T) {
	cases := []struct {
		w     quota.Window
		valid bool
		str   string
	}{
		{quota.Rolling(5 * time.Hour), true, "rolling 5h0m0s"},
		{quota.Rolling(7 * 24 * time.Hour), true, "rolling 168h0m0s"},
		{quota.Rolling(30 * time.Millisecond), true, "rolling 30ms"},
		{quota.Daily(nil), true, "daily UTC"},
		{quota.Monthly(time.FixedZone("X", 3600)), true, "monthly X"},
		{quota.Window{}, false, "invalid window"},
		{quota.Rolling(0), false, "rolling 0s"},
		{quota.Rolling(time.Microsecond), false, "rolling 1µs"},
		{quota.RollingStep(time.Hour, 0), false, "rolling 1h0m0s"},
		{quota.RollingStep(time.Hour, 2*time.Hour), false, "rolling 1h0m0s"},
		{quota.RollingStep(time.Hour, 1500*time.Microsecond), false, "rolling 1h0m0s"},
	}
	for _, c := range cases {
		err := c.w.Validate()
		if c.valid {
			assert.NoError(t, err, c.str)
		} else {
			assert.ErrorIs(t, err, quota.ErrInvalidArgument, c.str)
		}
		assert.Equal(t, c.str, c.w.String())
	}
}

func TestPlanValidate(t *testing.T) {
	ok := quota.Limit{Name: "5h", Window: quota.Rolling(5 * time.Hour), Unit: quota.Requests, Max: 10}
	assert.NoError(t, quota.Plan{}.Validate(), "an unlimited plan")
	assert.NoError(t, quota.Plan{Limits: []quota.Limit{ok}}.Validate())
	assert.ErrorIs(t, quota.Plan{Limits: []quota.Limit{ok, ok}}.Validate(), quota.ErrInvalidArgument)
	for _, bad := range []quota.Limit{
		{Name: "", Window: ok.Window, Unit: quota.Requests, Max: 1},
		{Name: "has space", Window: ok.Window, Unit: quota.Requests, Max: 1},
		{Name: string(make([]byte, 65)), Window: ok.Window, Unit: quota.Requests, Max: 1},
		{Name: "x", Window: ok.Window, Unit: 0, Max: 1},
		{Name: "x", Window: ok.Window, Unit: quota.Money + 1, Max: 1},
		{Name: "x", Window: ok.Window, Unit: quota.Tokens, Max: -1},
	} {
		assert.ErrorIs(t, bad.Validate(), quota.ErrInvalidArgument, "%+v", bad)
	}
	assert.Equal(t, "requests", quota.Requests.String())
	assert.Equal(t, "tokens", quota.Tokens.String())
	assert.Equal(t, "money", quota.Money.String())
	assert.Equal(t, "unit(9)", quota.Unit(9).String())
	assert.Equal(t, int64(3), quota.Amounts{Requests: 1, Tokens: 2, Money: 3}.Of(quota.Money))
	assert.Zero(t, quota.Amounts{Requests: 1}.Of(0))
	assert.Equal(t, int64(0), quota.LimitUsage{Max: 5, Used: 9}.Remaining())
}
