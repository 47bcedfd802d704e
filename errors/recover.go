package errors

import (
	"context"
	"fmt"
	"log/slog"
	"net/http"
	"runtime/debug"

	"github.com/tollgate/tollgate"
)

// RecoverOption configures Recover.
type RecoverOption func(*recoverConfig)

type recoverConfig struct {
	logger *slog.Logger
}

// RecoverLogger sets the logger that receives the panic value and stack,
// with the request ID. The default is slog.Default().
func RecoverLogger(l *slog.Logger) RecoverOption {
	return func(c *recoverConfig) { c.logger = l }
}

// Recover returns middleware that turns a panic in the handlers below it
// into an error the client can read: a 500 internal_error envelope in the
// request's dialect when nothing was sent yet, or the dialect's in-stream
// error event when an event stream had already started. The panic value and
// stack are logged with the request ID; the client learns nothing of them.
//
// http.ErrAbortHandler is re-panicked, as net/http expects. When a response
// other than an event stream had already started, Recover also aborts the
// connection (by panicking with http.ErrAbortHandler) so the client sees a
// truncated response rather than one that looks complete.
func Recover(opts ...RecoverOption) tollgate.Middleware {
	var cfg recoverConfig
	for _, o := range opts {
		o(&cfg)
	}
	return func(next http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			w, r, st := tollgate.Begin(w, r)
			defer func() {
				v := recover()
				if v == nil {
					return
				}
				if v == http.ErrAbortHandler {
					panic(v)
				}
				logPanic(r.Context(), cfg.logger, v)
				if st.Started() && !isEventStream(w.Header()) {
					panic(http.ErrAbortHandler)
				}
				Write(w, r, New(CodeInternalError).WithCause(fmt.Errorf("panic: %v", v)))
			}()
			next.ServeHTTP(w, r)
		})
	}
}

func logPanic(ctx context.Context, l *slog.Logger, v any) {
	if l == nil {
		l = slog.Default()
	}
	l.ErrorContext(ctx, "tollgate: panic serving request",
		slog.String("request_id", tollgate.RequestIDFrom(ctx)),
		slog.String("panic", fmt.Sprint(v)),
		slog.String("stack", string(debug.Stack())))
}

// NotFound returns a handler that answers every request with a 404
// endpoint_not_found envelope in the request's dialect. Use it as a router's
// not-found handler.
func NotFound() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		Write(w, r, New(CodeEndpointNotFound))
	})
}

// MethodNotAllowed returns a handler that answers with a 405
// method_not_allowed envelope and an Allow header listing allowed (when
// not empty).
func MethodNotAllowed(allowed ...string) http.Handler {
	allow := ""
	for i, m := range allowed {
		if i > 0 {
			allow += ", "
		}
		allow += m
	}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if allow != "" {
			w.Header().Set("Allow", allow)
		}
		Write(w, r, New(CodeMethodNotAllowed))
	})
}
