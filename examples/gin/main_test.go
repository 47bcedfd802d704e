package main

import (
	"net/http"
	"testing"

	"github.com/gin-gonic/gin"
	"go.uber.org/goleak"

	"github.com/tollgate/tollgate/examples/internal/demo"
	"github.com/tollgate/tollgate/examples/internal/demo/demotest"
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
	demotest.RouterErrors(t, build, "the stack runs before gin's 404 and 405")
}

func BenchmarkRouter(b *testing.B) {
	demotest.Benchmark(b, build)
}
