package main

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/tollgate/tollgate/auth"
	"github.com/tollgate/tollgate/quota"
)

// exchange is one request of the secrets run: how to send it.
type exchange struct {
	name   string
	path   string
	header []string // name, value pairs
	body   string
}

// secretExchanges walks every refusal and failure the gateway has: keys
// missing, unknown, malformed, conflicting, expired, revoked, suspended or
// used from the wrong network; models, money and rate refused; every store
// failing or panicking; the upstream failing before and during a stream;
// bad bodies; and the successful paths, streamed or not, on both routes.
func secretExchanges(guess string) []exchange {
	chat := chatBody("fake-echo", "hello")
	stream := chatBody("fake-echo", "a b c", `"stream":true,"stream_options":{"include_usage":true}`)
	bearer := func(key string, more ...string) []string {
		return append([]string{"Authorization", "Bearer " + key}, more...)
	}
	xs := []exchange{
		{"ok", "/v1/chat/completions", bearer(demoKey), chat},
		{"ok stream", "/v1/chat/completions", bearer(demoKey), stream},
		{"anthropic ok", "/v1/messages", []string{"X-Api-Key", demoKey}, `{"model":"fake-echo","max_tokens":20,"messages":[{"role":"user","content":"hi"}]}`},
		{"anthropic unknown key", "/v1/messages", []string{"X-Api-Key", guess}, `{}`},
		{"models", "/v1/models", bearer(demoKey), ""},
		{"missing key", "/v1/chat/completions", nil, chat},
		{"unknown key", "/v1/chat/completions", bearer(guess), chat},
		{"key without scheme", "/v1/chat/completions", []string{"Authorization", guess}, chat},
		{"basic auth", "/v1/chat/completions", []string{"Authorization", "Basic " + guess}, chat},
		{"key with nul", "/v1/chat/completions", bearer(guess + "\x00x"), chat},
		{"key with invalid utf-8", "/v1/chat/completions", bearer(guess + "\xff\xfe"), chat},
		{"key too long", "/v1/chat/completions", bearer(guess + strings.Repeat("z", 300)), chat},
		{"two different keys", "/v1/chat/completions", bearer(demoKey, "X-Api-Key", guess), chat},
		{"key in the query", "/v1/chat/completions?key=" + demoKey + "&api_key=" + guess, nil, chat},
		{"expired", "/v1/chat/completions", bearer(expiredKey), chat},
		{"revoked", "/v1/chat/completions", bearer(revokedKey), chat},
		{"suspended", "/v1/chat/completions", bearer(suspendedKey), chat},
		{"wrong network", "/v1/chat/completions", bearer(officeKey), chat},
		{"model not allowed", "/v1/chat/completions", bearer(trialKey), chat},
		{"broke", "/v1/chat/completions", bearer(brokeKey), chat},
		{"bad json", "/v1/chat/completions", bearer(demoKey), `{"model":`},
		{"wrong types", "/v1/chat/completions", bearer(demoKey), `{"model":["x"],"messages":{"a":1}}`},
		{"unknown route", "/v1/embeddings", bearer(demoKey), chat},
		{"wrong method", "/v1/chat/completions?x=" + guess, bearer(demoKey), ""},
	}
	for _, fail := range []string{"error", "unavailable", "timeout", "ratelimit"} {
		xs = append(xs, exchange{"upstream " + fail, "/v1/chat/completions", bearer(demoKey, HeaderFakeFail, fail), chat})
	}
	xs = append(xs, exchange{"upstream fails mid-stream", "/v1/chat/completions", bearer(demoKey, HeaderFakeFail, "midstream"), stream})
	for _, fault := range []string{faultLimits, faultLeases, faultLedger, faultLedgerPanic, faultSettlePanic} {
		xs = append(xs,
			exchange{"store " + fault, "/v1/chat/completions", bearer(demoKey, headerTestFault, fault), chat},
			exchange{"store " + fault + " streaming", "/v1/chat/completions", bearer(demoKey, headerTestFault, fault), stream})
	}
	xs = append(xs, exchange{"window store error", "/v1/chat/completions", bearer(trialKey, headerTestFault, faultWindows), chatBody("fake-mini", "x")})
	for i := range 7 { // past the trial plan's 5 requests a minute
		xs = append(xs, exchange{fmt.Sprintf("rate limited %d", i), "/v1/chat/completions", bearer(trialKey), chatBody("fake-mini", "x")})
	}
	return xs
}

