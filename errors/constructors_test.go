package errors_test

import (
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/tollgate/tollgate"
	apierrors "github.com/tollgate/tollgate/errors"
)

func TestConstructors(t *testing.T) {
	cause := errors.New("redis: connection refused")
	cases := []struct {
		e      *apierrors.Error
		status int
		code   apierrors.Code
	}{
		{apierrors.RateLimited(1500 * time.Millisecond), 429, apierrors.CodeRateLimitExceeded},
		{apierrors.InvalidParam("n", "Parameter n grater than %d is not supported", 1), 400, apierrors.CodeInvalidParams},
		{apierrors.MissingField("model"), 400, apierrors.CodeMissingRequiredField},
		{apierrors.Internal(cause), 500, apierrors.CodeInternalError},
		{apierrors.Unavailable(cause), 503, apierrors.CodeServiceUnavailable},
	}
	for _, tc := range cases {
		assert.Equal(t, tc.status, tc.e.Status)
		assert.Equal(t, tc.code, tc.e.Code)
	}
	assert.Equal(t, int64(2), cases[0].e.RetryAfterSeconds())
	assert.Equal(t, "Parameter n grater than 1 is not supported", cases[1].e.Message)
	assert.Equal(t, "n", cases[1].e.Param)
	assert.Equal(t, "Parameter model is required", cases[2].e.Message)
	assert.ErrorIs(t, cases[3].e, cause)
	assert.NotContains(t, string(apierrors.Encode(apierrors.OpenAI, cases[4].e, apierrors.Context{}).Body), "redis")
}

// Seed 002 also shows an abbreviated envelope, without "success" and the
// timestamp; the meta dialect's full envelope carries every field of it
// with the same values.
func TestMetaCoversTheAbbreviatedSeedExample(t *testing.T) {
	abbreviated := `{"error":{"code":"INVALID_REQUEST","message":"The request was invalid"},"meta":{"request_id":"req_1234567890"}}`
	out := apierrors.Encode(apierrors.Meta, apierrors.New(apierrors.CodeInvalidRequest), apierrors.Context{RequestID: "req_1234567890"})
	var want, got map[string]json.RawMessage
	require.NoError(t, json.Unmarshal([]byte(abbreviated), &want))
	require.NoError(t, json.Unmarshal(out.Body, &got))
	for obj, raw := range want {
		var fields, gotFields map[string]any
		require.NoError(t, json.Unmarshal(raw, &fields))
		require.NoError(t, json.Unmarshal(got[obj], &gotFields))
		for k, v := range fields {
			assert.Equal(t, v, gotFields[k], "%s.%s", obj, k)
		}
	}
	assert.Equal(t, 400, out.Status)
}

// Each route speaks its platform's dialect.
func ExampleWithDialect() {
	mux := http.NewServeMux()
	fail := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		apierrors.Write(w, r, apierrors.New(apierrors.CodeInvalidAPIKey))
	})
	mux.Handle("/v1/messages", apierrors.WithDialect(apierrors.Anthropic)(fail))
	mux.Handle("/v1/chat/completions", apierrors.WithDialect(apierrors.ZenMux)(fail))
	h := tollgate.RequestID(tollgate.RequestIDGenerator(func() string { return "req_9" }))(mux)
	for _, path := range []string{"/v1/messages", "/v1/chat/completions"} {
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, httptest.NewRequest("POST", path, nil))
		fmt.Println(rec.Code, rec.Body.String())
	}
	// Output:
	// 401 {"type":"error","error":{"type":"authentication_error","message":"The provided API key is invalid"},"request_id":"req_9"}
	// 403 {"error":{"code":"403","type":"access_denied","message":"The provided API key is invalid"}}
}

func ExampleParse() {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Retry-After", "20")
		w.WriteHeader(http.StatusTooManyRequests)
		fmt.Fprint(w, `{"error":{"code":"429","type":"rate_limit","message":"Rate limit exceeded"}}`)
	}))
	defer srv.Close()
	resp, err := http.Get(srv.URL)
	if err != nil {
		panic(err)
	}
	defer resp.Body.Close()
	e, err := apierrors.Parse(resp)
	if err != nil {
		panic(err)
	}
	fmt.Println(e.Status, e.Code, e.RetryAfter)
	// Output:
	// 429 rate_limit_exceeded 20s
}

func ExampleMethodNotAllowed() {
	rec := httptest.NewRecorder()
	apierrors.MethodNotAllowed("POST").ServeHTTP(rec, httptest.NewRequest("GET", "/v1/chat/completions", nil))
	fmt.Println(rec.Code, rec.Header().Get("Allow"))
	// Output:
	// 405 POST
}

func ExampleTaskError() {
	b, _ := apierrors.TaskError(apierrors.New(apierrors.CodeTimeout).WithDetail("timeout", 30000))
	fmt.Println(string(b))
	// Output:
	// {"code":"TIMEOUT","message":"Request timed out","details":{"timeout":30000}}
}

func ExampleStreamEvent() {
	h := apierrors.WithDialect(apierrors.Flat)(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		ev := string(apierrors.StreamEvent(r, apierrors.New(apierrors.CodeStreamError)))
		fmt.Println(ev[:strings.Index(ev, `,"timestamp"`)])
	}))
	h.ServeHTTP(httptest.NewRecorder(), httptest.NewRequest("GET", "/", nil))
	// Output:
	// data: {"type":"error","error":{"code":"STREAM_ERROR","message":"Streaming connection failed"}
}

func ExampleRecoverLogger() {
	logger := slog.New(slog.DiscardHandler)
	h := apierrors.Recover(apierrors.RecoverLogger(logger))(http.HandlerFunc(func(http.ResponseWriter, *http.Request) { panic("x") }))
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, httptest.NewRequest("GET", "/", nil))
	fmt.Println(rec.Code)
	// Output:
	// 500
}
