// Command echo mounts tollgate on a labstack/echo server.
//
// echo's middleware is an echo.MiddlewareFunc, not a func(http.Handler)
// http.Handler, so the tollgate layers go through Adapt (adapter.go): echo
// handlers see the request ID and the auth.Principal in the request's
// context, the layers see the response, and errors the handlers return are
// written in the tollgate dialect by writeError.
//
//	go run ./examples/echo   # from the repository's root
//	curl -s localhost:8084/v1/me -H "Authorization: Bearer sk-demo-tollgate-key"
package main

import (
	"flag"
	"log"
	"net/http"
	"time"

	"github.com/labstack/echo/v4"

	"github.com/tollgate/tollgate"
	"github.com/tollgate/tollgate/auth"
	apierrors "github.com/tollgate/tollgate/errors"
	"github.com/tollgate/tollgate/examples/internal/demo"
)

func main() {
	addr := flag.String("addr", "127.0.0.1:8084", "address to listen on")
	flag.Parse()
	d := demo.MustNew(demo.Options{})
	log.Printf("echo example on http://%s, demo key %s", *addr, demo.Key)
	srv := &http.Server{Addr: *addr, Handler: newRouter(d), ReadHeaderTimeout: 10 * time.Second}
	log.Fatal(srv.ListenAndServe())
}

// newRouter mounts the demo stack on an echo server.
func newRouter(d *demo.Demo) *echo.Echo {
	e := echo.New()
	e.HTTPErrorHandler = writeError // errors in the dialect, 404 and 405 included
	// Outermost first, for every route, through one adapter.
	e.Use(Adapt(tollgate.Chain(
		tollgate.RequestID(),                // X-Request-ID, in every error body too
		apierrors.Recover(),                 // a panic becomes a 500 envelope
		apierrors.WithDialect(demo.Dialect), // the envelope's shape
		d.Auth,                              // 401 without a valid key
		d.RateLimit,                         // X-RateLimit-*, 429 with Retry-After
	).Then))
	// The paid route adds the quota layer; GET /v1/me costs nothing.
	e.POST("/v1/chat/completions", chat(d), Adapt(d.Quota))
	e.GET("/v1/me", me)
	return e
}

// chat answers with the demo model. c.JSON writes through the adapter, so
// the quota layer reads the usage from the body and charges it; an error
// is returned to echo, which writes it with writeError.
func chat(d *demo.Demo) echo.HandlerFunc {
	return func(c echo.Context) error {
		completion, err := d.Complete(c.Request())
		if err != nil {
			return err
		}
		return c.JSON(http.StatusOK, completion)
	}
}

// me answers with the caller's identity, read from the request's context
// as the tollgate layers left it.
func me(c echo.Context) error {
	p := auth.PrincipalFrom(c.Request().Context())
	if p == nil {
		return auth.ErrUnauthenticated
	}
	return c.JSON(http.StatusOK, demo.Identity{
		KeyID: p.KeyID, Account: p.Account, Plan: p.Plan,
		RequestID: tollgate.RequestIDFrom(c.Request().Context()),
	})
}
