package redisstore_test

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/tollgate/tollgate"
	"github.com/tollgate/tollgate/quota"
	"github.com/tollgate/tollgate/ratelimit"
	"github.com/tollgate/tollgate/redisstore"
	"github.com/tollgate/tollgate/tollgatetest"
)

// gateway is one replica's stack over a redisstore: rate limit, a
// concurrency lease and the prepaid ledger, failing open or closed.
type gateway struct {
	handler http.Handler
	mu      sync.Mutex
	errs    []error
}

func newGateway(t *testing.T, s *redisstore.Store, failOpen bool) *gateway {
	g := &gateway{}
	onError := func(_ *http.Request, err error) {
		g.mu.Lock()
		defer g.mu.Unlock()
		g.errs = append(g.errs, err)
	}
	rlOpts := []ratelimit.Option{
		ratelimit.OnError(onError), ratelimit.WithLeaseStore(s.Leases()),
		ratelimit.Concurrent(ratelimit.Concurrency{Key: ratelimit.ConstantKey("acme"), Limit: 8, TTL: time.Minute}),
	}
	qOpts := []quota.Option{quota.OnError(onError)}
	if failOpen {
		rlOpts, qOpts = append(rlOpts, ratelimit.FailOpen()), append(qOpts, quota.FailOpen())
	} else {
		rlOpts = append(rlOpts, ratelimit.FailClosed())
	}
	policies := []ratelimit.Policy{{Name: "rpm", Key: ratelimit.ConstantKey("acme"), Limit: ratelimit.PerMinute(10_000)}}
	account := func(*http.Request) (string, error) { return "acme", nil }
	g.handler = tollgate.Chain(
		ratelimit.MustNew(s.Buckets(), policies, rlOpts...),
		quota.Middleware(s.Ledger(), account, qOpts...),
	).ThenFunc(func(w http.ResponseWriter, r *http.Request) {
		quota.Report(r.Context(), tollgate.Usage{Cost: 10})
		w.WriteHeader(http.StatusOK)
	})
	return g
}

// serve sends one request and returns the status.
func (g *gateway) serve() int {
	rec := httptest.NewRecorder()
	g.handler.ServeHTTP(rec, httptest.NewRequest(http.MethodPost, "/v1/chat/completions", nil))
	return rec.Code
}

func (g *gateway) errors() []error {
	g.mu.Lock()
	defer g.mu.Unlock()
	return append([]error(nil), g.errs...)
}

// statuses serves n requests and counts the statuses.
func (g *gateway) statuses(n int) map[int]int {
	out := map[int]int{}
	for range n {
		out[g.serve()]++
	}
	return out
}

func TestScriptFlushAndRestart(t *testing.T) {
	srv := startPrivateRedis(t)
	rdb := redis.NewClient(&redis.Options{Addr: srv.addr, ContextTimeoutEnabled: true, MaxRetries: -1, DialerRetries: 1})
	t.Cleanup(func() { _ = rdb.Close() })
	clock := tollgatetest.NewClock(time.Time{})
	var mu sync.Mutex
	var changes []string
	s := redisstore.MustNew(rdb, redisstore.WithTimeout(2*time.Second), redisstore.WithBreaker(redisstore.Breaker{
		Failures: 3, CoolDown: 5 * time.Second, Clock: clock,
		OnChange: func(from, to redisstore.CircuitState, _ error) {
			mu.Lock()
			defer mu.Unlock()
			changes = append(changes, from.String()+"→"+to.String())
		},
	}))
	ctx := context.Background()
	_, err := s.Ledger().Credit(ctx, "acme", 1_000_000, "topup")
	require.NoError(t, err)
	open, closed := newGateway(t, s, true), newGateway(t, s, false)

	// SCRIPT FLUSH between requests and while they run costs no error:
	// the scripts are sent again on NOSCRIPT.
	require.Equal(t, map[int]int{200: 5}, closed.statuses(5))
	require.NoError(t, rdb.ScriptFlush(ctx).Err())
	require.Equal(t, map[int]int{200: 5}, closed.statuses(5))
	var wg sync.WaitGroup
	for range 4 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			assert.Equal(t, map[int]int{200: 10}, open.statuses(10))
		}()
	}
	for range 3 {
		assert.NoError(t, rdb.ScriptFlush(ctx).Err())
	}
	wg.Wait()
	require.Empty(t, open.errors(), "no store error through SCRIPT FLUSH")
	require.Empty(t, closed.errors())

	// A long request holds money across the crash.
	hold, err := s.Ledger().Reserve(ctx, "acme", 5_000, "long-running", time.Now())
	require.NoError(t, err)
	before, err := s.Ledger().Balance(ctx, "acme", time.Now())
	require.NoError(t, err)
	require.Equal(t, quota.Funds{Balance: 1_000_000 - 50*10, Held: 5_000, Holds: 1}, before)

	// The server dies while requests are in flight: each gets a 200 or a
	// 503, never a panic or a 500.
	killed := make(chan struct{})
	var seen sync.Map
	for g := range 4 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range 20 {
				if g == 0 && i == 5 {
					srv.kill()
					close(killed)
				}
				code := closed.serve()
				seen.Store(code, true)
				assert.Contains(t, []int{200, 503}, code)
			}
		}()
	}
	wg.Wait()
	<-killed
	_, got503 := seen.Load(503)
	assert.True(t, got503, "requests after the crash were refused")

	assert.Equal(t, map[int]int{200: 4}, open.statuses(4), "fail open: served while Redis is down")
	assert.Equal(t, map[int]int{503: 4}, closed.statuses(4), "fail closed: 503 while Redis is down")
	assert.Equal(t, redisstore.CircuitOpen, s.Circuit())
	errs := closed.errors()
	require.NotEmpty(t, errs)
	assert.ErrorIs(t, errs[len(errs)-1], redisstore.ErrCircuitOpen, "an open circuit fails fast")

	srv.start()
	assert.Equal(t, map[int]int{503: 2}, closed.statuses(2), "the circuit stays open for the cool-down")
	clock.Advance(5 * time.Second)
	assert.Equal(t, map[int]int{200: 5}, closed.statuses(5), "normal service resumes after the probe")
	assert.Equal(t, redisstore.CircuitClosed, s.Circuit())
	mu.Lock()
	assert.Equal(t, []string{"closed→open", "open→half-open", "half-open→closed"}, changes)
	mu.Unlock()

	// Requests cut off by the crash may have left holds of their own,
	// which lapse; the one placed before it is still there.
	after, err := s.Ledger().Balance(ctx, "acme", time.Now())
	require.NoError(t, err)
	assert.GreaterOrEqual(t, after.Held, int64(5_000), "the hold survived the crash")
	rc, err := s.Ledger().Settle(ctx, hold, 4_000, time.Now())
	require.NoError(t, err)
	assert.Equal(t, quota.Receipt{Amount: 4_000, Balance: after.Balance - 4_000}, rc, "settled against the surviving hold")
	settled, err := s.Ledger().Balance(ctx, "acme", time.Now())
	require.NoError(t, err)
	assert.Equal(t, after.Held-5_000, settled.Held, "the hold was released by its settlement")
	rc, err = s.Ledger().Settle(ctx, hold, 4_000, time.Now())
	require.NoError(t, err)
	assert.True(t, rc.Replayed, "settled once")

	var se *redisstore.Error
	require.NotEmpty(t, open.errors())
	assert.True(t, errors.As(open.errors()[0], &se), "failures are *redisstore.Error: %v", open.errors()[0])
}
