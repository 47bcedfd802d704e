package ratelimit_test

import (
	"errors"
	"net/http"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	apierrors "github.com/tollgate/tollgate/errors"
	"github.com/tollgate/tollgate/ratelimit"
	"github.com/tollgate/tollgate/tollgatetest"
)

var epochUnix = tollgatetest.Epoch.Unix()

func rpm(n int64) []ratelimit.Policy {
	return []ratelimit.Policy{{Name: "rpm", Key: byKey, Limit: ratelimit.PerMinute(n)}}
}

func TestMiddlewareTimeline(t *testing.T) {
	f := newFixture(t)
	h := f.handler(t, ok, rpm(3), ratelimit.IETFHeaders("", ""))
	steps := []struct {
		advance   time.Duration
		status    int
		remaining string
		reset     int64
		state     string
		retry     string
	}{
		{0, 200, "2", 20, `"rpm";r=2;t=20`, ""},
		{0, 200, "1", 40, `"rpm";r=1;t=40`, ""},
		{0, 200, "0", 60, `"rpm";r=0;t=60`, ""},
		{0, 429, "0", 60, `"rpm";r=0;t=60`, "20"},
		{5 * time.Second, 429, "0", 60, `"rpm";r=0;t=55`, "15"},
		{15 * time.Second, 200, "0", 80, `"rpm";r=0;t=60`, ""},
		{time.Hour, 200, "2", 3640, `"rpm";r=2;t=20`, ""},
	}
	for i, s := range steps {
		f.clock.Advance(s.advance)
		w := do(h, "k1")
		assert.Equal(t, s.status, w.Code, "step %d", i)
		assert.Equal(t, "3", w.Header().Get("X-RateLimit-Limit"), "step %d", i)
		assert.Equal(t, s.remaining, w.Header().Get("X-RateLimit-Remaining"), "step %d", i)
		assert.Equal(t, strconv.FormatInt(epochUnix+s.reset, 10), w.Header().Get("X-RateLimit-Reset"), "step %d", i)
		assert.Equal(t, `"rpm";q=3;w=60`, w.Header().Get("RateLimit-Policy"), "step %d", i)
		assert.Equal(t, s.state, w.Header().Get("RateLimit"), "step %d", i)
		assert.Equal(t, s.retry, w.Header().Get("Retry-After"), "step %d", i)
		if s.status == http.StatusTooManyRequests {
			code, msg := envelope(t, w)
			assert.Equal(t, "rate_limit_exceeded", code)
			assert.Equal(t, "Rate limit exceeded: 3 requests per minute (rpm)", msg)
		}
	}
	assert.Equal(t, 200, do(h, "k2").Code, "another key has its own bucket")
}

func TestRetryAfterRounding(t *testing.T) {
	tests := []struct {
		name    string
		advance time.Duration
		want    string
	}{
		{"rounds up a fraction", 200 * time.Millisecond, "2"},
		{"never below one second", 1400 * time.Millisecond, "1"},
		{"whole seconds stay", 500 * time.Millisecond, "1"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := newFixture(t)
			policies := []ratelimit.Policy{{Name: "slow", Key: byKey, Limit: ratelimit.Every(1500*time.Millisecond, 1)}}
			h := apierrors.WithDialect(apierrors.Flat)(f.handler(t, ok, policies))
			require.Equal(t, 200, do(h, "k").Code)
			f.clock.Advance(tt.advance)
			w := do(h, "k")
			require.Equal(t, 429, w.Code)
			assert.Equal(t, tt.want, w.Header().Get("Retry-After"))
			assert.Contains(t, w.Body.String(), `"retryAfter":`+tt.want)
		})
	}
}

