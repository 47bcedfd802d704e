package bench

import (
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
)

// discard is the ResponseWriter of the main benchmarks: it keeps nothing
// but a header map, which the benchmark loop replaces before every
// request, as net/http gives every request a fresh one. It records the
// status so that the checks can read it.
type discard struct {
	h      http.Header
	status int
}

func (w *discard) Header() http.Header { return w.h }

func (w *discard) Write(p []byte) (int, error) {
	if w.status == 0 {
		w.status = http.StatusOK
	}
	return len(p), nil
}

func (w *discard) WriteHeader(code int) {
	if w.status == 0 {
		w.status = code
	}
}

// reset readies w for the next request.
func (w *discard) reset() {
	w.h = make(http.Header)
	w.status = 0
}

// ok is the trivial handler every contender wraps: a 200 with no body.
var ok = http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
	w.WriteHeader(http.StatusOK)
})

// chatPath is the path every request asks for.
const chatPath = "/v1/chat/completions"

// benchAPIKey is the one API key the stacks know.
const benchAPIKey = "sk-bench-0123456789abcdef0123456789abcdef"

// keyHeader is the header the limiters key on.
const keyHeader = "X-Key"

// newRequest builds the request the benchmarks send, once: a POST with an
// API key and a rate-limit key.
func newRequest(key string) *http.Request {
	r := httptest.NewRequest(http.MethodPost, chatPath, strings.NewReader(""))
	r.Header.Set("Authorization", "Bearer "+benchAPIKey)
	r.Header.Set(keyHeader, key)
	r.Header.Set("Content-Type", "application/json")
	return r
}

// keyOf is the key function every limiter uses: the X-Key header.
func keyOf(r *http.Request) string { return r.Header.Get(keyHeader) }

// serve sends r through h once with a fresh discard writer and returns
// the status.
func serve(h http.Handler, r *http.Request) int {
	w := &discard{}
	w.reset()
	h.ServeHTTP(w, r)
	if w.status == 0 {
		return http.StatusOK
	}
	return w.status
}

// mustStatus fails tb unless h answers r with want.
func mustStatus(tb testing.TB, h http.Handler, r *http.Request, want int) {
	tb.Helper()
	if got := serve(h, r); got != want {
		tb.Fatalf("status %d, want %d", got, want)
	}
}
