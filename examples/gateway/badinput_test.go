package main

import (
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/tollgate/tollgate/tollgatetest"
)

// hostileBodies are request bodies no client should send: oversized,
// truncated, not UTF-8, with NUL bytes, of the wrong JSON types, deeply
// nested, or not JSON at all.
func hostileBodies() map[string]string {
	deep := strings.Repeat(`{"a":`, 20_000) + "1" + strings.Repeat("}", 20_000)
	return map[string]string{
		"empty":                 "",
		"oversized":             `{"model":"fake-echo","messages":[{"role":"user","content":"` + strings.Repeat("x", maxBodyBytes) + `"}]}`,
		"truncated":             `{"model":"fake-echo","messages":[{"role":"user","content":"hel`,
		"truncated in escape":   `{"model":"fake-echo","messages":[{"role":"user","content":"\u00`,
		"invalid utf-8 raw":     "{\"model\":\"fake-echo\",\"messages\":[{\"role\":\"user\",\"content\":\"\xff\xfe\xfd\"}]}",
		"invalid utf-8 model":   "{\"model\":\"fake-\xc3\x28\",\"messages\":[{\"role\":\"user\",\"content\":\"x\"}]}",
		"lone surrogate":        `{"model":"fake-echo","messages":[{"role":"user","content":"\ud800"}],"max_tokens":"\udfff"}`,
		"raw nul":               "{\"model\":\"fake-echo\x00\",\"messages\":[]}",
		"escaped nul model":     `{"model":"fake-echo\u0000","messages":[{"role":"user","content":"x"}]}`,
		"nul bytes only":        strings.Repeat("\x00", 4096),
		"binary":                "\x1f\x8b\x08\x00\x00\x00\x00\x00\x00\x03",
		"model number":          `{"model":42,"messages":[{"role":"user","content":"x"}]}`,
		"model object":          `{"model":{"name":"fake-echo"},"messages":[{"role":"user","content":"x"}]}`,
		"messages object":       `{"model":"fake-echo","messages":{"role":"user"}}`,
		"messages strings":      `{"model":"fake-echo","messages":["hi"]}`,
		"content number":        `{"model":"fake-echo","messages":[{"role":"user","content":7}]}`,
		"content nested arrays": `{"model":"fake-echo","messages":[{"role":"user","content":[[[["x"]]]]}]}`,
		"role number":           `{"model":"fake-echo","messages":[{"role":1,"content":"x"}]}`,
		"stream string":         `{"model":"fake-echo","stream":"yes","messages":[{"role":"user","content":"x"}]}`,
		"max_tokens float":      `{"model":"fake-echo","max_tokens":1.5,"messages":[{"role":"user","content":"x"}]}`,
		"max_tokens huge":       `{"model":"fake-echo","max_tokens":99999999999999999999999,"messages":[{"role":"user","content":"x"}]}`,
		"max_tokens negative":   `{"model":"fake-echo","max_tokens":-9223372036854775808,"messages":[{"role":"user","content":"x"}]}`,
		"max_tokens zero":       `{"model":"fake-echo","max_tokens":0,"messages":[{"role":"user","content":"x"}]}`,
		"temperature string":    `{"model":"fake-echo","temperature":"hot","messages":[{"role":"user","content":"x"}]}`,
		"deeply nested object":  deep,
		"deeply nested array":   strings.Repeat("[", 200_000),
		"deep in a field":       `{"model":"fake-echo","messages":[{"role":"user","content":"x"}],"metadata":` + deep + `}`,
		"top-level array":       `[{"model":"fake-echo"}]`,
		"top-level string":      `"fake-echo"`,
		"null":                  `null`,
		"two objects":           `{"model":"fake-echo","messages":[{"role":"user","content":"x"}]}{"model":"x"}`,
		"duplicate model":       `{"model":"fake-echo","model":"gpt-4","messages":[{"role":"user","content":"x"}]}`,
		"form encoded":          `model=fake-echo&messages=hi`,
	}
}