func TestKeyFunctions(t *testing.T) {
	f := newFixture(t)
	var reported []error
	fail := func(err error) ratelimit.KeyFunc {
		return func(*http.Request) (string, error) { return "", err }
	}
	tests := []struct {
		name   string
		key    ratelimit.KeyFunc
		status int
		code   string
	}{
		{"an API error is written as it is", fail(apierrors.New(apierrors.CodeMissingAPIKey)), 401, "missing_api_key"},
		{"another error is a generic 500", fail(errors.New("db down")), 500, "internal_error"},
		{"an empty key exempts the request", ratelimit.ConstantKey("global"), 200, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			reported = nil
			policies := []ratelimit.Policy{{Name: "p", Key: tt.key, Limit: ratelimit.PerMinute(1)}}
			h := f.handler(t, ok, policies, ratelimit.OnError(func(_ *http.Request, err error) { reported = append(reported, err) }))
			w := do(h, "")
			assert.Equal(t, tt.status, w.Code)
			if tt.code != "" {
				code, _ := envelope(t, w)
				assert.Equal(t, tt.code, code)
				assert.Len(t, reported, 1, "the hook saw the error")
			}
		})
	}
	h := f.handler(t, ok, rpm(1))
	w := do(h, "")
	assert.Equal(t, 200, w.Code, "no key, no limit")
	assert.Empty(t, w.Header().Get("X-RateLimit-Limit"), "and no headers")
	assert.Panics(t, func() { ratelimit.ConstantKey("") }, "an empty constant key would exempt everything")
}

func TestPerPlanLimits(t *testing.T) {
	f := newFixture(t)
	plans := ratelimit.PlanLimits(map[string]ratelimit.Limit{
		"free": ratelimit.PerMinute(1),
		"pro":  ratelimit.PerMinute(3),
	}, ratelimit.Limit{})
	h := f.handler(t, ok, []ratelimit.Policy{{Name: "rpm", Key: byKey, LimitFunc: plans}})
	tests := []struct {
		plan    string
		allowed int
		limit   string
	}{
		{"free", 1, "1"},
		{"pro", 3, "3"},
		{"enterprise", 10, ""},
	}
	for _, tt := range tests {
		ph := withPlan(tt.plan, h)
		for i := range tt.allowed {
			w := do(ph, "key-"+tt.plan)
			require.Equal(t, 200, w.Code, "%s request %d", tt.plan, i+1)
			assert.Equal(t, tt.limit, w.Header().Get("X-RateLimit-Limit"))
		}
		if tt.limit != "" {
			assert.Equal(t, 429, do(ph, "key-"+tt.plan).Code, "%s is over its plan's limit", tt.plan)
		}
	}
	assert.Panics(t, func() { ratelimit.PlanLimits(map[string]ratelimit.Limit{"x": {Burst: 1}}, ratelimit.Limit{}) })
	assert.Panics(t, func() { ratelimit.PlanLimits(nil, ratelimit.Limit{Interval: -1}) })
}

func TestCostFunction(t *testing.T) {
	f := newFixture(t)
	cost := func(r *http.Request) (int64, error) {
		return strconv.ParseInt(r.Header.Get("X-Cost"), 10, 64)
	}
	h := f.handler(t, ok, []ratelimit.Policy{{Name: "units", Key: byKey, Limit: ratelimit.PerMinute(10), Cost: cost}})
	req := func(c string) *http.Request {
		r := keyed("k")
		r.Header.Set("X-Cost", c)
		return r
	}
	w := doReq(h, req("4"))
	require.Equal(t, 200, w.Code)
	assert.Equal(t, "6", w.Header().Get("X-RateLimit-Remaining"))

	w = doReq(h, req("11"))
	assert.Equal(t, 413, w.Code, "a cost above the burst can never be allowed")
	code, msg := envelope(t, w)
	assert.Equal(t, "request_too_large", code)
	assert.Equal(t, "Request costs 11 but the units limit allows at most 10 per minute", msg)
	assert.Empty(t, w.Header().Get("Retry-After"), "retrying would not help")

	assert.Equal(t, 500, doReq(h, req("-1")).Code, "a negative cost is a bug")
	assert.Equal(t, 500, doReq(h, req("x")).Code, "the cost function's error")
	w = doReq(h, req("6"))
	assert.Equal(t, 200, w.Code)
	assert.Equal(t, "0", w.Header().Get("X-RateLimit-Remaining"), "failed requests took nothing")
}

