package errors_test

import (
	"fmt"
	"net/http"
	"net/http/httptest"
	"time"

	"github.com/tollgate/tollgate"
	apierrors "github.com/tollgate/tollgate/errors"
)

// Rejecting a request: the same error renders in whichever dialect the
// route speaks.
func ExampleWrite() {
	h := tollgate.Chain(
		tollgate.RequestID(tollgate.RequestIDGenerator(func() string { return "req_42" })),
		apierrors.WithDialect(apierrors.ZenMux),
	).ThenFunc(func(w http.ResponseWriter, r *http.Request) {
		apierrors.Write(w, r, apierrors.New(apierrors.CodeRateLimitExceeded).WithRetryAfter(30*time.Second))
	})
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, httptest.NewRequest("GET", "/", nil))
	fmt.Println(rec.Code, rec.Header().Get("Retry-After"), rec.Header().Get("X-Request-ID"))
	fmt.Println(rec.Body.String())
	// Output:
	// 429 30 req_42
	// {"error":{"code":"429","type":"rate_limit","message":"Rate limit exceeded"}}
}

func ExampleEncode() {
	e := apierrors.New(apierrors.CodeExpiredAPIKey)
	for _, d := range []apierrors.Dialect{apierrors.OpenAI, apierrors.Anthropic, apierrors.Meta} {
		out := apierrors.Encode(d, e, apierrors.Context{RequestID: "req_1", Time: time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)})
		fmt.Println(out.Status, string(out.Body))
	}
	// Output:
	// 401 {"error":{"message":"The API key has expired","type":"authentication_error","param":null,"code":"expired_api_key"}}
	// 401 {"type":"error","error":{"type":"authentication_error","message":"The API key has expired"},"request_id":"req_1"}
	// 401 {"success":false,"error":{"code":"EXPIRED_API_KEY","message":"The API key has expired"},"meta":{"request_id":"req_1","timestamp":"2026-01-01T00:00:00Z"}}
}

func ExampleEncodeStream() {
	event, data := apierrors.EncodeStream(apierrors.Anthropic, apierrors.New(apierrors.CodeOverloaded), apierrors.Context{})
	fmt.Printf("event: %s\ndata: %s\n", event, data)
	// Output:
	// event: error
	// data: {"type":"error","error":{"type":"overloaded_error","message":"Service is overloaded"}}
}

func ExampleParseBody() {
	upstream := `{"type":"error","error":{"type":"rate_limit_error","message":"Number of requests has exceeded your rate limit"}}`
	e := apierrors.ParseBody(429, "application/json", []byte(upstream))
	fmt.Println(e.Status, e.Code)
	// Re-render the upstream's error in the gateway's own dialect.
	fmt.Println(string(apierrors.Encode(apierrors.ZenMux, e, apierrors.Context{}).Body))
	// Output:
	// 429 rate_limit_exceeded
	// {"error":{"code":"429","type":"rate_limit","message":"Number of requests has exceeded your rate limit"}}
}

func ExampleRecover() {
	h := tollgate.Chain(
		tollgate.RequestID(tollgate.RequestIDGenerator(func() string { return "req_7" })),
		apierrors.WithDialect(apierrors.Typed),
		apierrors.Recover(apierrors.RecoverLogger(discardLogger)),
	).ThenFunc(func(http.ResponseWriter, *http.Request) { panic("bug") })
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, httptest.NewRequest("GET", "/", nil))
	fmt.Println(rec.Code, rec.Body.String())
	// Output:
	// 500 {"error":{"code":"server_error","message":"Internal server error","type":"server_error","request_id":"req_7"}}
}

func ExampleNotFound() {
	mux := http.NewServeMux()
	mux.Handle("/", apierrors.NotFound())
	rec := httptest.NewRecorder()
	mux.ServeHTTP(rec, httptest.NewRequest("GET", "/nope", nil))
	fmt.Println(rec.Code, rec.Body.String())
	// Output:
	// 404 {"error":{"message":"Endpoint not found","type":"not_found_error","param":null,"code":"endpoint_not_found"}}
}

func ExampleNew() {
	e := apierrors.New(apierrors.CodeModelNotAllowed).WithParam("model", "")
	fmt.Println(e.Status, e.Code, e.Message)
	// Output:
	// 403 model_not_allowed This API key is not allowed to use the requested model
}
