package demotest_test

import (
	"net/http"
	"testing"

	"github.com/tollgate/tollgate"
	apierrors "github.com/tollgate/tollgate/errors"
	"github.com/tollgate/tollgate/examples/internal/demo"
	"github.com/tollgate/tollgate/examples/internal/demo/demotest"
)

// TestSuite runs the suite on reference, a bare net/http mux: what every
// router example is compared with.
func TestSuite(t *testing.T) {
	demotest.Run(t, reference)
}

func reference(d *demo.Demo) http.Handler {
	mux := http.NewServeMux()
	mux.Handle("POST /v1/chat/completions", d.Quota(d.Chat()))
	mux.Handle("GET /v1/me", demo.Me())
	return tollgate.Chain(
		tollgate.RequestID(), apierrors.Recover(), apierrors.WithDialect(demo.Dialect),
		d.Auth, d.RateLimit,
	).Then(mux)
}

func BenchmarkSuiteMux(b *testing.B) {
	demotest.Benchmark(b, reference)
}
