package main

import (
	"errors"
	"net/http"

	"github.com/labstack/echo/v4"

	apierrors "github.com/tollgate/tollgate/errors"
)

// Adapt turns net/http middleware — any tollgate layer, or a whole stack's
// Then — into echo middleware.
//
// It does what echo.WrapMiddleware does — the handlers below get the
// request the layer passed down (so they read the request ID and the
// auth.Principal from its context) and a Response writing through the
// layer's writer (so the layers see the status, and quota reads the usage
// from the body) — and one thing more: an error a handler returns is
// rendered at once, with c.Error, while the layers still wrap the handler.
// With echo.WrapMiddleware it is rendered after they have returned, so they
// never see the error's status: quota and ratelimit's penalty box take the
// request for one that wrote nothing. The error is still returned, so echo
// middleware outside the adapter sees it; echo does not render it twice,
// as the response is committed. c.Request and c.Response are restored when
// the layer returns.
//
// The returned middleware is safe for concurrent use if m is.
func Adapt(m func(http.Handler) http.Handler) echo.MiddlewareFunc {
	return func(next echo.HandlerFunc) echo.HandlerFunc {
		return func(c echo.Context) error {
			resp, req := c.Response(), c.Request()
			defer func() { c.SetResponse(resp); c.SetRequest(req) }()
			var err error
			m(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				c.SetRequest(r)
				c.SetResponse(echo.NewResponse(w, c.Echo()))
				if err = next(c); err != nil {
					c.Error(err)
				}
			})).ServeHTTP(resp, req)
			return err
		}
	}
}

// writeError is the echo.HTTPErrorHandler that answers in the request's
// tollgate dialect, with the request ID in the body: an *apierrors.Error
// as it is, echo's not-found and method-not-allowed errors as the
// catalogue's, any other *echo.HTTPError by its status and message, and
// anything else as a 500 that reveals nothing. A committed response is left
// alone.
func writeError(err error, c echo.Context) {
	if c.Response().Committed {
		return
	}
	var he *echo.HTTPError
	switch {
	case errors.Is(err, echo.ErrNotFound):
		err = apierrors.New(apierrors.CodeEndpointNotFound)
	case errors.Is(err, echo.ErrMethodNotAllowed):
		err = apierrors.New(apierrors.CodeMethodNotAllowed)
	case errors.As(err, &he):
		e := apierrors.New(apierrors.StatusCode(he.Code)).WithStatus(he.Code).WithCause(err)
		if msg, ok := he.Message.(string); ok && msg != "" {
			e = e.WithMessage(msg)
		}
		err = e
	}
	apierrors.Write(c.Response(), c.Request(), err)
}
