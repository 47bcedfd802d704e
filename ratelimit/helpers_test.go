package ratelimit_test

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/tollgate/tollgate"
	"github.com/tollgate/tollgate/ratelimit"
	"github.com/tollgate/tollgate/tollgatetest"
)

// byHeader keys requests by the X-Key header, as a test stand-in for the
// auth package's key functions. A missing header exempts the request.
func byHeader(name string) ratelimit.KeyFunc {
	return func(r *http.Request) (string, error) { return r.Header.Get(name), nil }
}

var byKey = byHeader("X-Key")

// ok is the handler behind the middleware in most tests.
var ok = http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
	w.WriteHeader(http.StatusOK)
	_, _ = w.Write([]byte("ok"))
})

// fixture is a store on a manual clock.
type fixture struct {
	clock  *tollgatetest.Clock
	store  *ratelimit.MemoryStore
	leases *ratelimit.MemoryLeaseStore
}

func newFixture(t *testing.T) *fixture {
	t.Helper()
	clock := tollgatetest.NewClock(time.Time{})
	store, err := ratelimit.NewMemoryStore(ratelimit.WithClock(clock))
	require.NoError(t, err)
	leases, err := ratelimit.NewMemoryLeaseStore(ratelimit.WithClock(clock))
	require.NoError(t, err)
	return &fixture{clock: clock, store: store, leases: leases}
}

// handler builds the middleware over next, failing the test on a
// configuration error.
func (f *fixture) handler(t *testing.T, next http.Handler, policies []ratelimit.Policy, opts ...ratelimit.Option) http.Handler {
	t.Helper()
	mw, err := ratelimit.New(f.store, policies, append([]ratelimit.Option{ratelimit.WithLeaseStore(f.leases)}, opts...)...)
	require.NoError(t, err)
	return mw(next)
}

// do sends one request with the given key through h.
func do(h http.Handler, key string) *httptest.ResponseRecorder {
	return doReq(h, keyed(key))
}

func keyed(key string) *http.Request {
	r := httptest.NewRequest(http.MethodPost, "/v1/chat/completions", nil)
	if key != "" {
		r.Header.Set("X-Key", key)
	}
	return r
}

func doReq(h http.Handler, r *http.Request) *httptest.ResponseRecorder {
	w := httptest.NewRecorder()
	h.ServeHTTP(w, r)
	return w
}

// envelope decodes an OpenAI-dialect error body.
func envelope(t *testing.T, w *httptest.ResponseRecorder) (code, message string) {
	t.Helper()
	var body struct {
		Error struct {
			Code    string `json:"code"`
			Message string `json:"message"`
		} `json:"error"`
	}
	require.NoError(t, json.Unmarshal(w.Body.Bytes(), &body), w.Body.String())
	return body.Error.Code, body.Error.Message
}

// withState runs inner layers with a State whose Plan is plan, as the
// auth layer would.
func withPlan(plan string, next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w, r, st := tollgate.Begin(w, r)
		st.Plan = plan
		next.ServeHTTP(w, r)
	})
}

// failingStore fails every call.
type failingStore struct{ ratelimit.Store }

var errDown = errors.New("store is down")

func (failingStore) Take(context.Context, ratelimit.Charge) (ratelimit.Result, error) {
	return ratelimit.Result{}, errDown
}
func (failingStore) TakeAll(context.Context, []ratelimit.Charge, []ratelimit.Result) (bool, error) {
	return false, errDown
}
func (failingStore) Debit(context.Context, ratelimit.Charge) (ratelimit.Result, error) {
	return ratelimit.Result{}, errDown
}