// secretsOf returns every form in which a key could leak: the key, its
// SHA-256 in hex (as KeyHash.String and key files write it), and the
// Authorization values that carried it.
func secretsOf(keys ...string) []string {
	var out []string
	for _, k := range keys {
		out = append(out, k, auth.HashKey(k).String(), "Bearer "+k, "Basic "+k)
	}
	return out
}

// TestNoSecretInLogsOrResponses runs every exchange above through the
// gateway, in process and in proxy mode in front of an upstream that
// reflects the credentials it receives into its own errors, captures every
// log record (debug level), status line, header and body, and checks that
// no API key — the configured ones, the guesses, the gateway's own
// upstream key — appears anywhere, in any form.
func TestNoSecretInLogsOrResponses(t *testing.T) {
	guess := "sk-guess-6f1d0c2b9a8e7d6c5b4a39281706f5e4"
	rg := newRig(t, extraKeys)
	var seen strings.Builder
	for _, x := range secretExchanges(guess) {
		method := http.MethodPost
		if x.name == "models" || strings.HasPrefix(x.name, "wrong method") {
			method = http.MethodGet
		}
		r := httptest.NewRequest(method, x.path, strings.NewReader(x.body))
		for i := 0; i+1 < len(x.header); i += 2 {
			r.Header.Set(x.header[i], x.header[i+1])
		}
		rec, aborted := rg.serve(r)
		fmt.Fprintf(&seen, "%s: %d aborted=%v\n%v\n%s\n", x.name, rec.Code, aborted, rec.Header(), rec.Body.String())
		assert.NotZero(t, rec.Code, x.name)
	}
	// The two requests whose Settle panicked left their holds, which lapse.
	f, err := rg.audit.Balance(context.Background(), "acme", rg.clock.Now())
	require.NoError(t, err)
	assert.Equal(t, 2, f.Holds, "only the settlements that panicked left a hold")
	rg.clock.Advance(quota.DefaultHoldTTL + time.Second)
	rg.checkBooks()

	up := reflectingUpstream(t)
	proxied := newRig(t, func(c *Config) { c.Upstream = up.URL + "/v1"; c.UpstreamKey = upstreamKey })
	for _, status := range []string{"400", "401", "403", "404", "422", "429", "500", "503"} {
		r := httptest.NewRequest(http.MethodPost, "/v1/chat/completions", strings.NewReader(chatBody("fake-echo", "x")))
		r.Header.Set("Authorization", "Bearer "+demoKey)
		r.Header.Set("X-Upstream-Status", status)
		rec, _ := proxied.serve(r)
		fmt.Fprintf(&seen, "proxy %s: %d\n%v\n%s\n", status, rec.Code, rec.Header(), rec.Body.String())
		assert.GreaterOrEqual(t, rec.Code, 400, "upstream %s", status)
	}
	proxied.checkBooks()

	keys := []string{guess, upstreamKey}
	for _, k := range append(rg.cfg.Keys, auth.StaticKey{}) {
		if k.Key != "" {
			keys = append(keys, k.Key)
		}
	}
	everything := rg.logs.String() + proxied.logs.String() + seen.String()
	require.Contains(t, everything, `"msg":"request"`, "the access log was captured")
	require.Contains(t, everything, "panic serving request", "the panics were logged")
	for _, s := range secretsOf(keys...) {
		if i := strings.Index(strings.ToLower(everything), strings.ToLower(s)); i >= 0 {
			t.Errorf("secret %q leaked: …%s…", s[:min(len(s), 12)], everything[max(i-200, 0):min(i+len(s)+50, len(everything))])
		}
	}
}

const upstreamKey = "sk-upstream-secret-4d3c2b1a0f9e8d7c6b5a"

// reflectingUpstream answers with the status the X-Upstream-Status header
// asks for and an OpenAI-style error whose message and headers repeat the
// credentials it was sent, as careless upstreams do.
func reflectingUpstream(t *testing.T) *httptest.Server {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, _ = io.Copy(io.Discard, r.Body)
		creds := r.Header.Get("Authorization") + " " + r.Header.Get("X-Api-Key")
		w.Header().Set("Content-Type", "application/json")
		w.Header().Set("X-Echo-Authorization", creds)
		status := 500
		_, _ = fmt.Sscan(r.Header.Get("X-Upstream-Status"), &status)
		w.WriteHeader(status)
		_, _ = fmt.Fprintf(w, `{"error":{"message":"Incorrect API key provided: %s","type":"invalid_request_error","param":%q,"code":"invalid_api_key"}}`,
			creds, creds)
	}))
	t.Cleanup(srv.Close)
	return srv
}
