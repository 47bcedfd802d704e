//go:build unix

package sse

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"slices"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// browserPage opens two EventSources, /stream (a Writer with keep-alive)
// and /proxied (a silent handler behind KeepAlive with CommitEarly),
// records every event, closes each source at "[DONE]" (so that the end of
// the response is not taken for a failure and retried) and posts what it
// saw to /report once both are done. An error event is reported at once,
// so a failure does not wait for the time-out.
const browserPage = `<!doctype html>
<html><head><meta charset="utf-8"><title>sse</title></head><body><script>
const seen = [];
let opens = 0, errors = 0, done = 0, reported = false;
function report() {
  if (reported) return;
  reported = true;
  fetch('/report', {method: 'POST', headers: {'Content-Type': 'application/json'},
    body: JSON.stringify({events: seen, opens: opens, errors: errors})});
}
for (const path of ['/stream', '/proxied']) {
  const es = new EventSource(path);
  const record = (e) => {
    seen.push({source: path, type: e.type, data: e.data, lastEventId: e.lastEventId});
    if (e.data === '[DONE]') { es.close(); if (++done === 2) report(); }
  };
  es.onopen = () => { opens++; };
  es.onerror = () => { errors++; es.close(); report(); };
  es.onmessage = record;
  es.addEventListener('usage', record);
}
</script></body></html>`

type browserEvent struct {
	Source      string `json:"source"`
	Type        string `json:"type"`
	Data        string `json:"data"`
	LastEventID string `json:"lastEventId"`
}

type browserReport struct {
	Events []browserEvent `json:"events"`
	Opens  int            `json:"opens"`
	Errors int            `json:"errors"`
}

// findChromium returns the path of Debian's chromium, or "".
func findChromium() string {
	if p, err := exec.LookPath("chromium"); err == nil {
		return p
	}
	if _, err := os.Stat("/usr/bin/chromium"); err == nil {
		return "/usr/bin/chromium"
	}
	return ""
}

// TestBrowserEventSource streams to headless Chromium's EventSource, once
// through a Writer with keep-alive and once through the KeepAlive
// middleware committing early for a handler slow to start: every event
// arrives as sent, the keep-alive comments before and between events are
// ignored, and no error event fires from the first byte to [DONE].
func TestBrowserEventSource(t *testing.T) {
	bin := findChromium()
	if bin == "" {
		if os.Getenv("TOLLGATE_REQUIRE_BROWSER") == "1" {
			t.Fatal("chromium is not installed, and TOLLGATE_REQUIRE_BROWSER=1 requires the browser check")
		}
		t.Skip("chromium is not installed (apt-get install chromium; scripts/test does it): skipping the EventSource browser check")
	}
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	rig := newBrowserRig(ctx, t)
	srv := httptest.NewServer(rig.routes())
	defer srv.Close()
	rig.out = startChromium(ctx, t, bin, srv.URL+"/")

	rig.wait(rig.connected, "the EventSource on /stream")
	rig.clock.waitArmed(t)
	for range 2 { // keep-alives while the "upstream" is slow to start
		rig.clock.Advance(10 * time.Second)
		rig.clock.waitArmed(t)
	}
	rig.resume <- struct{}{}
	rig.wait(rig.halfway, "the first events")
	rig.clock.Advance(10 * time.Second) // and one between events
	rig.clock.waitArmed(t)
	rig.resume <- struct{}{}

	rig.wait(rig.proxiedIn, "the EventSource on /proxied")
	rig.early.waitArmed(t)
	rig.early.Advance(10 * time.Second) // the middleware answers for the silent handler
	rig.early.waitArmed(t)
	close(rig.release)

	rep := rig.report()
	assert.Equal(t, 0, rep.Errors, "onerror fired")
	assert.Equal(t, 2, rep.Opens)
	want := []browserEvent{
		{"/proxied", "message", "from upstream", ""},
		{"/proxied", "message", "[DONE]", ""},
		{"/stream", "message", "hello", ""},
		{"/stream", "message", "line one\nline two", ""},
		{"/stream", "message", `{"delta":"Hi"}`, ""},
		{"/stream", "usage", `{"tokens":3}`, "evt-4"},
		{"/stream", "message", "after the id", "evt-4"},
		{"/stream", "message", "unicode é 日本 🙂", "evt-4"},
		{"/stream", "message", " one leading space kept", "evt-4"},
		{"/stream", "message", "[DONE]", "evt-4"},
	}
	// The two sources interleave as they like; each keeps its own order.
	slices.SortStableFunc(rep.Events, func(a, b browserEvent) int { return strings.Compare(a.Source, b.Source) })
	assert.Equal(t, want, rep.Events)
}

// browserRig is the server side of the browser test and the channels the
// test steps it with.
type browserRig struct {
	ctx       context.Context
	t         *testing.T
	out       *boundedBuffer
	clock     *stepClock // the Writer's keep-alive
	early     *stepClock // the middleware's
	streams   *Streams
	connected chan struct{}
	halfway   chan struct{}
	resume    chan struct{}
	proxiedIn chan struct{}
	release   chan struct{}
	reports   chan browserReport
}

