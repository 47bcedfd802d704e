package tollgate_test

import (
	"context"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/tollgate/tollgate"
	"github.com/tollgate/tollgate/auth"
	apierrors "github.com/tollgate/tollgate/errors"
	"github.com/tollgate/tollgate/quota"
	"github.com/tollgate/tollgate/ratelimit"
	"github.com/tollgate/tollgate/sse"
	"github.com/tollgate/tollgate/tollgatetest"
)

// The whole stack on a real server: RequestID → Recover → auth → ratelimit
// → quota (→ sse.KeepAlive) → a handler streaming with sse.Writer. These
// tests prove that no layer buffers a stream, that headers set before the
// handler leave with the first byte, that the usage of the final chunk is
// charged exactly once, and that http.ResponseController reaches the
// connection through every wrapper.

const (
	stackKey       = "sk-stack"
	stackAccount   = "acme"
	stackBalance   = 10 * quota.Micro
	stackKeepAlive = 10 * time.Second
	// stackWait bounds every wait of these tests, so that a stream that is
	// buffered somewhere fails them instead of hanging.
	stackWait = 10 * time.Second
)

var (
	stackPrice = quota.Price{Input: 1_000_000, Output: 2_000_000}
	stackTPM   = ratelimit.PerMinute(100_000)
	// stackUsage is what the final chunk of every stream reports.
	stackUsage = tollgate.Usage{InputTokens: 11, OutputTokens: 7}
	stackBody  = `{"model":"m","stream":true,"stream_options":{"include_usage":true},"max_tokens":50,` +
		`"messages":[{"role":"user","content":"count to three"}]}`
)

// stackEnv is one test's server and what it records.
type stackEnv struct {
	clock  *tollgatetest.Clock
	limits *ratelimit.MemoryStore
	ledger *quota.MemoryLedger
	srv    *httptest.Server

	mu      sync.Mutex
	charges []quota.Charge
}

func newStackEnv(t *testing.T, keepAlive bool, handler http.Handler) *stackEnv {
	t.Helper()
	env := &stackEnv{
		clock:  tollgatetest.NewClock(tollgatetest.Epoch),
		ledger: quota.MustMemoryLedger(),
	}
	env.limits = ratelimit.MustMemoryStore(ratelimit.WithClock(env.clock))
	_, err := env.ledger.Credit(context.Background(), stackAccount, stackBalance, "start")
	require.NoError(t, err)

	layers := []tollgate.Middleware{
		tollgate.RequestID(),
		apierrors.Recover(apierrors.RecoverLogger(slog.New(slog.NewTextHandler(io.Discard, nil)))),
		auth.Middleware(tollgatetest.Keys(stackKey+" id=key_stack account="+stackAccount), auth.WithClock(env.clock)),
		ratelimit.MustNew(env.limits, []ratelimit.Policy{
			{Name: "rpm", Key: auth.ByKeyID, Limit: ratelimit.PerMinute(10)},
			{Name: "tpm", Key: auth.ByAccount, Limit: stackTPM, Tokens: true},
		}),
		quota.Middleware(env.ledger, auth.ByAccount,
			quota.WithPricing(quota.MustPricing(map[string]quota.Price{"m": stackPrice})),
			quota.WithClock(env.clock),
			quota.OnCharge(func(_ context.Context, c quota.Charge) {
				env.mu.Lock()
				env.charges = append(env.charges, c)
				env.mu.Unlock()
			})),
	}
	if keepAlive {
		layers = append(layers, sse.MustKeepAlive(sse.WithClock(env.clock), sse.KeepAliveInterval(stackKeepAlive)))
	}
	env.srv = httptest.NewServer(tollgate.Chain(layers...).Then(handler))
	t.Cleanup(env.srv.Close)
	return env
}

// open sends the streaming request and returns the response, whose headers
// have arrived.
func (env *stackEnv) open(t *testing.T) *http.Response {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), stackWait)
	t.Cleanup(cancel)
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, env.srv.URL+"/v1/chat/completions", strings.NewReader(stackBody))
	require.NoError(t, err)
	req.Header.Set("Authorization", "Bearer "+stackKey)
	req.Header.Set("Content-Type", "application/json")
	resp, err := env.srv.Client().Do(req)
	require.NoError(t, err)
	t.Cleanup(func() { _ = resp.Body.Close() })
	return resp
}

// finish closes the server, which waits for every handler, and so every
// settlement, to return, and returns the charges made.
func (env *stackEnv) finish() []quota.Charge {
	env.srv.Close()
	env.mu.Lock()
	defer env.mu.Unlock()
	return append([]quota.Charge(nil), env.charges...)
}

// stackItem is what the client read: an event, a comment or the error that
// ended the stream.
type stackItem struct {
	event   sse.Event
	comment string
	isNote  bool
	err     error
}

