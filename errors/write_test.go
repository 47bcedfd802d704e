package errors_test

import (
	"bytes"
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

func serve(h http.Handler, dialect apierrors.Dialect) *httptest.ResponseRecorder {
	stack := tollgate.Chain(tollgate.RequestID(tollgate.RequestIDGenerator(func() string { return "req_test" })), apierrors.WithDialect(dialect))
	rec := httptest.NewRecorder()
	stack.Then(h).ServeHTTP(rec, httptest.NewRequest("POST", "/v1/chat/completions", nil))
	return rec
}

func TestWritePutsRequestIDInsideTheEnvelope(t *testing.T) {
	fail := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		apierrors.Write(w, r, apierrors.New(apierrors.CodeInvalidAPIKey))
	})
	for _, d := range []apierrors.Dialect{apierrors.Anthropic, apierrors.Google, apierrors.Meta, apierrors.Typed, apierrors.Problem} {
		t.Run(d.String(), func(t *testing.T) {
			rec := serve(fail, d)
			assert.Equal(t, 401, rec.Code)
			assert.Contains(t, rec.Body.String(), `"req_test"`)
			assert.Equal(t, "req_test", rec.Header().Get("X-Request-ID"))
			assert.True(t, json.Valid(rec.Body.Bytes()))
		})
	}
}

func TestWriteSetsRetryAfterRoundedUp(t *testing.T) {
	rec := serve(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		apierrors.Write(w, r, apierrors.New(apierrors.CodeRateLimitExceeded).WithRetryAfter(1500*time.Millisecond))
	}), apierrors.OpenAI)
	assert.Equal(t, 429, rec.Code)
	assert.Equal(t, "2", rec.Header().Get("Retry-After"))
	assert.Equal(t, "application/json", rec.Header().Get("Content-Type"))
}

func TestWriteHidesUnknownErrors(t *testing.T) {
	secret := "postgres://admin:hunter2@db/prod"
	rec := serve(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		apierrors.Write(w, r, fmt.Errorf("connect %s: refused", secret))
	}), apierrors.OpenAI)
	assert.Equal(t, 500, rec.Code)
	assert.NotContains(t, rec.Body.String(), "hunter2")
	assert.JSONEq(t, `{"error":{"message":"Internal server error","type":"server_error","param":null,"code":"internal_error"}}`, rec.Body.String())
}

func TestWriteAfterStreamStartedEmitsInStreamEvent(t *testing.T) {
	rec := serve(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/event-stream")
		_, _ = w.Write([]byte("data: {\"x\":1}\n\n"))
		apierrors.Write(w, r, apierrors.New(apierrors.CodeProviderError))
	}), apierrors.Anthropic)
	assert.Equal(t, 200, rec.Code)
	assert.Equal(t, "data: {\"x\":1}\n\nevent: error\ndata: {\"type\":\"error\",\"error\":{\"type\":\"api_error\",\"message\":\"Upstream provider service error\"},\"request_id\":\"req_test\"}\n\n", rec.Body.String())
}

func TestErrorsIsAndAs(t *testing.T) {
	err := fmt.Errorf("wrapped: %w", apierrors.New(apierrors.CodeRateLimitExceeded).WithMessage("slow").WithCause(errors.ErrUnsupported))
	assert.True(t, errors.Is(err, apierrors.New(apierrors.CodeRateLimitExceeded)))
	assert.False(t, errors.Is(err, apierrors.New(apierrors.CodeInvalidAPIKey)))
	assert.True(t, errors.Is(err, errors.ErrUnsupported))
	var e *apierrors.Error
	require.True(t, errors.As(err, &e))
	assert.Equal(t, "slow", e.Message)
	assert.Equal(t, 429, apierrors.From(err).Status)
	assert.Nil(t, apierrors.From(nil))
}

func TestWithMethodsDoNotMutate(t *testing.T) {
	base := apierrors.New(apierrors.CodeInvalidParams).WithDetail("a", 1)
	derived := base.WithDetail("b", 2).WithMessage("other")
	assert.Len(t, base.Details, 1)
	assert.Len(t, derived.Details, 2)
	assert.Equal(t, "Invalid request parameters", base.Message)
}

