package ratelimit_test

import (
	"net/http"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/tollgate/tollgate/ratelimit"
)

type headerCase struct {
	name     string
	policies []ratelimit.Policy
	opts     []ratelimit.Option
	est      string
	want     map[string]string
	absent   []string
}

func TestHeaderFamilies(t *testing.T) {
	for _, tt := range headerCases {
		t.Run(tt.name, func(t *testing.T) {
			f := newFixture(t)
			h := f.handler(t, ok, tt.policies, tt.opts...)
			r := keyed("k")
			r.Header.Set("X-Estimate", tt.est)
			w := doReq(h, r)
			require.Equal(t, http.StatusOK, w.Code)
			for name, want := range tt.want {
				assert.Equal(t, []string{want}, w.Header().Values(name), name)
			}
			for _, name := range tt.absent {
				assert.Empty(t, w.Header().Values(name), name)
			}
		})
	}
}

var headerCases = []headerCase{
	{
		name:     "default: X-RateLimit",
		policies: rpm(60),
		want:     map[string]string{"X-RateLimit-Limit": "60", "X-RateLimit-Remaining": "59", "X-RateLimit-Reset": "1767225601"},
		absent:   []string{"X-Ratelimit-Limit-Requests", "RateLimit", "RateLimit-Policy"},
	},
	{
		name:     "IETF on",
		policies: rpm(60),
		opts:     []ratelimit.Option{ratelimit.IETFHeaders("", "")},
		want: map[string]string{
			"X-RateLimit-Limit": "60", "RateLimit-Policy": `"rpm";q=60;w=60`, "RateLimit": `"rpm";r=59;t=1`,
		},
	},
	{
		name:     "OpenAI style for requests and tokens",
		policies: tpmPolicies(),
		opts:     []ratelimit.Option{ratelimit.OpenAIHeaders(""), ratelimit.WithoutHeaders(ratelimit.XRateLimit, ratelimit.IETF)},
		est:      "150",
		want: map[string]string{
			"x-ratelimit-limit-requests": "100", "x-ratelimit-remaining-requests": "99", "x-ratelimit-reset-requests": "600ms",
			"x-ratelimit-limit-tokens": "1000", "x-ratelimit-remaining-tokens": "850", "x-ratelimit-reset-tokens": "9s",
		},
		absent: []string{"X-RateLimit-Limit", "RateLimit", "RateLimit-Policy"},
	},
	{
		name:     "OpenAI style with another prefix",
		policies: rpm(10),
		opts:     []ratelimit.Option{ratelimit.OpenAIHeaders("x-gw-")},
		want:     map[string]string{"X-Gw-Limit-Requests": "10", "X-Gw-Reset-Requests": "6s"},
		absent:   []string{"X-Gw-Limit-Tokens"},
	},
	{
		name:     "renamed X-RateLimit with a delta reset",
		policies: rpm(3),
		opts:     []ratelimit.Option{ratelimit.XRateLimitHeaders("X-Limit", "", "X-Reset-In"), ratelimit.XRateLimitResetDelta()},
		want:     map[string]string{"X-Limit": "3", "X-RateLimit-Remaining": "2", "X-Reset-In": "20"},
		absent:   []string{"X-RateLimit-Limit", "X-RateLimit-Reset"},
	},
	{
		name:     "renamed IETF",
		policies: rpm(3),
		opts:     []ratelimit.Option{ratelimit.IETFHeaders("X-Policy", "")},
		want:     map[string]string{"X-Policy": `"rpm";q=3;w=60`, "RateLimit": `"rpm";r=2;t=20`},
		absent:   []string{"RateLimit-Policy"},
	},
	{
		name:     "token policies alone feed X-RateLimit",
		policies: tpmPolicies()[1:],
		est:      "100",
		want:     map[string]string{"X-RateLimit-Limit": "1000", "X-RateLimit-Remaining": "900"},
	},
	{
		name:     "an odd window rounds up",
		policies: []ratelimit.Policy{{Name: "odd", Key: byKey, Limit: ratelimit.Per(7, 2500*time.Millisecond)}},
		opts:     []ratelimit.Option{ratelimit.IETFHeaders("", "")},
		want:     map[string]string{"RateLimit-Policy": `"odd";q=7;w=3`, "RateLimit": `"odd";r=6;t=1`},
	},
	{
		name:     "every family off",
		policies: rpm(3),
		opts:     []ratelimit.Option{ratelimit.WithoutHeaders(ratelimit.XRateLimit, ratelimit.IETF, ratelimit.OpenAI)},
		absent:   []string{"X-RateLimit-Limit", "RateLimit", "RateLimit-Policy", "X-Ratelimit-Limit-Requests"},
	},
}

func TestDeniedResponseWithoutHeaders(t *testing.T) {
	f := newFixture(t)
	h := f.handler(t, ok, rpm(1), ratelimit.WithoutHeaders(ratelimit.XRateLimit, ratelimit.IETF))
	require.Equal(t, 200, do(h, "k").Code)
	w := do(h, "k")
	assert.Equal(t, 429, w.Code)
	assert.Equal(t, "60", w.Header().Get("Retry-After"), "Retry-After is always sent with a denial")
	assert.Empty(t, w.Header().Get("RateLimit"))
}
