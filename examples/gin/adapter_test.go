package main

import (
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/gin-gonic/gin"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/tollgate/tollgate"
	"github.com/tollgate/tollgate/auth"
	apierrors "github.com/tollgate/tollgate/errors"
	"github.com/tollgate/tollgate/examples/internal/demo/demotest"
	"github.com/tollgate/tollgate/tollgatetest"
)

func adaptedEngine(out *demotest.Seen, handler gin.HandlerFunc) *gin.Engine {
	r := gin.New()
	r.Use(Adapt(tollgate.Chain(
		tollgate.RequestID(),
		apierrors.Recover(),
		apierrors.WithDialect(apierrors.Meta),
		auth.Middleware(tollgatetest.Keys("sk-adapt id=key_1 account=acme plan=pro")),
		demotest.Observe(out),
	).Then))
	r.Use(func(c *gin.Context) { c.Header("X-Gin", "middleware"); c.Next() })
	r.GET("/t", handler)
	return r
}

type identity struct {
	KeyID     string `json:"key_id"`
	Account   string `json:"account"`
	RequestID string `json:"request_id"`
}

func whoami(status int) gin.HandlerFunc {
	return func(c *gin.Context) {
		p := auth.PrincipalFrom(c.Request.Context())
		if p == nil {
			c.String(http.StatusTeapot, "no principal below the adapter")
			return
		}
		c.JSON(status, gin.H{
			"key_id": p.KeyID, "account": p.Account,
			"request_id": tollgate.RequestIDFrom(c.Request.Context()),
			"usage":      gin.H{"prompt_tokens": 7, "completion_tokens": 3},
		})
	}
}

func TestAdaptPassesRequestAndWriter(t *testing.T) {
	tests := []struct {
		name    string
		handler gin.HandlerFunc
		status  int
	}{
		{"c.JSON", whoami(http.StatusCreated), http.StatusCreated},
		{"status changed before the first byte", func(c *gin.Context) {
			c.Status(http.StatusAccepted)
			whoami(http.StatusOK)(c)
		}, http.StatusOK},
		{"status without a body", func(c *gin.Context) {
			c.Status(http.StatusNoContent)
			c.Writer.WriteHeaderNow()
		}, http.StatusNoContent},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var out demotest.Seen
			rec := httptest.NewRecorder()
			adaptedEngine(&out, tt.handler).ServeHTTP(rec, tollgatetest.Request(http.MethodGet, "/t", "sk-adapt", nil))

			require.Equal(t, tt.status, rec.Code, rec.Body.String())
			id := rec.Header().Get("X-Request-ID")
			assert.True(t, tollgate.ValidRequestID(id), "X-Request-ID %q", id)
			assert.Equal(t, "net/http", rec.Header().Get("X-Layer"), "a header set by a layer")
			assert.Equal(t, "middleware", rec.Header().Get("X-Gin"), "a header set by gin below the adapter")
			assert.Equal(t, tt.status, out.Status, "the layer saw gin's status")
			assert.Equal(t, int64(rec.Body.Len()), out.Written, "the layer saw every byte")
			if rec.Body.Len() == 0 {
				return
			}
			var got identity
			require.NoError(t, json.Unmarshal(rec.Body.Bytes(), &got))
			assert.Equal(t, identity{KeyID: "key_1", Account: "acme", RequestID: id}, got)
			assert.Equal(t, tollgate.UsageObserved, out.Source, "usage read from gin's body")
			assert.Equal(t, tollgate.Usage{InputTokens: 7, OutputTokens: 3}, out.Usage)
		})
	}
}

func TestAdaptRefusalAbortsGin(t *testing.T) {
	var out demotest.Seen
	ran := false
	rec := httptest.NewRecorder()
	adaptedEngine(&out, func(c *gin.Context) { ran = true }).
		ServeHTTP(rec, tollgatetest.Request(http.MethodGet, "/t", "", nil))
	demotest.AssertEnvelope(t, rec.Result(), http.StatusUnauthorized, apierrors.CodeMissingAPIKey)
	assert.False(t, ran, "the gin handler ran after the layer refused")
	assert.Empty(t, rec.Header().Get("X-Gin"), "gin middleware below the adapter ran")
}

func TestAdaptRecoversGinPanics(t *testing.T) {
	var out demotest.Seen
	rec := httptest.NewRecorder()
	adaptedEngine(&out, func(c *gin.Context) { panic("boom") }).
		ServeHTTP(rec, tollgatetest.Request(http.MethodGet, "/t", "sk-adapt", nil))
	demotest.AssertEnvelope(t, rec.Result(), http.StatusInternalServerError, apierrors.CodeInternalError)
	assert.NotContains(t, rec.Body.String(), "boom")
}

func TestAdaptResponseController(t *testing.T) {
	var out demotest.Seen
	var flushErr error
	rec := httptest.NewRecorder()
	adaptedEngine(&out, func(c *gin.Context) {
		c.Header("Content-Type", "text/plain")
		_, _ = c.Writer.WriteString("first")
		flushErr = http.NewResponseController(c.Writer).Flush()
	}).ServeHTTP(rec, tollgatetest.Request(http.MethodGet, "/t", "sk-adapt", nil))
	assert.NoError(t, flushErr)
	assert.True(t, rec.Flushed, "the flush reached the recorder")
	assert.Equal(t, "first", rec.Body.String())
	assert.Equal(t, http.StatusOK, out.Status)
}

func TestAdaptRestoresContext(t *testing.T) {
	var before, after *http.Request
	var writerBefore, writerAfter gin.ResponseWriter
	r := gin.New()
	r.Use(func(c *gin.Context) {
		before, writerBefore = c.Request, c.Writer
		c.Next()
		after, writerAfter = c.Request, c.Writer
	})
	r.Use(Adapt(tollgate.RequestID()))
	r.GET("/t", func(c *gin.Context) {
		assert.NotSame(t, before, c.Request, "the handler sees the layer's request")
		assert.NotEmpty(t, tollgate.RequestIDFrom(c.Request.Context()))
		c.Status(http.StatusOK)
	})
	r.ServeHTTP(httptest.NewRecorder(), httptest.NewRequest(http.MethodGet, "/t", nil))
	assert.Same(t, before, after)
	assert.Equal(t, writerBefore, writerAfter)
}
