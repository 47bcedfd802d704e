package main

import (
	"net/http"
	"testing"

	"github.com/tollgate/tollgate/examples/internal/demo"
	"github.com/tollgate/tollgate/examples/internal/demo/demotest"
)

func build(d *demo.Demo) http.Handler { return newRouter(d) }

func TestRouter(t *testing.T) {
	demotest.Run(t, build)
}

func TestRouterErrors(t *testing.T) {
	demotest.RouterErrors(t, build, "echo runs Use middleware after routing, for 404 and 405 too")
}

func BenchmarkRouter(b *testing.B) {
	demotest.Benchmark(b, build)
}