func newBrowserRig(ctx context.Context, t *testing.T) *browserRig {
	rig := &browserRig{
		ctx: ctx, t: t, out: &boundedBuffer{}, clock: newStepClock(), early: newStepClock(),
		connected: make(chan struct{}, 1), halfway: make(chan struct{}, 1), resume: make(chan struct{}),
		proxiedIn: make(chan struct{}, 1), release: make(chan struct{}), reports: make(chan browserReport, 1),
	}
	rig.streams = MustStreams(KeepAliveInterval(10*time.Second), KeepAliveComment("ZENMUX PROCESSING"), WithClock(rig.clock))
	return rig
}

func (rig *browserRig) routes() http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("GET /{$}", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		_, _ = io.WriteString(w, browserPage)
	})
	mux.HandleFunc("GET /stream", rig.stream)
	keepAlive := MustKeepAlive(WithClock(rig.early), CommitEarly(AcceptsEventStream), KeepAliveComment("ZENMUX PROCESSING"))
	mux.Handle("GET /proxied", keepAlive(http.HandlerFunc(rig.proxied)))
	mux.HandleFunc("POST /report", func(w http.ResponseWriter, r *http.Request) {
		var rep browserReport
		assert.NoError(rig.t, json.NewDecoder(r.Body).Decode(&rep))
		select {
		case rig.reports <- rep:
		default:
		}
	})
	return mux
}

// wait waits for ch, failing with the browser's output at the time-out.
func (rig *browserRig) wait(ch <-chan struct{}, what string) {
	rig.t.Helper()
	select {
	case <-ch:
	case <-rig.ctx.Done():
		rig.t.Fatalf("timed out waiting for %s; chromium said:\n%s", what, rig.out.String())
	}
}

func (rig *browserRig) report() browserReport {
	rig.t.Helper()
	select {
	case rep := <-rig.reports:
		return rep
	case <-rig.ctx.Done():
		rig.t.Fatalf("no report from the page; chromium said:\n%s", rig.out.String())
		return browserReport{}
	}
}

// hold keeps a response open until the page closes its EventSource: the
// end of the response would make the browser reconnect.
func (rig *browserRig) hold(r *http.Request) {
	select {
	case <-r.Context().Done():
	case <-rig.ctx.Done():
	}
}

// stream is the /stream handler: keep-alive while the test advances the
// clock, the events in two halves, then [DONE].
func (rig *browserRig) stream(w http.ResponseWriter, r *http.Request) {
	t := rig.t
	sw, err := rig.streams.Writer(w, r)
	if !assert.NoError(t, err) {
		return
	}
	defer sw.Close()
	rig.connected <- struct{}{}
	if !rig.await(rig.resume) {
		return
	}
	assert.NoError(t, sw.Send(Event{Data: "hello"}))
	assert.NoError(t, sw.Send(Event{Data: "line one\r\nline two"}))
	assert.NoError(t, sw.SendJSON("", map[string]string{"delta": "Hi"}))
	rig.halfway <- struct{}{}
	if !rig.await(rig.resume) {
		return
	}
	assert.NoError(t, sw.Send(Event{Type: "usage", ID: "evt-4", Data: `{"tokens":3}`}))
	assert.NoError(t, sw.Comment("a comment between events"))
	assert.NoError(t, sw.Send(Event{Data: "after the id", Retry: 3 * time.Second}))
	assert.NoError(t, sw.Send(Event{Data: "unicode é 日本 🙂"}))
	assert.NoError(t, sw.Send(Event{Data: " one leading space kept"}))
	assert.NoError(t, sw.Done())
	rig.hold(r)
}

// proxied is a handler that knows nothing of keep-alive: silent until
// released, then a plain event stream.
func (rig *browserRig) proxied(w http.ResponseWriter, r *http.Request) {
	rig.proxiedIn <- struct{}{}
	if !rig.await(rig.release) {
		return
	}
	w.Header().Set("Content-Type", "text/event-stream")
	w.WriteHeader(http.StatusOK)
	_, _ = io.WriteString(w, "data: from upstream\n\ndata: [DONE]\n\n")
	_ = http.NewResponseController(w).Flush()
	rig.hold(r)
}

func (rig *browserRig) await(ch <-chan struct{}) bool {
	select {
	case <-ch:
		return true
	case <-rig.ctx.Done():
		return false
	}
}

// startChromium runs headless Chromium on url in a process group of its
// own, with a fresh profile, and kills the whole group when the test ends
// or ctx expires. It returns the browser's (bounded) output for failure
// messages.
func startChromium(ctx context.Context, t *testing.T, bin, url string) *boundedBuffer {
	out := &boundedBuffer{}
	cmd := exec.CommandContext(ctx, bin,
		"--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
		"--disable-background-networking", "--disable-component-update", "--disable-sync",
		"--disable-dev-shm-usage", "--user-data-dir="+t.TempDir(), url)
	cmd.Stdout, cmd.Stderr = out, out
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	cmd.Cancel = func() error { return syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL) }
	cmd.WaitDelay = 5 * time.Second
	require.NoError(t, cmd.Start())
	t.Cleanup(func() {
		_ = syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL)
		_ = cmd.Wait()
	})
	return out
}

// boundedBuffer keeps the first 64 KiB written to it; it is safe for
// concurrent use.
type boundedBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *boundedBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	if room := 64<<10 - b.buf.Len(); room > 0 {
		b.buf.Write(p[:min(room, len(p))])
	}
	return len(p), nil
}

func (b *boundedBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}
