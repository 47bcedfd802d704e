package redisstore_test

import (
	"context"
	"errors"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/tollgate/tollgate/ratelimit"
	"github.com/tollgate/tollgate/redisstore"
	"github.com/tollgate/tollgate/tollgatetest"
)

// fakeRedis is a redis.Scripter whose every script call returns what
// reply says, counting the calls: the breaker's tests need no server.
type fakeRedis struct {
	calls atomic.Int64
	reply func(ctx context.Context) (any, error)
}

func (f *fakeRedis) cmd(ctx context.Context) *redis.Cmd {
	f.calls.Add(1)
	cmd := redis.NewCmd(ctx)
	v, err := f.reply(ctx)
	if err != nil {
		cmd.SetErr(err)
	} else {
		cmd.SetVal(v)
	}
	return cmd
}

func (f *fakeRedis) Eval(ctx context.Context, _ string, _ []string, _ ...any) *redis.Cmd {
	return f.cmd(ctx)
}

func (f *fakeRedis) EvalSha(ctx context.Context, _ string, _ []string, _ ...any) *redis.Cmd {
	return f.cmd(ctx)
}

func (f *fakeRedis) EvalRO(ctx context.Context, _ string, _ []string, _ ...any) *redis.Cmd {
	return f.cmd(ctx)
}

func (f *fakeRedis) EvalShaRO(ctx context.Context, _ string, _ []string, _ ...any) *redis.Cmd {
	return f.cmd(ctx)
}

func (f *fakeRedis) ScriptExists(ctx context.Context, _ ...string) *redis.BoolSliceCmd {
	return redis.NewBoolSliceCmd(ctx)
}

func (f *fakeRedis) ScriptLoad(ctx context.Context, _ string) *redis.StringCmd {
	return redis.NewStringCmd(ctx)
}

var (
	errDown   = errors.New("dial tcp 127.0.0.1:1: connect: connection refused")
	okRelease = []any{int64(1)}
)

// breakerRig is a store on a fake server whose health the test switches,
// with the breaker's transitions recorded.
type breakerRig struct {
	fake   *fakeRedis
	clock  *tollgatetest.Clock
	leases *redisstore.LeaseStore
	store  *redisstore.Store
	down   atomic.Bool
	mu     sync.Mutex
	events []string
	causes []error
}

func newBreakerRig(t *testing.T, failures int) *breakerRig {
	r := &breakerRig{clock: tollgatetest.NewClock(time.Time{})}
	r.fake = &fakeRedis{reply: func(context.Context) (any, error) {
		if r.down.Load() {
			return nil, errDown
		}
		return okRelease, nil
	}}
	s, err := redisstore.New(r.fake, redisstore.WithBreaker(redisstore.Breaker{
		Failures: failures,
		CoolDown: 10 * time.Second,
		Clock:    r.clock,
		OnChange: func(from, to redisstore.CircuitState, cause error) {
			r.mu.Lock()
			defer r.mu.Unlock()
			r.events = append(r.events, from.String()+"→"+to.String())
			r.causes = append(r.causes, cause)
		},
	}))
	require.NoError(t, err)
	r.store, r.leases = s, s.Leases()
	return r
}

func (r *breakerRig) call(ctx context.Context) error {
	return r.leases.Release(ctx, "", "k", 1)
}

func (r *breakerRig) log() []string {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]string(nil), r.events...)
}

func TestBreakerOpensAfterConsecutiveFailures(t *testing.T) {
	r := newBreakerRig(t, 3)
	ctx := context.Background()
	r.down.Store(true)
	for i := range 3 {
		err := r.call(ctx)
		require.ErrorIs(t, err, errDown, "call %d reaches the server", i+1)
		var se *redisstore.Error
		require.ErrorAs(t, err, &se)
		assert.Equal(t, "release", se.Op)
	}
	assert.Equal(t, redisstore.CircuitOpen, r.store.Circuit())
	assert.Equal(t, []string{"closed→open"}, r.log())
	assert.ErrorIs(t, r.causes[0], errDown, "the hook is told why")

	before := r.fake.calls.Load()
	for range 10 {
		assert.ErrorIs(t, r.call(ctx), redisstore.ErrCircuitOpen)
	}
	assert.Equal(t, before, r.fake.calls.Load(), "an open circuit does not call Redis")
	_, err := r.store.Buckets().Take(ctx, ratelimit.Charge{Key: "k", Limit: ratelimit.PerSecond(1), Cost: 1})
	assert.ErrorIs(t, err, redisstore.ErrCircuitOpen, "one circuit for every store")
}