func TestStoreFailure(t *testing.T) {
	tests := []struct {
		name   string
		opts   []ratelimit.Option
		status int
	}{
		{"fails open by default", nil, 200},
		{"fails open", []ratelimit.Option{ratelimit.FailOpen()}, 200},
		{"fails closed", []ratelimit.Option{ratelimit.FailClosed()}, 503},
	}
	for _, tt := range tests {
		for _, policies := range [][]ratelimit.Policy{rpm(5), append(rpm(5), ratelimit.Policy{Name: "all", Key: ratelimit.ConstantKey("all"), Limit: ratelimit.PerSecond(5)})} {
			var reported []error
			opts := append(tt.opts, ratelimit.OnError(func(_ *http.Request, err error) { reported = append(reported, err) }))
			mw, err := ratelimit.New(failingStore{}, policies, opts...)
			require.NoError(t, err)
			w := do(mw(ok), "k")
			assert.Equal(t, tt.status, w.Code, "%s, %d policies", tt.name, len(policies))
			require.Len(t, reported, 1)
			assert.ErrorIs(t, reported[0], errDown)
			assert.Empty(t, w.Header().Get("X-RateLimit-Limit"))
			if tt.status == 503 {
				code, _ := envelope(t, w)
				assert.Equal(t, "service_unavailable", code)
			}
		}
	}
}

func TestSkipAndOnLimited(t *testing.T) {
	f := newFixture(t)
	var denials []ratelimit.Denial
	h := f.handler(t, ok, rpm(1),
		ratelimit.Skip(func(r *http.Request) bool { return r.URL.Path == "/health" }),
		ratelimit.OnLimited(func(_ *http.Request, d ratelimit.Denial) { denials = append(denials, d) }))
	require.Equal(t, 200, do(h, "k").Code)
	require.Equal(t, 429, do(h, "k").Code)
	health := keyed("k")
	health.URL.Path = "/health"
	w := doReq(h, health)
	assert.Equal(t, 200, w.Code, "skipped")
	assert.Empty(t, w.Header().Get("X-RateLimit-Limit"))
	require.Len(t, denials, 1)
	d := denials[0]
	assert.Equal(t, ratelimit.ReasonRate, d.Reason)
	assert.Equal(t, "rate", d.Reason.String())
	assert.Equal(t, "rpm", d.Policy)
	assert.Equal(t, "k", d.Key)
	assert.Equal(t, int64(1), d.Cost)
	assert.Equal(t, time.Minute, d.RetryAfter)
	assert.False(t, d.Result.Allowed)
}

// TestHeadersBeforeStream checks that a streaming handler finds the
// headers already set when it starts writing.
func TestHeadersBeforeStream(t *testing.T) {
	f := newFixture(t)
	var seen string
	stream := http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		seen = w.Header().Get("X-RateLimit-Remaining")
		w.Header().Set("Content-Type", "text/event-stream")
		_, _ = w.Write([]byte("data: {}\n\n"))
		http.NewResponseController(w).Flush()
	})
	w := do(f.handler(t, stream, rpm(5)), "k")
	assert.Equal(t, "4", seen)
	assert.True(t, w.Flushed)
	assert.Equal(t, []string{"4"}, w.Header().Values("X-RateLimit-Remaining"), "set once, never added")
}

// TestStackedMiddlewareSetsHeadersOnce checks that two limiters in a chain
// replace each other's headers rather than adding values.
func TestStackedMiddlewareSetsHeadersOnce(t *testing.T) {
	f := newFixture(t)
	inner := f.handler(t, ok, []ratelimit.Policy{{Name: "inner", Key: byKey, Limit: ratelimit.PerMinute(5)}}, ratelimit.IETFHeaders("", ""))
	outer := f.handler(t, inner, rpm(10), ratelimit.IETFHeaders("", ""))
	w := do(outer, "k")
	assert.Equal(t, []string{"5"}, w.Header().Values("X-RateLimit-Limit"))
	assert.Equal(t, []string{`"inner";q=5;w=60`}, w.Header().Values("RateLimit-Policy"))
}

