package bench

import (
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
)

// The bench module's go.sum carries only the peers, so its tests use the
// testing package alone: they build with GOWORK=off too.

// TestContendersLimit checks what every benchmark takes for granted: each
// limiter and stack lets requests through under the high limit and
// refuses the second request under a limit of one, so the allowed and
// denied benchmarks time what their names say.
func TestContendersLimit(t *testing.T) {
	type target struct {
		name   string
		limits bool
		build  func(testing.TB, int, http.Handler) http.Handler
		req    func() *http.Request
	}
	var targets []target
	for _, c := range contenders {
		targets = append(targets, target{"limiter/" + c.name, true, c.build, func() *http.Request { return newRequest("key_1") }})
	}
	for _, s := range stacks {
		targets = append(targets, target{"stack/" + s.name, s.limits, s.build, func() *http.Request { return stackRequest(0) }})
	}
	for _, tc := range targets {
		t.Run(tc.name, func(t *testing.T) {
			high := tc.build(t, highLimit, ok)
			for i := range 3 {
				if got := serve(high, tc.req()); got != http.StatusOK {
					t.Errorf("request %d under the high limit: status %d, want 200", i, got)
				}
			}
			if !tc.limits {
				return
			}
			low := tc.build(t, 1, ok)
			if got := serve(low, tc.req()); got != http.StatusOK {
				t.Fatalf("first request under a limit of one: status %d, want 200", got)
			}
			rec := httptest.NewRecorder()
			low.ServeHTTP(rec, tc.req())
			if rec.Code != http.StatusTooManyRequests {
				t.Errorf("second request: status %d, want 429", rec.Code)
			}
			other := newRequest("key_2")
			if tc.name == "stack/tollgate" || tc.name == "stack/echo" {
				other = stackRequest(1)
			}
			if got := serve(low, other); got != http.StatusOK {
				t.Errorf("another key has its own limit: status %d, want 200", got)
			}
		})
	}
}

// TestTollgateStackDeniesUnknownKey checks that the tollgate stack
// really authenticates: an unknown key gets a 401 envelope that carries a
// request ID.
func TestTollgateStackDeniesUnknownKey(t *testing.T) {
	h := buildTollgateStack(t, highLimit, ok)
	r := newRequest("key_1")
	r.Header.Set("Authorization", "Bearer sk-unknown")
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, r)
	if rec.Code != http.StatusUnauthorized || !strings.Contains(rec.Body.String(), "invalid_api_key") {
		t.Errorf("unknown key: %d %s, want 401 invalid_api_key", rec.Code, rec.Body)
	}
	if rec.Header().Get("X-Request-ID") == "" {
		t.Error("the refusal carries no X-Request-ID")
	}
}