func TestUnknownCodeIsA500(t *testing.T) {
	e := apierrors.New("no_such_code")
	assert.Equal(t, 500, e.Status)
}

func TestRecoverBeforeFirstByte(t *testing.T) {
	var logs bytes.Buffer
	logger := slog.New(slog.NewJSONHandler(&logs, nil))
	h := tollgate.Chain(
		tollgate.RequestID(tollgate.RequestIDGenerator(func() string { return "req_p" })),
		apierrors.WithDialect(apierrors.Meta),
		apierrors.Recover(apierrors.RecoverLogger(logger)),
	).ThenFunc(func(w http.ResponseWriter, r *http.Request) { panic("boom: sk-secret") })
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, httptest.NewRequest("GET", "/", nil))
	assert.Equal(t, 500, rec.Code)
	assert.Contains(t, rec.Body.String(), `"INTERNAL_ERROR"`)
	assert.Contains(t, rec.Body.String(), `"req_p"`)
	assert.NotContains(t, rec.Body.String(), "boom")
	assert.Contains(t, logs.String(), `"request_id":"req_p"`)
	assert.Contains(t, logs.String(), "goroutine") // the stack
}

func TestRecoverAfterStreamStarted(t *testing.T) {
	h := tollgate.Chain(
		tollgate.RequestID(tollgate.RequestIDGenerator(func() string { return "req_s" })),
		apierrors.Recover(apierrors.RecoverLogger(slog.New(slog.DiscardHandler))),
	).ThenFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/event-stream")
		_, _ = w.Write([]byte("data: {\"n\":1}\n\n"))
		panic("mid-stream")
	})
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, httptest.NewRequest("GET", "/", nil))
	assert.Equal(t, 200, rec.Code)
	assert.Equal(t, "data: {\"n\":1}\n\ndata: {\"error\":{\"message\":\"Internal server error\",\"type\":\"server_error\",\"param\":null,\"code\":\"internal_error\"}}\n\n", rec.Body.String())
	assert.True(t, rec.Flushed)
}

func TestRecoverAbortsStartedNonStreamResponses(t *testing.T) {
	h := apierrors.Recover(apierrors.RecoverLogger(slog.New(slog.DiscardHandler)))(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, _ = w.Write([]byte(`{"partial":`))
		panic("half way")
	}))
	assert.PanicsWithValue(t, http.ErrAbortHandler, func() {
		h.ServeHTTP(httptest.NewRecorder(), httptest.NewRequest("GET", "/", nil))
	})
}

func TestRecoverRepanicsAbortHandler(t *testing.T) {
	h := apierrors.Recover()(http.HandlerFunc(func(http.ResponseWriter, *http.Request) { panic(http.ErrAbortHandler) }))
	assert.PanicsWithValue(t, http.ErrAbortHandler, func() {
		h.ServeHTTP(httptest.NewRecorder(), httptest.NewRequest("GET", "/", nil))
	})
}

func TestRecoverOverARealServer(t *testing.T) {
	srv := httptest.NewServer(apierrors.Recover(apierrors.RecoverLogger(slog.New(slog.DiscardHandler)))(http.HandlerFunc(func(http.ResponseWriter, *http.Request) { panic("x") })))
	defer srv.Close()
	resp, err := http.Get(srv.URL)
	require.NoError(t, err)
	defer resp.Body.Close()
	e, err := apierrors.Parse(resp)
	require.NoError(t, err)
	assert.Equal(t, apierrors.CodeInternalError, e.Code)
}

func TestNotFoundAndMethodNotAllowed(t *testing.T) {
	rec := serve(apierrors.NotFound(), apierrors.Meta)
	assert.Equal(t, 404, rec.Code)
	assert.Contains(t, rec.Body.String(), `"ENDPOINT_NOT_FOUND"`)

	rec = serve(apierrors.MethodNotAllowed("GET", "POST"), apierrors.OpenAI)
	assert.Equal(t, 405, rec.Code)
	assert.Equal(t, "GET, POST", rec.Header().Get("Allow"))
	assert.True(t, strings.Contains(rec.Body.String(), `"method_not_allowed"`))
}