// stackRead reads resp's body with sse.Reader on its own goroutine and
// delivers events and comments, in stream order, on the returned channel,
// which it closes after the error that ends the stream.
func stackRead(resp *http.Response) <-chan stackItem {
	items := make(chan stackItem, 64)
	go func() {
		defer close(items)
		rd := sse.NewReader(resp.Body, sse.OnComment(func(text string) {
			items <- stackItem{comment: text, isNote: true}
		}))
		for {
			ev, err := rd.Next()
			if err != nil {
				items <- stackItem{err: err}
				return
			}
			items <- stackItem{event: ev}
		}
	}()
	return items
}

func stackNext(t *testing.T, items <-chan stackItem) stackItem {
	t.Helper()
	select {
	case it, ok := <-items:
		require.True(t, ok, "the stream ended early")
		return it
	case <-time.After(stackWait):
		require.FailNow(t, "nothing reached the client: is the stream buffered?")
		return stackItem{}
	}
}

func stackNextEvent(t *testing.T, items <-chan stackItem) sse.Event {
	t.Helper()
	it := stackNext(t, items)
	require.NoError(t, it.err)
	require.False(t, it.isNote, "comment %q where an event was expected", it.comment)
	return it.event
}

func stackSignal(t *testing.T, ch chan<- struct{}) {
	t.Helper()
	select {
	case ch <- struct{}{}:
	case <-time.After(stackWait):
		require.FailNow(t, "the handler is not waiting")
	}
}

// assertHeadersAtFirstByte checks the headers the layers set before the
// handler ran, read while the handler has written no event yet.
func assertHeadersAtFirstByte(t *testing.T, resp *http.Response) {
	t.Helper()
	require.Equal(t, http.StatusOK, resp.StatusCode)
	assert.Equal(t, "text/event-stream", resp.Header.Get("Content-Type"))
	assert.True(t, tollgate.ValidRequestID(resp.Header.Get("X-Request-ID")), "X-Request-ID")
	assert.Equal(t, "10", resp.Header.Get("X-RateLimit-Limit"))
	assert.Equal(t, "9", resp.Header.Get("X-RateLimit-Remaining"))
	assert.NotEmpty(t, resp.Header.Get("X-RateLimit-Reset"))
	assert.NotEmpty(t, resp.Header.Get(quota.HeaderBalanceRemaining))
}

// assertChargedOnce checks that the final chunk's usage was charged, once,
// to the balance and to the token bucket.
func assertChargedOnce(t *testing.T, env *stackEnv) {
	t.Helper()
	charges := env.finish()
	require.Len(t, charges, 1, "one settlement per request")
	want, err := stackPrice.Cost(stackUsage)
	require.NoError(t, err)
	c := charges[0]
	assert.Equal(t, quota.Observed, c.Basis, "charged on the usage read from the stream")
	assert.Equal(t, stackUsage, c.Usage)
	assert.Equal(t, want, c.Cost)
	assert.False(t, c.Replayed)
	assert.NoError(t, c.Err)

	funds, err := env.ledger.Balance(context.Background(), stackAccount, env.clock.Now())
	require.NoError(t, err)
	assert.Equal(t, stackBalance-want, funds.Balance)
	assert.Zero(t, funds.Holds, "no hold left open")

	res, err := env.limits.Take(context.Background(), ratelimit.Charge{Prefix: "tpm:", Key: stackAccount, Limit: stackTPM})
	require.NoError(t, err)
	assert.Equal(t, stackTPM.Burst-stackUsage.Tokens(), res.Remaining, "the token bucket was debited with the real usage")
}

// stackStreamer is a handler that streams chunks with sse.Writer, waiting
// before the first and after each one for the client to say it has read
// it, then sends the usage chunk and [DONE].
type stackStreamer struct {
	chunks  []string
	proceed chan struct{}
	written atomic.Int32

	mu       sync.Mutex
	controls map[string]error // what http.ResponseController said
}

func newStackStreamer(chunks ...string) *stackStreamer {
	return &stackStreamer{chunks: chunks, proceed: make(chan struct{}), controls: map[string]error{}}
}

func (s *stackStreamer) control(name string, err error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.controls[name] = err
}

// assertControls checks that every http.ResponseController call made
// through the stack's wrappers succeeded.
func (s *stackStreamer) assertControls(t *testing.T) {
	t.Helper()
	s.mu.Lock()
	defer s.mu.Unlock()
	assert.Equal(t, map[string]error{"SetWriteDeadline": nil, "SetReadDeadline": nil, "Flush": nil}, s.controls)
}

func (s *stackStreamer) wait(r *http.Request) bool {
	select {
	case <-s.proceed:
		return true
	case <-r.Context().Done():
		return false
	}
}

