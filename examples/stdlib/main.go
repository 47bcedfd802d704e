// Command stdlib mounts tollgate on the standard library's http.ServeMux.
//
// Every tollgate layer is a func(http.Handler) http.Handler, so net/http
// needs no adapter: tollgate.Chain composes the layers, and Then wraps the
// mux, or one route.
//
//	go run ./examples/stdlib   # from the repository's root
//	curl -s localhost:8081/v1/chat/completions -H "Authorization: Bearer sk-demo-tollgate-key" \
//	  -H "Content-Type: application/json" \
//	  -d '{"model":"demo-1","messages":[{"role":"user","content":"hello"}]}'
package main

import (
	"flag"
	"log"
	"net/http"
	"time"

	"github.com/tollgate/tollgate"
	apierrors "github.com/tollgate/tollgate/errors"
	"github.com/tollgate/tollgate/examples/internal/demo"
)

func main() {
	addr := flag.String("addr", "127.0.0.1:8081", "address to listen on")
	flag.Parse()
	d := demo.MustNew(demo.Options{})
	log.Printf("stdlib example on http://%s, demo key %s", *addr, demo.Key)
	srv := &http.Server{Addr: *addr, Handler: newRouter(d), ReadHeaderTimeout: 10 * time.Second}
	log.Fatal(srv.ListenAndServe())
}

// newRouter mounts the demo stack on a ServeMux.
func newRouter(d *demo.Demo) http.Handler {
	mux := http.NewServeMux()
	// The paid route adds the quota layer; GET /v1/me costs nothing.
	mux.Handle("POST /v1/chat/completions", d.Quota(d.Chat()))
	mux.Handle("GET /v1/me", demo.Me())
	mux.Handle("/", apierrors.NotFound())

	// Outermost first: Chain(a, b).Then(h) is a(b(h)).
	return tollgate.Chain(
		tollgate.RequestID(),                // X-Request-ID, in every error body too
		apierrors.Recover(),                 // a panic becomes a 500 envelope
		apierrors.WithDialect(demo.Dialect), // the envelope's shape
		d.Auth,                              // 401 without a valid key
		d.RateLimit,                         // X-RateLimit-*, 429 with Retry-After
	).Then(mux)
}
