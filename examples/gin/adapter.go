package main

import (
	"bufio"
	"io"
	"net"
	"net/http"

	"github.com/gin-gonic/gin"
)

// Adapt turns net/http middleware — any tollgate layer, or a whole stack's
// Then — into gin middleware.
//
// The layer runs with gin's writer and request. If it calls its next
// handler, the adapter hands the request the layer passed down to gin
// (c.Request = r, so the handlers below read the request ID, the
// auth.Principal and everything else the layers put in its context) and
// makes c.Writer write through the writer the layer passed down (so the
// layers see the status, and quota reads the usage from the body), then
// runs the rest of gin's chain with c.Next(). If the layer answered itself
// (a 401, a 429), the adapter aborts gin's chain. Either way c.Request and
// c.Writer are restored when the layer returns.
//
// The returned handler is safe for concurrent use if m is.
func Adapt(m func(http.Handler) http.Handler) gin.HandlerFunc {
	return func(c *gin.Context) {
		writer, req := c.Writer, c.Request
		defer func() { c.Writer, c.Request = writer, req }()
		passed := false
		m(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			passed = true
			c.Request = r
			c.Writer = &responseWriter{ResponseWriter: c.Writer, w: w}
			c.Next()
		})).ServeHTTP(c.Writer, c.Request)
		if !passed {
			c.Abort()
		}
	}
}

// responseWriter is the gin.ResponseWriter that handlers below Adapt see.
// Body and status go through w, the writer the net/http layer passed down,
// which ends in gin's own writer: that one keeps counting the status and
// size that gin's Status, Size and Written report. Like gin's writer, it
// holds the status back until the first byte, a flush or WriteHeaderNow,
// so a handler may still change it until then.
type responseWriter struct {
	gin.ResponseWriter // gin's writer: WriteHeader (deferred), Status, Size, Written, Pusher
	w                  http.ResponseWriter
	sent               bool
}

// Header returns the header map of the layer's writer.
func (rw *responseWriter) Header() http.Header { return rw.w.Header() }

// WriteHeaderNow sends the status gin holds through the layer's writer.
func (rw *responseWriter) WriteHeaderNow() {
	if !rw.sent {
		rw.sent = true
		rw.w.WriteHeader(rw.ResponseWriter.Status())
	}
	rw.ResponseWriter.WriteHeaderNow()
}

// Write sends the status, then p, through the layer's writer.
func (rw *responseWriter) Write(p []byte) (int, error) {
	rw.WriteHeaderNow()
	return rw.w.Write(p)
}

// WriteString is Write for a string.
func (rw *responseWriter) WriteString(s string) (int, error) {
	rw.WriteHeaderNow()
	return io.WriteString(rw.w, s)
}

// Flush sends the status and flushes through the layer's writer.
func (rw *responseWriter) Flush() {
	rw.WriteHeaderNow()
	_ = http.NewResponseController(rw.w).Flush()
}

// Hijack hijacks the connection through the layer's writer.
func (rw *responseWriter) Hijack() (net.Conn, *bufio.ReadWriter, error) {
	return http.NewResponseController(rw.w).Hijack()
}

// Unwrap returns the layer's writer, for http.ResponseController.
func (rw *responseWriter) Unwrap() http.ResponseWriter { return rw.w }
