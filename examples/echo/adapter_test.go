package main

import (
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/labstack/echo/v4"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/tollgate/tollgate"
	"github.com/tollgate/tollgate/auth"
	apierrors "github.com/tollgate/tollgate/errors"
	"github.com/tollgate/tollgate/examples/internal/demo/demotest"
	"github.com/tollgate/tollgate/tollgatetest"
)

// adapters are the two ways to mount a net/http layer on echo.
var adapters = []struct {
	name  string
	adapt func(func(http.Handler) http.Handler) echo.MiddlewareFunc
}{
	{"Adapt", Adapt},
	{"echo.WrapMiddleware", echo.WrapMiddleware},
}

func adaptedServer(adapt func(func(http.Handler) http.Handler) echo.MiddlewareFunc, out *demotest.Seen, handler echo.HandlerFunc) *echo.Echo {
	e := echo.New()
	e.HTTPErrorHandler = writeError
	e.Use(adapt(tollgate.Chain(
		tollgate.RequestID(),
		apierrors.Recover(),
		apierrors.WithDialect(apierrors.Meta),
		auth.Middleware(tollgatetest.Keys("sk-adapt id=key_1 account=acme plan=pro")),
		demotest.Observe(out),
	).Then))
	e.Use(func(next echo.HandlerFunc) echo.HandlerFunc {
		return func(c echo.Context) error { c.Response().Header().Set("X-Echo", "middleware"); return next(c) }
	})
	e.GET("/t", handler)
	return e
}

type identity struct {
	KeyID     string `json:"key_id"`
	Account   string `json:"account"`
	RequestID string `json:"request_id"`
}

func whoami(c echo.Context) error {
	p := auth.PrincipalFrom(c.Request().Context())
	if p == nil {
		return c.String(http.StatusTeapot, "no principal below the adapter")
	}
	return c.JSON(http.StatusCreated, map[string]any{
		"key_id": p.KeyID, "account": p.Account,
		"request_id": tollgate.RequestIDFrom(c.Request().Context()),
		"usage":      map[string]int{"prompt_tokens": 7, "completion_tokens": 3},
	})
}

func TestAdaptPassesRequestAndWriter(t *testing.T) {
	for _, a := range adapters {
		t.Run(a.name, func(t *testing.T) {
			var out demotest.Seen
			rec := httptest.NewRecorder()
			adaptedServer(a.adapt, &out, whoami).ServeHTTP(rec, tollgatetest.Request(http.MethodGet, "/t", "sk-adapt", nil))

			require.Equal(t, http.StatusCreated, rec.Code, rec.Body.String())
			id := rec.Header().Get("X-Request-ID")
			assert.True(t, tollgate.ValidRequestID(id), "X-Request-ID %q", id)
			assert.Equal(t, "net/http", rec.Header().Get("X-Layer"), "a header set by a layer")
			assert.Equal(t, "middleware", rec.Header().Get("X-Echo"), "a header set by echo below the adapter")
			var got identity
			require.NoError(t, json.Unmarshal(rec.Body.Bytes(), &got))
			assert.Equal(t, identity{KeyID: "key_1", Account: "acme", RequestID: id}, got)
			assert.Equal(t, http.StatusCreated, out.Status, "the layer saw echo's status")
			assert.Equal(t, int64(rec.Body.Len()), out.Written, "the layer saw every byte")
			assert.Equal(t, tollgate.UsageObserved, out.Source, "usage read from echo's body")
			assert.Equal(t, tollgate.Usage{InputTokens: 7, OutputTokens: 3}, out.Usage)
		})
	}
}

// TestAdaptReturnedError shows why Adapt renders a returned error itself:
// the layers then see its status, where echo.WrapMiddleware leaves them
// believing nothing was written.
func TestAdaptReturnedError(t *testing.T) {
	tests := []struct {
		adapter    string
		seenStatus int
	}{
		{"Adapt", http.StatusConflict},
		{"echo.WrapMiddleware", 0},
	}
	for i, tt := range tests {
		t.Run(tt.adapter, func(t *testing.T) {
			var out demotest.Seen
			rec := httptest.NewRecorder()
			fail := func(echo.Context) error { return apierrors.New(apierrors.CodeConflict) }
			adaptedServer(adapters[i].adapt, &out, fail).ServeHTTP(rec, tollgatetest.Request(http.MethodGet, "/t", "sk-adapt", nil))
			demotest.AssertEnvelope(t, rec.Result(), http.StatusConflict, apierrors.CodeConflict)
			assert.Equal(t, tt.seenStatus, out.Status)
		})
	}
}

func TestAdaptRefusal(t *testing.T) {
	for _, a := range adapters {
		t.Run(a.name, func(t *testing.T) {
			var out demotest.Seen
			ran := false
			rec := httptest.NewRecorder()
			adaptedServer(a.adapt, &out, func(echo.Context) error { ran = true; return nil }).
				ServeHTTP(rec, tollgatetest.Request(http.MethodGet, "/t", "", nil))
			demotest.AssertEnvelope(t, rec.Result(), http.StatusUnauthorized, apierrors.CodeMissingAPIKey)
			assert.False(t, ran, "the echo handler ran after the layer refused")
			assert.Empty(t, rec.Header().Get("X-Echo"), "echo middleware below the adapter ran")
		})
	}
}

func TestAdaptRecoversEchoPanics(t *testing.T) {
	var out demotest.Seen
	rec := httptest.NewRecorder()
	adaptedServer(Adapt, &out, func(echo.Context) error { panic("boom") }).
		ServeHTTP(rec, tollgatetest.Request(http.MethodGet, "/t", "sk-adapt", nil))
	demotest.AssertEnvelope(t, rec.Result(), http.StatusInternalServerError, apierrors.CodeInternalError)
	assert.NotContains(t, rec.Body.String(), "boom")
}

func TestAdaptResponseController(t *testing.T) {
	var out demotest.Seen
	var flushErr error
	rec := httptest.NewRecorder()
	adaptedServer(Adapt, &out, func(c echo.Context) error {
		_, _ = c.Response().Write([]byte("first"))
		flushErr = http.NewResponseController(c.Response()).Flush()
		return nil
	}).ServeHTTP(rec, tollgatetest.Request(http.MethodGet, "/t", "sk-adapt", nil))
	assert.NoError(t, flushErr)
	assert.True(t, rec.Flushed, "the flush reached the recorder")
	assert.Equal(t, "first", rec.Body.String())
	assert.Equal(t, http.StatusOK, out.Status)
}

func TestWriteErrorEchoErrors(t *testing.T) {
	tests := []struct {
		name   string
		err    error
		status int
		code   apierrors.Code
	}{
		{"echo HTTPError", echo.NewHTTPError(http.StatusUnprocessableEntity, "bad shape"), http.StatusUnprocessableEntity, apierrors.CodeUnprocessableEntity},
		{"echo not found", echo.ErrNotFound, http.StatusNotFound, apierrors.CodeEndpointNotFound},
		{"plain error", assert.AnError, http.StatusInternalServerError, apierrors.CodeInternalError},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var out demotest.Seen
			rec := httptest.NewRecorder()
			adaptedServer(Adapt, &out, func(echo.Context) error { return tt.err }).
				ServeHTTP(rec, tollgatetest.Request(http.MethodGet, "/t", "sk-adapt", nil))
			demotest.AssertEnvelope(t, rec.Result(), tt.status, tt.code)
			assert.NotContains(t, rec.Body.String(), assert.AnError.Error())
		})
	}
}
