// Command gin mounts tollgate on a gin-gonic/gin engine.
//
// gin's middleware is a gin.HandlerFunc, not a func(http.Handler)
// http.Handler, so the tollgate layers go through Adapt (adapter.go): it
// hands gin the request and writer the layers passed down, so gin handlers
// see the request ID and the auth.Principal, and the layers see the
// response.
//
//	go run ./examples/gin   # from the repository's root
//	curl -s localhost:8083/v1/me -H "Authorization: Bearer sk-demo-tollgate-key"
package main

import (
	"flag"
	"log"
	"net/http"
	"time"

	"github.com/gin-gonic/gin"

	"github.com/tollgate/tollgate"
	"github.com/tollgate/tollgate/auth"
	apierrors "github.com/tollgate/tollgate/errors"
	"github.com/tollgate/tollgate/examples/internal/demo"
)

func main() {
	addr := flag.String("addr", "127.0.0.1:8083", "address to listen on")
	flag.Parse()
	gin.SetMode(gin.ReleaseMode)
	d := demo.MustNew(demo.Options{})
	log.Printf("gin example on http://%s, demo key %s", *addr, demo.Key)
	srv := &http.Server{Addr: *addr, Handler: newRouter(d), ReadHeaderTimeout: 10 * time.Second}
	log.Fatal(srv.ListenAndServe())
}

// newRouter mounts the demo stack on a gin engine.
func newRouter(d *demo.Demo) *gin.Engine {
	r := gin.New()
	// Outermost first, for every route, through one adapter.
	r.Use(Adapt(tollgate.Chain(
		tollgate.RequestID(),                // X-Request-ID, in every error body too
		apierrors.Recover(),                 // a panic becomes a 500 envelope
		apierrors.WithDialect(demo.Dialect), // the envelope's shape
		d.Auth,                              // 401 without a valid key
		d.RateLimit,                         // X-RateLimit-*, 429 with Retry-After
	).Then))
	// The paid route adds the quota layer; GET /v1/me costs nothing.
	r.POST("/v1/chat/completions", Adapt(d.Quota), chat(d))
	r.GET("/v1/me", me)
	// gin's own 404 and 405 are plain text; answer in the dialect instead.
	r.HandleMethodNotAllowed = true
	r.NoRoute(gin.WrapH(apierrors.NotFound()))
	r.NoMethod(gin.WrapH(apierrors.MethodNotAllowed()))
	return r
}

// chat answers with the demo model. c.JSON writes through the adapter, so
// the quota layer reads the usage from the body and charges it.
func chat(d *demo.Demo) gin.HandlerFunc {
	return func(c *gin.Context) {
		completion, err := d.Complete(c.Request)
		if err != nil {
			apierrors.Write(c.Writer, c.Request, err)
			return
		}
		c.JSON(http.StatusOK, completion)
	}
}

// me answers with the caller's identity, read from the request's context
// as the tollgate layers left it.
func me(c *gin.Context) {
	p := auth.PrincipalFrom(c.Request.Context())
	if p == nil {
		apierrors.Write(c.Writer, c.Request, auth.ErrUnauthenticated)
		return
	}
	c.JSON(http.StatusOK, demo.Identity{
		KeyID: p.KeyID, Account: p.Account, Plan: p.Plan,
		RequestID: tollgate.RequestIDFrom(c.Request.Context()),
	})
}