// checkEnvelope asserts that an answer is a 4xx with an error envelope the
// client library can read, and fails on a 500, a panic or a bare body.
func checkEnvelope(t *testing.T, name string, rec *httptest.ResponseRecorder, aborted bool) {
	t.Helper()
	assert.False(t, aborted, "%s: the response was aborted", name)
	if !assert.True(t, rec.Code >= 400 && rec.Code < 500, "%s: status %d: %s", name, rec.Code, trimmed(rec.Body.String())) {
		return
	}
	assert.Contains(t, rec.Header().Get("Content-Type"), "json", name)
	resp := rec.Result()
	e := tollgatetest.AssertError(&quietT{TB: t}, resp, rec.Code, "")
	if assert.NotNil(t, e, "%s: not an envelope: %s", name, trimmed(rec.Body.String())) {
		assert.NotEmpty(t, e.Message, name)
		assert.NotEmpty(t, e.Code, name)
	}
}

// quietT lets AssertError parse an envelope whose code the caller does not
// know in advance: it swallows the code mismatch AssertError reports.
type quietT struct{ testing.TB }

func (q *quietT) Errorf(format string, args ...any) {
	if !strings.Contains(fmt.Sprintf(format, args...), "code") {
		q.TB.Errorf(format, args...)
	}
}

func trimmed(s string) string { return s[:min(len(s), 300)] }

// tolerated are the hostile bodies the gateway serves, as the providers
// do: invalid UTF-8 in a string decodes to U+FFFD, and a max_tokens of 0
// means the model's default.
var tolerated = map[string]bool{"invalid utf-8 raw": true, "max_tokens zero": true}

// TestHostileBodiesGetA4xxEnvelope sends every hostile body to both model
// routes: each gets a 4xx envelope (the tolerated ones aside, which may be
// served), and none leaves a hold or an unaccounted charge.
func TestHostileBodiesGetA4xxEnvelope(t *testing.T) {
	rg := newRig(t, nil)
	for name, body := range hostileBodies() {
		for _, route := range []struct{ path, header, value string }{
			{"/v1/chat/completions", "Authorization", "Bearer " + demoKey},
			{"/v1/messages", "X-Api-Key", demoKey},
		} {
			r := httptest.NewRequest(http.MethodPost, route.path, strings.NewReader(body))
			r.Header.Set(route.header, route.value)
			rec, aborted := rg.serve(r)
			if tolerated[name] && rec.Code == http.StatusOK {
				continue
			}
			checkEnvelope(t, route.path+" "+name, rec, aborted)
		}
	}
	rg.checkBooks()
}

// TestHostileHeadersGetA4xxEnvelope sends malformed credentials, request
// IDs and fake-model knobs: each is a 4xx envelope, and a bad request ID
// is replaced rather than echoed.
func TestHostileHeadersGetA4xxEnvelope(t *testing.T) {
	rg := newRig(t, nil)
	long := strings.Repeat("k", 64<<10)
	cases := map[string][]string{
		"authorization nul":          {"Authorization", "Bearer sk-\x00"},
		"authorization invalid utf8": {"Authorization", "Bearer \xff\xfe\xfd"},
		"authorization huge":         {"Authorization", "Bearer " + long},
		"authorization scheme only":  {"Authorization", "Bearer"},
		"authorization spaces":       {"Authorization", "Bearer    "},
		"authorization crlf":         {"Authorization", "Bearer sk-a\r\nX-Injected: 1"},
		"x-api-key nul":              {"X-Api-Key", "\x00\x00"},
		"x-api-key unicode":          {"X-Api-Key", "sk-ключ"},
		"goog key huge":              {"X-Goog-Api-Key", long},
		"fake delay garbage":         {HeaderFakeDelay, "\xff"},
		"fake delay negative":        {HeaderFakeDelay, "-5s"},
		"fake delay huge":            {HeaderFakeDelay, "9999999999999999h"},
		"fake delay overflow":        {HeaderFakeDelay, "99999999999999999999"},
	}
	for name, h := range cases {
		r := httptest.NewRequest(http.MethodPost, "/v1/chat/completions", strings.NewReader(chatBody("fake-echo", "x")))
		if !strings.HasPrefix(h[0], "Authorization") && !strings.Contains(h[0], "Key") {
			r.Header.Set("Authorization", "Bearer "+demoKey)
		}
		r.Header[http.CanonicalHeaderKey(h[0])] = []string{h[1]}
		r.Header.Set("X-Request-ID", "\x00<script>"+long)
		rec, aborted := rg.serve(r)
		checkEnvelope(t, name, rec, aborted)
		assert.NotContains(t, rec.Header().Get("X-Request-ID"), "<script>", "a bad request ID is replaced")
		assert.NotContains(t, rec.Body.String(), "<script>", name)
	}
	rg.checkBooks()
}

