package redisstore_test

import (
	"context"
	"errors"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.uber.org/goleak"

	"github.com/tollgate/tollgate"
	"github.com/tollgate/tollgate/quota"
	"github.com/tollgate/tollgate/ratelimit"
	"github.com/tollgate/tollgate/redisstore"
)

// latencyProxy is a TCP proxy in front of a Redis server that delays every
// reply by a configurable latency: a slow Redis. Commands reach the server
// at once, so a call that times out on the client has still run, as it
// would against a server that is slow to answer; replies are delivered in
// order, each no sooner than latency after the server sent it.
type latencyProxy struct {
	ln      net.Listener
	target  string
	latency atomic.Int64  // nanoseconds
	done    chan struct{} // closed by close: pending replies are dropped
	wg      sync.WaitGroup
	mu      sync.Mutex
	conns   []net.Conn
}

func startLatencyProxy(t *testing.T, target string) *latencyProxy {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	p := &latencyProxy{ln: ln, target: target, done: make(chan struct{})}
	p.wg.Add(1)
	go p.accept()
	t.Cleanup(p.close)
	return p
}

func (p *latencyProxy) addr() string { return p.ln.Addr().String() }

func (p *latencyProxy) setLatency(d time.Duration) { p.latency.Store(int64(d)) }

func (p *latencyProxy) track(c net.Conn) {
	p.mu.Lock()
	p.conns = append(p.conns, c)
	p.mu.Unlock()
}

func (p *latencyProxy) accept() {
	defer p.wg.Done()
	for {
		client, err := p.ln.Accept()
		if err != nil {
			return
		}
		server, err := net.Dial("tcp", p.target)
		if err != nil {
			_ = client.Close()
			continue
		}
		p.track(client)
		p.track(server)
		p.wg.Add(3)
		go func() { // commands go straight through
			defer p.wg.Done()
			_, _ = io.Copy(server, client)
			_ = server.Close()
		}()
		replies := make(chan delayed, 1024)
		go p.read(server, replies)
		go p.deliver(client, replies)
	}
}

// delayed is a chunk of replies and when it may be delivered.
type delayed struct {
	at   time.Time
	data []byte
}

func (p *latencyProxy) read(server net.Conn, out chan<- delayed) {
	defer p.wg.Done()
	defer close(out)
	for {
		buf := make([]byte, 32<<10)
		n, err := server.Read(buf)
		if n > 0 {
			out <- delayed{at: time.Now().Add(time.Duration(p.latency.Load())), data: buf[:n]}
		}
		if err != nil {
			return
		}
	}
}

func (p *latencyProxy) deliver(client net.Conn, in <-chan delayed) {
	defer p.wg.Done()
	defer client.Close()
	for d := range in {
		if wait := time.Until(d.at); wait > 0 {
			timer := time.NewTimer(wait)
			select {
			case <-timer.C:
			case <-p.done:
				timer.Stop()
			}
		}
		if _, err := client.Write(d.data); err != nil {
			for range in { // drain until the server side closes
			}
			return
		}
	}
}

// close stops accepting, cuts every connection and waits for the proxy's
// goroutines.
func (p *latencyProxy) close() {
	close(p.done)
	_ = p.ln.Close()
	p.mu.Lock()
	for _, c := range p.conns {
		_ = c.Close()
	}
	p.mu.Unlock()
	p.wg.Wait()
}

// slowStack is a limiter and a ledger over one store, failing open or
// closed, whose handler reports a cost of 10 per request.
type slowStack struct {
	handler http.Handler
	mu      sync.Mutex
	errs    []error
	charged int64 // charges the ledger acknowledged
	lost    int64 // charges whose settlement failed
}

