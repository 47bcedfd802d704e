package demotest

import (
	"net/http"

	"github.com/tollgate/tollgate"
)

// Seen is what a net/http layer placed above a router's adapter observed
// of the response once the router's handlers had returned.
type Seen struct {
	Status  int
	Written int64
	Usage   tollgate.Usage
	Source  tollgate.UsageSource
}

// Observe returns a net/http layer that sets the header X-Layer before its
// next handler and records in out what the request's State says of the
// response after it: the adapter tests of gin and echo use it to show that
// a layer wrapped by the adapter sees the router's status, bytes and body.
func Observe(out *Seen) tollgate.Middleware {
	return func(next http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			w, r, st := tollgate.Begin(w, r)
			st.ObserveUsage()
			w.Header().Set("X-Layer", "net/http")
			next.ServeHTTP(w, r)
			out.Status, out.Written = st.Status(), st.BytesWritten()
			out.Usage, out.Source = st.Usage()
		})
	}
}