// TestHostileConfigFilesAreErrors checks that every malformed config file
// is refused with an error, never a panic.
func TestHostileConfigFilesAreErrors(t *testing.T) {
	valid := string(defaultConfig)
	cases := map[string]string{
		"empty":          "",
		"oversized":      `{"listen":"` + strings.Repeat("x", maxConfigBytes) + `"}`,
		"truncated":      valid[:len(valid)/2],
		"invalid utf-8":  strings.Replace(valid, `"openai"`, "\"open\xffai\"", 1),
		"nul":            strings.Replace(valid, `"openai"`, "\"openai\x00\"", 1),
		"wrong type":     strings.Replace(valid, `"rpm": 60`, `"rpm": "sixty"`, 1),
		"float money":    strings.Replace(valid, `"balance": "5.00"`, `"balance": 5.0`, 1),
		"money garbage":  strings.Replace(valid, `"balance": "5.00"`, `"balance": "5.0000001"`, 1),
		"money overflow": strings.Replace(valid, `"balance": "5.00"`, `"balance": "99999999999999999999"`, 1),
		"duration":       strings.Replace(valid, `"10s"`, `"ten seconds"`, 1),
		"deeply nested":  `{"models":` + strings.Repeat(`{"a":`, 20_000) + strings.Repeat("}", 20_000) + `}`,
		"bad window":     strings.Replace(valid, `"window": "5h"`, `"window": "\u0000"`, 1),
		"bad time zone":  strings.Replace(valid, `"window": "5h"`, `"window": "daily", "time_zone": "../../../etc/passwd"`, 1),
		"unknown field":  strings.Replace(valid, `"listen"`, `"lsten"`, 1),
		"trailing data":  valid + "{}",
		"not an object":  `[]`,
		"rpm too fast":   strings.Replace(valid, `"rpm": 60`, `"rpm": 100000000000`, 1),
		"burst too long": strings.Replace(valid, `"rpm": 60`, `"rpm": 1, "burst": 9000000000000000000`, 1),
		"tpm too fast":   strings.Replace(valid, `"tpm": 200000`, `"tpm": 100000000000`, 1),
	}
	for name, data := range cases {
		require.NotEqual(t, valid, data, "%s: the case changes the file", name)
		cfg, err := parseConfig([]byte(data))
		if !assert.Error(t, err, "%s: accepted", name) {
			assert.NotPanics(t, func() { _, _ = NewGateway(cfg, Stores{}, nil, nil, nil) }, name)
		}
	}
}

// TestHostileUpstreamStreams puts the gateway in front of an upstream
// whose event streams are broken every way a stream can be: the client
// gets what the upstream sent, the gateway neither panics nor answers
// 500, and the books balance (the hold is settled or released).
func TestHostileUpstreamStreams(t *testing.T) {
	streams := map[string]string{
		"garbage":             "\x00\xff\xfe garbage\n\n",
		"invalid utf-8 data":  "data: {\"choices\":[{\"delta\":{\"content\":\"\xff\xfe\"}}]}\n\n",
		"nul in data":         "data: {\"usage\":{\"prompt_tokens\":1\x00}}\n\n",
		"huge line":           "data: " + strings.Repeat("x", 2<<20) + "\n\n",
		"truncated event":     "data: {\"choices\":[{\"delta\":{\"content\":\"hi\"}}]}\n\ndata: {\"usage\":{\"prompt_tok",
		"usage wrong types":   "data: {\"usage\":{\"prompt_tokens\":\"ten\",\"completion_tokens\":[1]}}\n\ndata: [DONE]\n\n",
		"usage negative":      "data: {\"usage\":{\"prompt_tokens\":-100,\"completion_tokens\":-5}}\n\ndata: [DONE]\n\n",
		"usage overflow":      "data: {\"usage\":{\"prompt_tokens\":9223372036854775807,\"completion_tokens\":9223372036854775807}}\n\ndata: [DONE]\n\n",
		"usage deeply nested": "data: {\"usage\":" + strings.Repeat(`{"a":`, 10_000) + "1" + strings.Repeat("}", 10_000) + "}\n\n",
		"only comments":       strings.Repeat(": ping\n", 10_000),
		"cr line endings":     "data: {\"usage\":{\"prompt_tokens\":3,\"completion_tokens\":4}}\r\rdata: [DONE]\r\r",
		"no blank line":       "data: {\"usage\":{\"prompt_tokens\":3,\"completion_tokens\":4}}",
	}
	up := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, _ = io.Copy(io.Discard, r.Body)
		w.Header().Set("Content-Type", "text/event-stream")
		_, _ = io.WriteString(w, streams[r.Header.Get("X-Stream")])
	}))
	t.Cleanup(up.Close)
	rg := newRig(t, func(c *Config) { c.Upstream = up.URL + "/v1"; c.UpstreamKey = "sk-upstream" })
	for name := range streams {
		r := httptest.NewRequest(http.MethodPost, "/v1/chat/completions", strings.NewReader(chatBody("fake-echo", "x", `"stream":true`)))
		r.Header.Set("Authorization", "Bearer "+demoKey)
		r.Header.Set("X-Stream", name)
		rec, aborted := rg.serve(r)
		assert.False(t, aborted, name)
		assert.Equal(t, http.StatusOK, rec.Code, name)
		assert.Equal(t, streams[name], rec.Body.String(), "%s: passed through unchanged", name)
		rg.clock.Advance(time.Minute) // past the rate limit
	}
	rg.checkBooks()
}