func TestBreakerProbeClosesOrReopens(t *testing.T) {
	r := newBreakerRig(t, 1)
	ctx := context.Background()
	r.down.Store(true)
	require.Error(t, r.call(ctx))
	r.clock.Advance(9 * time.Second)
	assert.ErrorIs(t, r.call(ctx), redisstore.ErrCircuitOpen, "still cooling down")

	r.clock.Advance(time.Second)
	assert.ErrorIs(t, r.call(ctx), errDown, "the probe reaches the server")
	assert.Equal(t, redisstore.CircuitOpen, r.store.Circuit(), "a failed probe reopens")
	r.clock.Advance(9 * time.Second)
	assert.ErrorIs(t, r.call(ctx), redisstore.ErrCircuitOpen, "the cool-down restarted")

	r.down.Store(false)
	r.clock.Advance(time.Second)
	assert.NoError(t, r.call(ctx), "the probe succeeds")
	assert.Equal(t, redisstore.CircuitClosed, r.store.Circuit())
	assert.NoError(t, r.call(ctx))
	assert.Equal(t, []string{"closed→open", "open→half-open", "half-open→open", "open→half-open", "half-open→closed"}, r.log())
}

func TestBreakerOneProbeAtATime(t *testing.T) {
	r := newBreakerRig(t, 1)
	ctx := context.Background()
	r.down.Store(true)
	require.Error(t, r.call(ctx))
	r.clock.Advance(10 * time.Second)

	entered, release := make(chan struct{}), make(chan struct{})
	r.fake.reply = func(context.Context) (any, error) {
		close(entered)
		<-release
		return okRelease, nil
	}
	probe := make(chan error, 1)
	go func() { probe <- r.call(ctx) }()
	<-entered
	assert.Equal(t, redisstore.CircuitHalfOpen, r.store.Circuit())
	assert.ErrorIs(t, r.call(ctx), redisstore.ErrCircuitOpen, "others wait for the probe's verdict")
	close(release)
	assert.NoError(t, <-probe)
	assert.Equal(t, redisstore.CircuitClosed, r.store.Circuit())
}

func TestBreakerCountsOnlyServerFailures(t *testing.T) {
	tests := []struct {
		name   string
		err    error
		cancel bool
		opens  bool
	}{
		{"connection refused", errDown, false, true},
		{"timeout", context.DeadlineExceeded, false, true},
		{"server loading", redisErr("LOADING Redis is loading the dataset in memory"), false, true},
		{"read-only replica", redisErr("READONLY You can't write against a read only replica."), false, true},
		{"script error", redisErr("ERR user_script:1: something"), false, false},
		{"wrong type", redisErr("WRONGTYPE Operation against a key holding the wrong kind of value"), false, false},
		{"caller gave up", context.Canceled, true, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := newBreakerRig(t, 2)
			r.fake.reply = func(context.Context) (any, error) { return nil, tt.err }
			ctx, cancel := context.WithCancel(context.Background())
			if tt.cancel {
				cancel()
			}
			defer cancel()
			for range 2 {
				assert.Error(t, r.call(ctx))
			}
			assert.Equal(t, tt.opens, r.store.Circuit() == redisstore.CircuitOpen)
		})
	}
}

func TestBreakerSuccessResetsTheCount(t *testing.T) {
	r := newBreakerRig(t, 3)
	ctx := context.Background()
	for range 5 {
		r.down.Store(true)
		assert.Error(t, r.call(ctx))
		assert.Error(t, r.call(ctx))
		r.down.Store(false)
		assert.NoError(t, r.call(ctx))
	}
	assert.Equal(t, redisstore.CircuitClosed, r.store.Circuit(), "never three failures in a row")
	assert.Empty(t, r.log())
}

func TestBreakerDisabled(t *testing.T) {
	r := newBreakerRig(t, -1)
	r.down.Store(true)
	for range 20 {
		assert.ErrorIs(t, r.call(context.Background()), errDown)
	}
	assert.Equal(t, redisstore.CircuitClosed, r.store.Circuit())
	assert.Equal(t, int64(20), r.fake.calls.Load())
}

func TestCircuitStateString(t *testing.T) {
	for s, want := range map[redisstore.CircuitState]string{
		redisstore.CircuitClosed: "closed", redisstore.CircuitOpen: "open",
		redisstore.CircuitHalfOpen: "half-open", redisstore.CircuitState(9): "unknown",
	} {
		assert.Equal(t, want, s.String())
	}
}

// redisErr is an error reply of the server, as go-redis returns it.
type redisErr string

func (e redisErr) Error() string { return string(e) }
func (redisErr) RedisError()     {}