func newSlowStack(s *redisstore.Store, failOpen bool) *slowStack {
	st := &slowStack{}
	onError := func(_ *http.Request, err error) {
		st.mu.Lock()
		st.errs = append(st.errs, err)
		st.mu.Unlock()
	}
	rlOpts := []ratelimit.Option{ratelimit.OnError(onError), ratelimit.FailClosed()}
	qOpts := []quota.Option{quota.OnError(onError), quota.WithSettleTimeout(time.Second),
		quota.OnCharge(func(_ context.Context, c quota.Charge) {
			st.mu.Lock()
			if c.Err == nil {
				st.charged += c.Cost
			} else {
				st.lost += c.Cost
			}
			st.mu.Unlock()
		})}
	if failOpen {
		rlOpts, qOpts = append(rlOpts, ratelimit.FailOpen()), append(qOpts, quota.FailOpen())
	}
	policies := []ratelimit.Policy{{Name: "rpm", Key: ratelimit.ConstantKey("acme"), Limit: ratelimit.PerMinute(100_000)}}
	account := func(*http.Request) (string, error) { return "acme", nil }
	st.handler = tollgate.Chain(
		ratelimit.MustNew(s.Buckets(), policies, rlOpts...),
		quota.Middleware(s.Ledger(), account, qOpts...),
	).ThenFunc(func(w http.ResponseWriter, r *http.Request) {
		quota.Report(r.Context(), tollgate.Usage{Cost: 10})
		w.WriteHeader(http.StatusOK)
	})
	return st
}

// serve sends one request and returns its status and how long it took.
func (st *slowStack) serve() (int, time.Duration) {
	start := time.Now()
	rec := httptest.NewRecorder()
	st.handler.ServeHTTP(rec, httptest.NewRequest(http.MethodPost, "/v1/chat/completions", nil))
	return rec.Code, time.Since(start)
}

func (st *slowStack) failures() []error {
	st.mu.Lock()
	defer st.mu.Unlock()
	return append([]error(nil), st.errs...)
}

// TestSlowRedis runs a fail-open and a fail-closed stack through a proxy
// that makes Redis slow: below the store's timeout requests are slow but
// served and billed exactly; above it every call gives up at the timeout,
// fail-open serves and fail-closed answers 503; when Redis is fast again
// both serve. Afterwards no hold is left once the orphaned ones lapse, the
// balance is the credits less every charge the ledger acknowledged plus,
// at most, the charges whose acknowledgement was lost (fail-open serves
// requests the ledger may never see: each is reported, with its amount,
// to OnError and OnCharge), and no goroutine is left behind.
func TestSlowRedis(t *testing.T) {
	shared := sharedClient(t)
	// The snapshot is taken now: taken inside the cleanup, it would ignore
	// the very goroutines the test leaves behind.
	before := goleak.IgnoreCurrent()
	t.Cleanup(func() { goleak.VerifyNone(t, before) })
	proxy := startLatencyProxy(t, redisAddr(t))
	// The timeout leaves the slow phase's 20 ms replies ample slack for a
	// loaded machine running -race: at 100 ms, one stall of 80 ms would fail it.
	const timeout = 250 * time.Millisecond
	s, err := redisstore.New(newClient(t, proxy.addr()), redisstore.WithPrefix(uniquePrefix(t, shared)),
		redisstore.WithTimeout(timeout), redisstore.WithBreaker(redisstore.Breaker{Failures: -1}),
		redisstore.WithHoldTTL(time.Minute))
	require.NoError(t, err)
	ctx := context.Background()
	_, err = s.Ledger().Credit(ctx, "acme", 1_000_000, "topup")
	require.NoError(t, err)
	open, closed := newSlowStack(s, true), newSlowStack(s, false)
	served := 0
	phase := func(name string, latency time.Duration, wantOpen, wantClosed int, maxTime time.Duration) {
		t.Helper()
		proxy.setLatency(latency)
		for i := range 3 {
			for _, c := range []struct {
				st   *slowStack
				want int
			}{{open, wantOpen}, {closed, wantClosed}} {
				code, took := c.st.serve()
				assert.Equal(t, c.want, code, "%s: request %d", name, i)
				assert.Less(t, took, maxTime, "%s: request %d is bounded by the timeouts, not by Redis", name, i)
				if code == http.StatusOK {
					served++
				}
			}
		}
	}
	phase("fast", 0, 200, 200, time.Second)
	phase("slow, within the timeout", 20*time.Millisecond, 200, 200, 2*time.Second)
	// Take and reserve give up at the timeout, and the settlement's attempts
	// at its own 1 s timeout, however slow Redis is: about 1.25 s.
	phase("slower than the timeout", 5*time.Second, 200, 503, 3*time.Second)
	phase("fast again", 0, 200, 200, time.Second)

	errs := append(open.failures(), closed.failures()...)
	require.NotEmpty(t, errs)
	for _, err := range errs {
		var se *redisstore.Error
		var ne net.Error
		timedOut := errors.Is(err, context.DeadlineExceeded) || errors.As(err, &ne) && ne.Timeout()
		assert.True(t, errors.As(err, &se) || timedOut, "a store timeout: %v", err)
	}

	// Holds whose reservation ran but whose answer was lost lapse after the
	// hold TTL; then the books close.
	f, err := s.Ledger().Balance(ctx, "acme", time.Now().Add(2*time.Minute))
	require.NoError(t, err)
	assert.Zero(t, f.Held, "no hold is left")
	charged, lost := open.charged+closed.charged, open.lost+closed.lost
	assert.Equal(t, int64(10*served), charged+lost, "every served request was reported, billed or lost")
	assert.Equal(t, int64(30), lost, "the three fail-open requests served while Redis was too slow")
	spent := 1_000_000 - f.Balance
	assert.GreaterOrEqual(t, spent, charged, "every acknowledged charge is on the books")
	assert.LessOrEqual(t, spent, charged+lost, "nothing is charged twice")
	assert.Equal(t, int64(90), closed.charged, "fail-closed: exact, all served requests acknowledged")
}

