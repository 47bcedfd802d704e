package main

import (
	"net/http"
	"testing"

	"github.com/gin-gonic/gin"
	"github.com/stretchr/testify/assert"
	"go.uber.org/goleak"

	apierrors "github.com/tollgate/tollgate/errors"
	"github.com/tollgate/tollgate/examples/internal/demo"
	"github.com/tollgate/tollgate/examples/internal/demo/demotest"
	"github.com/tollgate/tollgate/tollgatetest"
)

// TestMain puts gin in test mode and fails the package's tests if any
// goroutine outlives them.
func TestMain(m *testing.M) {
	gin.SetMode(gin.TestMode)
	goleak.VerifyTestMain(m)
}

func build(d *demo.Demo) http.Handler { return newRouter(d) }

func TestRouter(t *testing.T) {
	demotest.Run(t, build)
}

func TestRouterErrors(t *testing.T) {
	tests := []struct {
		name   string
		method string
		path   string
		key    string
		status int
		code   apierrors.Code
	}{
		{"unknown route", http.MethodGet, "/v1/nowhere", demo.Key, http.StatusNotFound, apierrors.CodeEndpointNotFound},
		{"wrong method", http.MethodGet, "/v1/chat/completions", demo.Key, http.StatusMethodNotAllowed, apierrors.CodeMethodNotAllowed},
		{"unknown route without a key", http.MethodGet, "/v1/nowhere", "", http.StatusUnauthorized, apierrors.CodeMissingAPIKey},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			env := demotest.NewEnv(t, build, demo.Options{})
			resp := env.Do(tollgatetest.Request(tt.method, tt.path, tt.key, nil))
			demotest.AssertEnvelope(t, resp, tt.status, tt.code)
			if tt.key != "" {
				assert.NotEmpty(t, resp.Header.Get("X-RateLimit-Limit"), "the stack runs before gin's 404 and 405")
			}
		})
	}
}

func BenchmarkRouter(b *testing.B) {
	demotest.Benchmark(b, func(d *demo.Demo) http.Handler { return newRouter(d) })
}
