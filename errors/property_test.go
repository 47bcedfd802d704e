package errors_test

import (
	"bytes"
	"encoding/json"
	"io"
	"net/http"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	apierrors "github.com/tollgate/tollgate/errors"
)

// For every code in the catalogue and every dialect: the envelope is valid
// JSON with the right Content-Type, and Parse reads back the status, the
// message and the code as the dialect spells it. Where the dialect's spelling
// is unique to the code, Parse recovers the canonical code itself.
func TestParseRoundTripsEveryCodeInEveryDialect(t *testing.T) {
	exact := map[apierrors.Dialect]int{}
	for _, d := range apierrors.Dialects() {
		for _, code := range apierrors.Codes() {
			e := apierrors.New(code).WithRetryAfter(3 * time.Second)
			out := apierrors.Encode(d, e, apierrors.Context{RequestID: "req_1", Time: time.Unix(0, 0)})
			require.True(t, json.Valid(out.Body), "%s/%s: invalid JSON %s", d, code, out.Body)
			if d == apierrors.Problem {
				assert.Equal(t, "application/problem+json", out.ContentType)
			} else {
				assert.Equal(t, "application/json", out.ContentType)
			}
			resp := &http.Response{StatusCode: out.Status, Header: http.Header{"Content-Type": {out.ContentType}}, Body: io.NopCloser(bytes.NewReader(out.Body))}
			got, err := apierrors.Parse(resp)
			require.NoError(t, err)
			assert.Equal(t, out.Status, got.Status, "%s/%s status", d, code)
			assert.Equal(t, e.Message, got.Message, "%s/%s message", d, code)
			assert.Equal(t, apierrors.Spelling(d, e), apierrors.Spelling(d, got), "%s/%s spelling", d, code)
			if got.Code == code {
				exact[d]++
			}
		}
	}
	n := len(apierrors.Codes())
	// Dialects with a free-form code field recover every code exactly, but
	// for the few rows that deliberately share a seed platform's spelling.
	for _, d := range []apierrors.Dialect{apierrors.Google, apierrors.Meta, apierrors.Problem} {
		assert.Equal(t, n, exact[d], "%s recovers every code exactly", d)
	}
	for _, d := range []apierrors.Dialect{apierrors.OpenAI, apierrors.Typed} {
		assert.GreaterOrEqual(t, exact[d], n-6, "%s recovers nearly every code exactly", d)
	}
	t.Logf("codes recovered exactly, of %d: %v", n, exact)
}

func TestParseReadsRetryAfter(t *testing.T) {
	resp := &http.Response{StatusCode: 429, Header: http.Header{"Retry-After": {"7"}}, Body: io.NopCloser(bytes.NewReader([]byte(`{"error":{"message":"slow down","type":"rate_limit_error","code":"rate_limit_exceeded"}}`)))}
	e, err := apierrors.Parse(resp)
	require.NoError(t, err)
	assert.Equal(t, apierrors.CodeRateLimitExceeded, e.Code)
	assert.Equal(t, 7*time.Second, e.RetryAfter)
}

func TestParseForeignBodies(t *testing.T) {
	cases := []struct {
		name   string
		status int
		body   string
		code   apierrors.Code
		msg    string
	}{
		{"openai null code", 401, `{"error":{"message":"Incorrect API key provided","type":"invalid_request_error","param":null,"code":"invalid_api_key"}}`, apierrors.CodeInvalidAPIKey, "Incorrect API key provided"},
		{"openai insufficient_quota", 429, `{"error":{"message":"You exceeded your current quota","type":"insufficient_quota","param":null,"code":"insufficient_quota"}}`, apierrors.CodeInsufficientQuota, "You exceeded your current quota"},
		{"anthropic overloaded", 529, `{"type":"error","error":{"type":"overloaded_error","message":"Overloaded"}}`, apierrors.CodeOverloaded, "Overloaded"},
		{"new-api channel code", 503, `{"error":{"message":"no key","type":"new_api_error","code":"channel:no_available_key"}}`, apierrors.CodeChannelNoAvailableKey, "no key"},
		{"unknown upstream code kept", 400, `{"error":{"message":"odd","type":"x","code":"weird_code"}}`, "weird_code", "odd"},
		{"html from a proxy", 502, `<html>Bad Gateway</html>`, apierrors.CodeBadGateway, "<html>Bad Gateway</html>"},
		{"empty body", 504, ``, apierrors.CodeGatewayTimeout, "Gateway timeout"},
		{"zenmux provider timeout", 524, `{"error":{"code":"524","type":"provider_internal_server_error","message":"Provider timed out"}}`, apierrors.CodeProviderTimeout, "Provider timed out"},
		{"google", 429, `{"error":{"code":429,"message":"Resource has been exhausted","status":"RESOURCE_EXHAUSTED"}}`, apierrors.CodeRateLimitExceeded, "Resource has been exhausted"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			e := apierrors.ParseBody(tc.status, "application/json", []byte(tc.body))
			assert.Equal(t, tc.code, e.Code)
			assert.Equal(t, tc.msg, e.Message)
			assert.Equal(t, tc.status, e.Status)
		})
	}
}

func FuzzParseBody(f *testing.F) {
	for _, d := range apierrors.Dialects() {
		out := apierrors.Encode(d, apierrors.New(apierrors.CodeRateLimitExceeded).WithParam("model", "x").WithDetail("k", 1).WithRetryAfter(time.Second), apierrors.Context{RequestID: "r"})
		f.Add(out.Status, out.ContentType, out.Body)
	}
	f.Add(500, "text/html", []byte("<html>"))
	f.Add(400, "application/json", []byte(`{"error":{"code":1e400,"details":[{"@type":"type.googleapis.com/google.rpc.RetryInfo","retryDelay":"-5s"}]}}`))
	f.Add(0, "", []byte(`{"error":null}`))
	f.Fuzz(func(t *testing.T, status int, ct string, body []byte) {
		e := apierrors.ParseBody(status, ct, body)
		if e == nil {
			t.Fatal("nil error")
		}
		if e.Status < 100 || e.Status > 999 {
			t.Fatalf("status %d out of range", e.Status)
		}
		if e.RetryAfter < 0 {
			t.Fatalf("negative retry-after %v", e.RetryAfter)
		}
		// Whatever was parsed renders again in every dialect.
		for _, d := range apierrors.Dialects() {
			if out := apierrors.Encode(d, e, apierrors.Context{}); !json.Valid(out.Body) {
				t.Fatalf("%s: invalid JSON after parse: %s", d, out.Body)
			}
		}
	})
}