func (s *stackStreamer) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	rc := http.NewResponseController(w)
	s.control("SetWriteDeadline", rc.SetWriteDeadline(time.Now().Add(time.Minute)))
	s.control("SetReadDeadline", rc.SetReadDeadline(time.Time{}))
	sw, err := sse.NewWriter(w, r)
	if err != nil {
		apierrors.Write(w, r, err)
		return
	}
	defer sw.Close()
	if !s.wait(r) { // the client has the headers, and no event yet
		return
	}
	for _, chunk := range s.chunks {
		s.written.Add(1)
		if sw.SendJSON("", map[string]any{"choices": []any{map[string]any{"delta": map[string]string{"content": chunk}}}}) != nil || !s.wait(r) {
			return
		}
	}
	_ = sw.SendJSON("", map[string]any{"choices": []any{}, "usage": map[string]int64{
		"prompt_tokens": stackUsage.InputTokens, "completion_tokens": stackUsage.OutputTokens,
		"total_tokens": stackUsage.Tokens(),
	}})
	s.control("Flush", rc.Flush())
	_ = sw.Done()
}

func TestStackStreamsEachEventBeforeTheNext(t *testing.T) {
	tests := []struct {
		name      string
		keepAlive bool
	}{
		{"sse.Writer", false},
		{"sse.Writer below sse.KeepAlive", true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h := newStackStreamer("one", "two", "three")
			env := newStackEnv(t, tt.keepAlive, h)
			resp := env.open(t)
			assertHeadersAtFirstByte(t, resp)
			assert.Zero(t, h.written.Load(), "headers arrived before the first event was written")

			items := stackRead(resp)
			stackSignal(t, h.proceed)
			for i, want := range h.chunks {
				ev := stackNextEvent(t, items)
				assert.Contains(t, ev.Data, `"content":"`+want+`"`)
				assert.Equal(t, int32(i+1), h.written.Load(), "event %d arrived before the handler wrote the next", i)
				if tt.keepAlive && i == 0 {
					// The handler is silent: the keep-alive comment must
					// reach the client too, between two events.
					require.Equal(t, 1, env.clock.Timers(), "the keep-alive timer is armed")
					env.clock.Advance(stackKeepAlive)
					it := stackNext(t, items)
					require.True(t, it.isNote, "a comment after a silent interval, got %+v", it)
					assert.Equal(t, sse.DefaultKeepAliveComment, it.comment)
				}
				stackSignal(t, h.proceed)
			}
			assert.Contains(t, stackNextEvent(t, items).Data, `"usage":{`)
			assert.Equal(t, "[DONE]", stackNextEvent(t, items).Data)
			assert.Error(t, stackNext(t, items).err, "the stream ends after [DONE]")

			assertChargedOnce(t, env)
			h.assertControls(t)
		})
	}
}

// TestStackWriteDeadlineReachesTheConnection shows that a deadline set
// through every wrapper is the connection's: once it has passed, writes
// fail instead of succeeding into a buffer.
func TestStackWriteDeadlineReachesTheConnection(t *testing.T) {
	result := make(chan error, 1)
	h := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		rc := http.NewResponseController(w)
		if err := rc.SetWriteDeadline(time.Now().Add(-time.Second)); err != nil {
			result <- err
			return
		}
		w.Header().Set("Content-Type", "text/plain")
		_, err := w.Write([]byte(strings.Repeat("x", 1<<16)))
		if err == nil {
			err = rc.Flush()
		}
		result <- err
	})
	env := newStackEnv(t, true, h)
	req, err := http.NewRequest(http.MethodPost, env.srv.URL, strings.NewReader(stackBody))
	require.NoError(t, err)
	req.Header.Set("Authorization", "Bearer "+stackKey)
	req.Header.Set("Content-Type", "application/json")
	if resp, err := env.srv.Client().Do(req); err == nil {
		_ = resp.Body.Close()
	}
	select {
	case err := <-result:
		assert.ErrorIs(t, err, os.ErrDeadlineExceeded)
	case <-time.After(stackWait):
		require.FailNow(t, "the handler did not finish")
	}
}

// TestStackPanicMidStream shows Recover, outside every other layer, turning
// a panic after the first event into the dialect's in-stream error, with
// the request still settled once.
func TestStackPanicMidStream(t *testing.T) {
	proceed := make(chan struct{})
	h := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		sw, err := sse.NewWriter(w, r)
		if err != nil {
			return
		}
		_ = sw.SendJSON("", map[string]string{"content": "one"})
		select {
		case <-proceed:
		case <-r.Context().Done():
			return
		}
		panic("upstream exploded")
	})
	env := newStackEnv(t, false, h)
	resp := env.open(t)
	require.Equal(t, http.StatusOK, resp.StatusCode)
	items := stackRead(resp)
	assert.Contains(t, stackNextEvent(t, items).Data, "one")
	stackSignal(t, proceed)

	ev := stackNextEvent(t, items)
	assert.NotContains(t, ev.Data, "exploded", "the panic value stays in the logs")
	e := apierrors.ParseBody(http.StatusInternalServerError, "application/json", []byte(ev.Data))
	assert.Equal(t, apierrors.CodeInternalError, e.Code, "in-stream error %s", ev.Data)

	charges := env.finish()
	require.Len(t, charges, 1)
	assert.Equal(t, quota.Estimated, charges[0].Basis, "no usage seen: the estimate is charged")
	assert.Equal(t, http.StatusOK, charges[0].Status)
}