// TestSlowRedisTimeoutsFire checks each store call against a Redis far
// slower than the store's timeout: every call fails within a small
// multiple of the timeout with a timeout error.
func TestSlowRedisTimeoutsFire(t *testing.T) {
	shared := sharedClient(t)
	// The snapshot is taken now: taken inside the cleanup, it would ignore
	// the very goroutines the test leaves behind.
	before := goleak.IgnoreCurrent()
	t.Cleanup(func() { goleak.VerifyNone(t, before) })
	proxy := startLatencyProxy(t, redisAddr(t))
	s, err := redisstore.New(newClient(t, proxy.addr()), redisstore.WithPrefix(uniquePrefix(t, shared)),
		redisstore.WithTimeout(50*time.Millisecond), redisstore.WithBreaker(redisstore.Breaker{Failures: -1}))
	require.NoError(t, err)
	proxy.setLatency(10 * time.Second)
	ctx := context.Background()
	now := time.Now()
	calls := map[string]func() error{
		"take": func() error {
			_, err := s.Buckets().Take(ctx, ratelimit.Charge{Key: "k", Limit: ratelimit.PerSecond(1), Cost: 1})
			return err
		},
		"acquire": func() error { _, err := s.Leases().Acquire(ctx, "", "k", 1, time.Second); return err },
		"reserve": func() error { _, err := s.Ledger().Reserve(ctx, "a", 1, "r", now); return err },
		"balance": func() error { _, err := s.Ledger().Balance(ctx, "a", now); return err },
		"usage":   func() error { _, err := s.Windows().Usage(ctx, "a", nil, now); return err },
	}
	for name, call := range calls {
		start := time.Now()
		err := call()
		took := time.Since(start)
		var ne net.Error
		timedOut := errors.Is(err, context.DeadlineExceeded) || errors.As(err, &ne) && ne.Timeout()
		assert.True(t, timedOut, "%s: %v is a timeout", name, err)
		assert.Less(t, took, time.Second, "%s took %v", name, took)
	}
}
