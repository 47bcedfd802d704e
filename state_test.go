package tollgate_test

import (
	"bufio"
	"net"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/tollgate/tollgate"
)

func TestBeginCreatesOneState(t *testing.T) {
	var first, second *tollgate.State
	outer := func(next http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			w, r, first = tollgate.Begin(w, r)
			next.ServeHTTP(w, r)
		})
	}
	inner := func(next http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			w2, r2, st := tollgate.Begin(w, r)
			second = st
			assert.Same(t, r, r2, "a second Begin returns the request unchanged")
			assert.Equal(t, w, w2)
			next.ServeHTTP(w2, r2)
		})
	}
	tollgate.Chain(outer, inner).ThenFunc(func(w http.ResponseWriter, r *http.Request) {
		assert.Same(t, first, tollgate.StateFrom(r.Context()))
	}).ServeHTTP(httptest.NewRecorder(), httptest.NewRequest("GET", "/", nil))
	require.NotNil(t, first)
	assert.Same(t, first, second)
}

func TestStateTracksStatusAndBytes(t *testing.T) {
	var st *tollgate.State
	h := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w, _, st = tollgate.Begin(w, r)
		assert.False(t, st.Started())
		w.WriteHeader(http.StatusEarlyHints) // informational: not the status
		assert.False(t, st.Started())
		w.WriteHeader(http.StatusTeapot)
		_, _ = w.Write([]byte("hello"))
	})
	// httptest.ResponseRecorder takes a 1xx as the final status, so use a
	// writer that, like net/http, does not.
	h.ServeHTTP(&plainWriter{header: http.Header{}}, httptest.NewRequest("GET", "/", nil))
	assert.True(t, st.Started())
	assert.Equal(t, http.StatusTeapot, st.Status())
	assert.Equal(t, int64(5), st.BytesWritten())
}

// The wrapper must keep Flush, Hijack and deadlines reachable, directly and
// through http.ResponseController, on a real server connection.
func TestWriterKeepsFlushHijackAndDeadlines(t *testing.T) {
	type result struct {
		flusher, hijacker bool
		deadline, flush   error
		hijack            error
	}
	results := make(chan result, 1)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w, _, _ = tollgate.Begin(w, r)
		var res result
		_, res.flusher = w.(http.Flusher)
		_, res.hijacker = w.(http.Hijacker)
		rc := http.NewResponseController(w)
		res.deadline = rc.SetWriteDeadline(time.Now().Add(time.Minute))
		res.flush = rc.Flush()
		var conn net.Conn
		var brw *bufio.ReadWriter
		conn, brw, res.hijack = rc.Hijack()
		if res.hijack == nil {
			_, _ = brw.WriteString("\r\n")
			_ = brw.Flush()
			_ = conn.Close()
		}
		results <- res
	}))
	defer srv.Close()
	resp, err := http.Get(srv.URL)
	if err == nil {
		resp.Body.Close()
	}
	res := <-results
	assert.True(t, res.flusher)
	assert.True(t, res.hijacker)
	assert.NoError(t, res.deadline)
	assert.NoError(t, res.flush)
	assert.NoError(t, res.hijack)
}

func TestFlushReachesTheClientBeforeTheHandlerEnds(t *testing.T) {
	release := make(chan struct{})
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w, _, _ = tollgate.Begin(w, r)
		_, _ = w.Write([]byte("first\n"))
		w.(http.Flusher).Flush()
		<-release
		_, _ = w.Write([]byte("second\n"))
	}))
	defer srv.Close()
	resp, err := http.Get(srv.URL)
	require.NoError(t, err)
	defer resp.Body.Close()
	line, err := bufio.NewReader(resp.Body).ReadString('\n')
	require.NoError(t, err)
	assert.Equal(t, "first\n", line)
	close(release)
}

func TestReportUsageWinsOverObserved(t *testing.T) {
	var st *tollgate.State
	h := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w, r, st = tollgate.Begin(w, r)
		st.ObserveUsage()
		w.Header().Set("Content-Type", "application/json")
		tollgate.ReportUsage(r.Context(), tollgate.Usage{InputTokens: 1, OutputTokens: 2})
		_, _ = w.Write([]byte(`{"usage":{"prompt_tokens":10,"completion_tokens":20}}`))
	})
	h.ServeHTTP(httptest.NewRecorder(), httptest.NewRequest("GET", "/", nil))
	u, src := st.Usage()
	assert.Equal(t, tollgate.UsageReported, src)
	assert.Equal(t, tollgate.Usage{InputTokens: 1, OutputTokens: 2}, u)
}

type plainWriter struct {
	header http.Header
	body   []byte
}

func (p *plainWriter) Header() http.Header         { return p.header }
func (p *plainWriter) WriteHeader(int)             {}
func (p *plainWriter) Write(b []byte) (int, error) { p.body = append(p.body, b...); return len(b), nil }

func TestFlushErrorReportsUnsupportedWriters(t *testing.T) {
	var st *tollgate.State
	var err error
	h := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w, _, st = tollgate.Begin(w, r)
		err = http.NewResponseController(w).Flush()
	})
	h.ServeHTTP(&plainWriter{header: http.Header{}}, httptest.NewRequest("GET", "/", nil))
	assert.ErrorIs(t, err, http.ErrNotSupported)
	assert.False(t, st.Started())
}
