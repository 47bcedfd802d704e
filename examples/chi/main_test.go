package main

import (
	"net/http"
	"testing"

	"github.com/tollgate/tollgate/examples/internal/demo"
	"github.com/tollgate/tollgate/examples/internal/demo/demotest"
)

func TestRouter(t *testing.T) {
	demotest.Run(t, func(d *demo.Demo) http.Handler { return newRouter(d) })
}

func TestRouterErrors(t *testing.T) {
	demotest.RouterErrors(t, func(d *demo.Demo) http.Handler { return newRouter(d) }, "chi runs Use middleware before routing")
}

func BenchmarkRouter(b *testing.B) {
	demotest.Benchmark(b, func(d *demo.Demo) http.Handler { return newRouter(d) })
}
