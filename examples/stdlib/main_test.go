package main

import (
	"net/http"
	"testing"

	apierrors "github.com/tollgate/tollgate/errors"
	"github.com/tollgate/tollgate/examples/internal/demo"
	"github.com/tollgate/tollgate/examples/internal/demo/demotest"
	"github.com/tollgate/tollgate/tollgatetest"
)

func TestRouter(t *testing.T) {
	demotest.Run(t, func(d *demo.Demo) http.Handler { return newRouter(d) })
}

func TestUnknownRoute(t *testing.T) {
	env := demotest.NewEnv(t, func(d *demo.Demo) http.Handler { return newRouter(d) }, demo.Options{})
	resp := env.Do(tollgatetest.Request(http.MethodGet, "/v1/nowhere", demo.Key, nil))
	demotest.AssertEnvelope(t, resp, http.StatusNotFound, apierrors.CodeEndpointNotFound)
}

func BenchmarkRouter(b *testing.B) {
	demotest.Benchmark(b, func(d *demo.Demo) http.Handler { return newRouter(d) })
}
