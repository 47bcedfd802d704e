// Command chi mounts tollgate on a go-chi/chi router.
//
// chi's middleware type is tollgate's, func(http.Handler) http.Handler, so
// the layers go straight into Use and With: no adapter.
//
//	go run ./examples/chi   # from the repository's root
//	curl -s localhost:8082/v1/me -H "Authorization: Bearer sk-demo-tollgate-key"
package main

import (
	"flag"
	"log"
	"net/http"
	"time"

	"github.com/go-chi/chi/v5"

	"github.com/tollgate/tollgate"
	apierrors "github.com/tollgate/tollgate/errors"
	"github.com/tollgate/tollgate/examples/internal/demo"
)

func main() {
	addr := flag.String("addr", "127.0.0.1:8082", "address to listen on")
	flag.Parse()
	d := demo.MustNew(demo.Options{})
	log.Printf("chi example on http://%s, demo key %s", *addr, demo.Key)
	srv := &http.Server{Addr: *addr, Handler: newRouter(d), ReadHeaderTimeout: 10 * time.Second}
	log.Fatal(srv.ListenAndServe())
}

// newRouter mounts the demo stack on a chi router.
func newRouter(d *demo.Demo) http.Handler {
	r := chi.NewRouter()
	// Outermost first, for every route.
	r.Use(
		tollgate.RequestID(),                // X-Request-ID, in every error body too
		apierrors.Recover(),                 // a panic becomes a 500 envelope
		apierrors.WithDialect(demo.Dialect), // the envelope's shape
		d.Auth,                              // 401 without a valid key
		d.RateLimit,                         // X-RateLimit-*, 429 with Retry-After
	)
	// The paid route adds the quota layer; GET /v1/me costs nothing.
	r.With(d.Quota).Post("/v1/chat/completions", d.Chat().ServeHTTP)
	r.Method(http.MethodGet, "/v1/me", demo.Me())
	// chi's own 404 and 405 are plain text; answer in the dialect instead.
	r.NotFound(apierrors.NotFound().ServeHTTP)
	r.MethodNotAllowed(apierrors.MethodNotAllowed().ServeHTTP)
	return r
}
