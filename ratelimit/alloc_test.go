package ratelimit_test

import (
	"encoding/json"
	"net/http"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	apierrors "github.com/tollgate/tollgate/errors"
	"github.com/tollgate/tollgate/ratelimit"
)

// The allowed path allocates only for its headers, and the decision
// itself nothing.
func TestAllowedPathAllocations(t *testing.T) {
	tests := []struct {
		name string
		opts []ratelimit.Option
		want float64
	}{
		{"no headers: the decision alone", []ratelimit.Option{ratelimit.WithoutHeaders(ratelimit.XRateLimit)}, 0},
		{"the three X-RateLimit headers", nil, 1},
		{"IETF and OpenAI headers too", []ratelimit.Option{ratelimit.IETFHeaders("", ""), ratelimit.OpenAIHeaders("")}, 2},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			store := ratelimit.MustMemoryStore()
			h := ratelimit.MustNew(store, onePolicy(ratelimit.PerHour(1<<40)), tt.opts...)(nop)
			r := keyed("k")
			w := &discard{h: http.Header{"X-Existing": {"1"}}} // the map's storage exists
			h.ServeHTTP(w, r)
			assert.Equal(t, tt.want, testing.AllocsPerRun(500, func() { h.ServeHTTP(w, r) }))
		})
	}
}

func TestSmallHeaderValues(t *testing.T) {
	h := ratelimit.MustNew(ratelimit.MustMemoryStore(), onePolicy(ratelimit.PerMinute(600)))(nop)
	w := &discard{h: http.Header{}}
	h.ServeHTTP(w, keyed("k"))
	assert.Equal(t, []string{"600"}, w.h["X-Ratelimit-Limit"])
	assert.Equal(t, []string{"599"}, w.h["X-Ratelimit-Remaining"])
	require.Len(t, w.h["X-Ratelimit-Reset"], 1)
	for _, name := range []string{"X-Ratelimit-Limit", "X-Ratelimit-Remaining", "X-Ratelimit-Reset"} {
		assert.Equal(t, 1, cap(w.h[name]), "%s: an Add must not write into a neighbour", name)
	}
	w.h["X-Ratelimit-Limit"] = append(w.h["X-Ratelimit-Limit"], "x")
	assert.Equal(t, []string{"599"}, w.h["X-Ratelimit-Remaining"])
}

// A denial in the OpenAI dialect, whose envelope has no details, skips
// building them; the others still carry details.retryAfter.
func TestDenialDetailsByDialect(t *testing.T) {
	for _, d := range []apierrors.Dialect{apierrors.OpenAI, apierrors.Problem, apierrors.Meta} {
		t.Run(d.String(), func(t *testing.T) {
			f := newFixture(t)
			h := apierrors.WithDialect(d)(f.handler(t, ok, onePolicy(ratelimit.Every(2*time.Second, 1))))
			require.Equal(t, 200, do(h, "k").Code)
			w := do(h, "k")
			require.Equal(t, 429, w.Code)
			assert.Equal(t, "2", w.Header().Get("Retry-After"))
			var body map[string]any
			require.NoError(t, json.Unmarshal(w.Body.Bytes(), &body))
			if d == apierrors.OpenAI {
				assert.JSONEq(t, `{"error":{"message":"Rate limit exceeded: 1 requests per 2s (rpm)","type":"rate_limit_error","param":null,"code":"rate_limit_exceeded"}}`, w.Body.String())
				return
			}
			assert.Contains(t, w.Body.String(), `"retryAfter":2`)
		})
	}
}