func TestNewValidation(t *testing.T) {
	f := newFixture(t)
	good := rpm(1)
	tests := []struct {
		name     string
		store    ratelimit.Store
		policies []ratelimit.Policy
		opts     []ratelimit.Option
	}{
		{"nothing to enforce", f.store, nil, nil},
		{"nil store", nil, good, nil},
		{"nil store with a penalty box", nil, nil, []ratelimit.Option{ratelimit.PenaltyBox(ratelimit.Penalty{Key: byKey})}},
		{"empty name", f.store, []ratelimit.Policy{{Key: byKey, Limit: ratelimit.PerMinute(1)}}, nil},
		{"bad name", f.store, []ratelimit.Policy{{Name: "a b", Key: byKey, Limit: ratelimit.PerMinute(1)}}, nil},
		{"duplicate name", f.store, append(rpm(1), rpm(2)...), nil},
		{"no key", f.store, []ratelimit.Policy{{Name: "p", Limit: ratelimit.PerMinute(1)}}, nil},
		{"no limit", f.store, []ratelimit.Policy{{Name: "p", Key: byKey}}, nil},
		{"invalid limit", f.store, []ratelimit.Policy{{Name: "p", Key: byKey, Limit: ratelimit.PerMinute(0)}}, nil},
		{"bad header name", f.store, good, []ratelimit.Option{ratelimit.XRateLimitHeaders("X Limit", "", "")}},
		{"unknown header family", f.store, good, []ratelimit.Option{ratelimit.WithoutHeaders(9)}},
		{"nil lease store", f.store, good, []ratelimit.Option{ratelimit.WithLeaseStore(nil)}},
		{"concurrency without key", f.store, good, []ratelimit.Option{ratelimit.Concurrent(ratelimit.Concurrency{Limit: 1})}},
		{"concurrency without limit", f.store, good, []ratelimit.Option{ratelimit.Concurrent(ratelimit.Concurrency{Key: byKey})}},
		{"concurrency with a bad name", f.store, good, []ratelimit.Option{ratelimit.Concurrent(ratelimit.Concurrency{Name: "c:", Key: byKey, Limit: 1})}},
		{"concurrency with a negative TTL", f.store, good, []ratelimit.Option{ratelimit.Concurrent(ratelimit.Concurrency{Key: byKey, Limit: 1, TTL: -1})}},
		{"penalty without key", f.store, good, []ratelimit.Option{ratelimit.PenaltyBox(ratelimit.Penalty{})}},
		{"penalty with negative values", f.store, good, []ratelimit.Option{ratelimit.PenaltyBox(ratelimit.Penalty{Key: byKey, Failures: -1})}},
		{"penalty with a bad name", f.store, good, []ratelimit.Option{ratelimit.PenaltyBox(ratelimit.Penalty{Name: "p p", Key: byKey})}},
		{"penalty named like a policy", f.store, good, []ratelimit.Option{ratelimit.PenaltyBox(ratelimit.Penalty{Name: "rpm", Key: byKey})}},
		{"concurrency named like a policy", f.store, good, []ratelimit.Option{ratelimit.Concurrent(ratelimit.Concurrency{Name: "rpm", Key: byKey, Limit: 1})}},
		{"penalty block too long", f.store, good, []ratelimit.Option{ratelimit.PenaltyBox(ratelimit.Penalty{Key: byKey, Block: ratelimit.MaxWindow * 2})}},
	}
	many := make([]ratelimit.Policy, 65)
	for i := range many {
		many[i] = ratelimit.Policy{Name: "p" + strconv.Itoa(i), Key: byKey, Limit: ratelimit.PerMinute(1)}
	}
	tests = append(tests, struct {
		name     string
		store    ratelimit.Store
		policies []ratelimit.Policy
		opts     []ratelimit.Option
	}{"too many policies", f.store, many, nil})
	for _, tt := range tests {
		_, err := ratelimit.New(tt.store, tt.policies, tt.opts...)
		assert.Error(t, err, tt.name)
		assert.Panics(t, func() { ratelimit.MustNew(tt.store, tt.policies, tt.opts...) }, tt.name)
	}
	mw, err := ratelimit.New(nil, nil, ratelimit.Concurrent(ratelimit.Concurrency{Key: byKey, Limit: 1}))
	require.NoError(t, err, "concurrency alone needs no store")
	assert.Equal(t, 200, do(mw(ok), "k").Code)
	assert.NotNil(t, ratelimit.MustNew(f.store, good, nil)(nil), "nil options and a nil handler are tolerated")
}

func TestMiddlewareConcurrentSafety(t *testing.T) {
	f := newFixture(t)
	h := f.handler(t, ok, rpm(100))
	var wg sync.WaitGroup
	var mu sync.Mutex
	allowed := 0
	for g := range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for range 50 {
				if do(h, "shared").Code == 200 {
					mu.Lock()
					allowed++
					mu.Unlock()
				}
			}
			_ = g
		}()
	}
	wg.Wait()
	assert.Equal(t, 100, allowed, "400 requests, a burst of 100, a frozen clock")
}
