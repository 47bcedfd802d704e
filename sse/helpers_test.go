package sse

import (
	"bufio"
	"bytes"
	"io"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/tollgate/tollgate"
	"github.com/tollgate/tollgate/tollgatetest"
)

// stepClock is a manual clock that reports every time a timer is armed
// (created or reset), so a test knows the keep-alive goroutine has finished
// a step — and what it decided — before it advances the clock again.
type stepClock struct {
	*tollgatetest.Clock
	armed chan time.Duration
}

func newStepClock() *stepClock {
	return &stepClock{Clock: tollgatetest.NewClock(time.Time{}), armed: make(chan time.Duration, 256)}
}

func (c *stepClock) NewTimer(d time.Duration) tollgate.Timer {
	t := c.Clock.NewTimer(d)
	c.armed <- d
	return &stepTimer{Timer: t, c: c}
}

type stepTimer struct {
	tollgate.Timer
	c *stepClock
}

func (t *stepTimer) Reset(d time.Duration) bool {
	active := t.Timer.Reset(d)
	t.c.armed <- d
	return active
}

// waitArmed waits for the next arming and returns its duration.
func (c *stepClock) waitArmed(t *testing.T) time.Duration {
	t.Helper()
	select {
	case d := <-c.armed:
		return d
	case <-time.After(10 * time.Second):
		t.Fatal("the keep-alive timer was not armed")
		return 0
	}
}

// recorder is a ResponseWriter that may be written from several
// goroutines, counts flushes and can be told to fail its writes.
type recorder struct {
	mu       sync.Mutex
	header   http.Header
	status   int
	body     bytes.Buffer
	flushes  int
	writeErr error
}

func newRecorder() *recorder { return &recorder{header: http.Header{}} }

func (r *recorder) Header() http.Header { return r.header }

func (r *recorder) WriteHeader(code int) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.status == 0 {
		r.status = code
	}
}

func (r *recorder) Write(p []byte) (int, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.status == 0 {
		r.status = http.StatusOK
	}
	if r.writeErr != nil {
		return 0, r.writeErr
	}
	return r.body.Write(p)
}

func (r *recorder) Flush() {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.status == 0 {
		r.status = http.StatusOK
	}
	r.flushes++
}

func (r *recorder) String() string {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.body.String()
}

func (r *recorder) failWrites(err error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.writeErr = err
}

// noFlush is a ResponseWriter that cannot flush.
type noFlush struct {
	header http.Header
	status int
	body   bytes.Buffer
}

func (n *noFlush) Header() http.Header         { return n.header }
func (n *noFlush) WriteHeader(code int)        { n.status = code }
func (n *noFlush) Write(p []byte) (int, error) { return n.body.Write(p) }

// lines reads a response body line by line, with the line break kept, so
// tests can check the exact bytes a client receives and block until they
// arrive.
type lines struct {
	t  *testing.T
	br *bufio.Reader
}

func newLines(t *testing.T, body io.Reader) *lines {
	return &lines{t: t, br: bufio.NewReader(body)}
}

// next returns the next line, failing the test at EOF.
func (l *lines) next() string {
	l.t.Helper()
	s, err := l.br.ReadString('\n')
	require.NoError(l.t, err, "reading a line (got %q)", s)
	return s
}

// expect reads as many lines as want has and compares them.
func (l *lines) expect(want ...string) {
	l.t.Helper()
	got := make([]string, len(want))
	for i := range want {
		got[i] = l.next()
	}
	require.Equal(l.t, strings.Join(want, ""), strings.Join(got, ""))
}

// rest reads to EOF.
func (l *lines) rest() string {
	l.t.Helper()
	b, err := io.ReadAll(l.br)
	require.NoError(l.t, err)
	return string(b)
}

// readAll parses a whole stream with a Reader, collecting comments too.
func readAll(t *testing.T, src io.Reader, opts ...ReaderOption) ([]Event, []string) {
	t.Helper()
	var comments []string
	opts = append(opts, OnComment(func(c string) { comments = append(comments, c) }))
	r := NewReader(src, opts...)
	var events []Event
	for {
		ev, err := r.Next()
		if err == io.EOF {
			return events, comments
		}
		require.NoError(t, err)
		events = append(events, ev)
	}
}