// FuzzGatewayRequest sends arbitrary bodies, credentials and request IDs
// through the whole gateway: every answer is a 2xx or a 4xx envelope, and
// no request leaves a hold.
func FuzzGatewayRequest(f *testing.F) {
	for _, body := range hostileBodies() {
		if len(body) < 8<<10 {
			f.Add(body, demoKey, "", false)
		}
	}
	f.Add(chatBody("fake-echo", "hi", `"stream":true,"stream_options":{"include_usage":true}`), demoKey, "req-1", false)
	f.Add(`{"model":"fake-echo","max_tokens":5,"messages":[{"role":"user","content":"hi"}]}`, demoKey, "", true)
	f.Add(chatBody("fake-mini", "hi"), trialKey, "\x00", false)
	f.Add(chatBody("fake-echo", "hi"), "sk-\xff", "", false)
	rg := newRig(f, func(c *Config) {
		p := c.Plans["pro"]
		p.RPM, p.TPM = 1<<30, 1<<33
		c.Plans["pro"] = p
		c.Accounts["acme"] = AccountConfig{Balance: 1 << 60}
	})
	f.Fuzz(func(t *testing.T, body, key, requestID string, anthropic bool) {
		path, header := "/v1/chat/completions", "Authorization"
		if anthropic {
			path, header, key = "/v1/messages", "X-Api-Key", strings.TrimPrefix(key, "Bearer ")
		} else {
			key = "Bearer " + key
		}
		r := httptest.NewRequest(http.MethodPost, path, strings.NewReader(body))
		r.Header[header] = []string{key}
		r.Header["X-Request-Id"] = []string{requestID}
		rec, aborted := rg.serve(r)
		if rec.Code >= 300 || aborted {
			checkEnvelope(t, fmt.Sprintf("%q", body), rec, aborted)
		}
		f, err := rg.audit.Balance(t.Context(), "acme", rg.clock.Now())
		require.NoError(t, err)
		require.Zero(t, f.Holds, "no hold is left")
	})
}

// FuzzParseMessages checks the Anthropic body parser on arbitrary input:
// an accepted body has a model, a positive max_tokens and text to count.
func FuzzParseMessages(f *testing.F) {
	f.Add([]byte(`{"model":"m","max_tokens":5,"system":[{"type":"text","text":"s"}],"messages":[{"role":"user","content":"hi"}]}`))
	f.Add([]byte(`{"model":"m","max_tokens":5,"messages":[{"role":"assistant","content":[{"type":"text","text":"a"}]}]}`))
	f.Add([]byte(`{"model":"m","max_tokens":0,"messages":[]}`))
	f.Add([]byte(`{"model":"m","max_tokens":5,"messages":[{"role":"tool","content":null}]}`))
	f.Fuzz(func(t *testing.T, body []byte) {
		p, err := parseMessages(body)
		if err != nil {
			return
		}
		if strings.TrimSpace(p.model) == "" || p.maxOutput < 1 || len(p.texts) == 0 {
			t.Fatalf("accepted %q as %+v", body, p)
		}
	})
}
