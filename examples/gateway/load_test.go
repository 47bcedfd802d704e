package main

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"runtime"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/tollgate/tollgate/auth"
	"github.com/tollgate/tollgate/examples/gateway/loadtest"
)

// loadKeys and loadAccounts size the load test's config: many keys over
// fewer accounts, so that keys of one account race for its balance.
const (
	loadKeys     = 1000
	loadAccounts = 100
)

// loadTestConfig is the example config with a "load" plan (600 requests a
// minute per key, 4 at a time) and loadKeys keys on it, loadAccounts
// accounts funded with $1000 each.
func loadTestConfig(c *Config) {
	c.Plans["load"] = PlanConfig{RPM: 600, TPM: 10_000_000, Concurrency: 4}
	for a := range loadAccounts {
		c.Accounts["load-"+strconv.Itoa(a)] = AccountConfig{Balance: 1000 * 1_000_000}
	}
	for k := range loadKeys {
		c.Keys = append(c.Keys, auth.StaticKey{Key: loadKey(k), Principal: auth.Principal{
			KeyID: "load-" + strconv.Itoa(k), Account: "load-" + strconv.Itoa(k%loadAccounts), Plan: "load",
		}})
	}
}

func loadKey(k int) string { return fmt.Sprintf("sk-load-%06d-0123456789abcdef", k) }

// loadRequest is the n-th request: keys in turn, one in four streamed,
// one in eight on the Anthropic route, prompts of varying length.
func loadRequest(n int64) loadtest.Request {
	key := loadKey(int(n*7919) % loadKeys)
	words := strings.Repeat("lorem ipsum ", int(n%16)+1)
	if n%8 == 0 {
		return loadtest.Request{Path: "/v1/messages", Key: key,
			Body: []byte(`{"model":"fake-mini","max_tokens":64,"stream":` + strconv.FormatBool(n%16 == 0) +
				`,"messages":[{"role":"user","content":"` + words + `"}]}`)}
	}
	extra := ""
	if n%4 == 1 {
		extra = `,"stream":true,"stream_options":{"include_usage":true}`
	}
	return loadtest.Request{Path: "/v1/chat/completions", Key: key,
		Body: []byte(`{"model":"fake-echo","max_tokens":128,"messages":[{"role":"user","content":"` + words + `"}]` + extra + `}`)}
}

// loadDuration is how long the load test runs: TOLLGATE_LOAD_DURATION, or
// 60 s with TOLLGATE_SOAK=1, or 3 s.
func loadDuration(t *testing.T) time.Duration {
	if s := os.Getenv("TOLLGATE_LOAD_DURATION"); s != "" {
		d, err := time.ParseDuration(s)
		require.NoError(t, err)
		return d
	}
	if os.Getenv("TOLLGATE_SOAK") == "1" {
		return time.Minute
	}
	return 3 * time.Second
}

// memorySample is the process's memory at one instant of a run.
type memorySample struct {
	at   time.Duration // since the sampler started
	rss  int64         // resident set, bytes
	heap uint64        // live heap after a collection, bytes
}

// memorySampler collects the live heap (after a forced collection) and the
// resident set every interval until stopped.
type memorySampler struct {
	samples []memorySample
	stop    chan struct{}
	stopped chan struct{}
}

func sampleMemory(every time.Duration) *memorySampler {
	m := &memorySampler{stop: make(chan struct{}), stopped: make(chan struct{})}
	start := time.Now()
	go func() {
		defer close(m.stopped)
		tick := time.NewTicker(every)
		defer tick.Stop()
		for {
			select {
			case <-m.stop:
				return
			case <-tick.C:
				m.samples = append(m.samples, memorySample{at: time.Since(start), rss: residentSet(), heap: liveHeap()})
			}
		}
	}()
	return m
}

// done stops the sampler and returns its samples.
func (m *memorySampler) done() []memorySample {
	close(m.stop)
	<-m.stopped
	return m.samples
}

// residentSet reads VmRSS from /proc/self/status, in bytes; 0 where there
// is no /proc.
func residentSet() int64 {
	f, err := os.Open("/proc/self/status")
	if err != nil {
		return 0
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		if rest, ok := strings.CutPrefix(sc.Text(), "VmRSS:"); ok {
			kb, _ := strconv.ParseInt(strings.TrimSpace(strings.TrimSuffix(strings.TrimSpace(rest), "kB")), 10, 64)
			return kb << 10
		}
	}
	return 0
}

func liveHeap() uint64 {
	runtime.GC()
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	return ms.HeapAlloc
}

// TestLoad drives the demo gateway, on a loopback listener with its
// in-memory stores and the system clock, at saturation with many keys:
// no 5xx and no failed request, the p99 reported, every account's
// balance exactly its credits less the charges the ledger acknowledged
// with no hold left, and the live heap flat once the ledger's receipt
// window is full. TOLLGATE_SOAK=1 runs it for 60 s (docs/reliability.md);
// TOLLGATE_LOAD_DURATION sets any length.
//
// The in-memory ledger remembers every settled request ID for its receipt
// TTL (an hour by default), so its memory grows with the request rate
// until the first receipts lapse: at saturation, about 75 bytes of live
// heap per request for an hour (docs/reliability.md). The test shortens the TTL to a quarter of the run
// so that the plateau is reached and measured.
func TestLoad(t *testing.T) {
	if testing.Short() {
		t.Skip("a load test")
	}
	duration := loadDuration(t)
	cfg, err := parseConfig(defaultConfig)
	require.NoError(t, err)
	loadTestConfig(cfg)
	require.NoError(t, cfg.validate())
	// The system clock, not a manual one: rate limits refill as in
	// production. The stores are audited as the rig's are.
	receiptTTL := duration / 4
	base, err := memoryStores(nil, receiptTTL)
	require.NoError(t, err)
	stores, audit := faultStores(base)
	logger := slog.New(slog.NewJSONHandler(io.Discard, &slog.HandlerOptions{Level: slog.LevelWarn}))
	gw, err := NewGateway(cfg, stores, nil, logger, NewMetrics())
	require.NoError(t, err)
	require.NoError(t, gw.Fund(context.Background()))

	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	srv := &http.Server{Handler: gw, ReadHeaderTimeout: 10 * time.Second}
	served := make(chan error, 1)
	go func() { served <- srv.Serve(ln) }()

	// Warm up, then measure the heap the run starts from.
	warm, err := loadtest.Run(context.Background(), loadtest.Config{
		URL: "http://" + ln.Addr().String(), Workers: 32, Duration: duration / 10, Next: loadRequest,
	})
	require.NoError(t, err)
	require.Zero(t, warm.Failed, warm.Errors)

	sampler := sampleMemory(max(duration/20, 100*time.Millisecond))
	rep, err := loadtest.Run(context.Background(), loadtest.Config{
		URL: "http://" + ln.Addr().String(), Workers: 32, Duration: duration,
		Next: func(n int64) loadtest.Request { return loadRequest(n + warm.Requests + warm.Failed) },
	})
	require.NoError(t, err)
	samples := sampler.done()

	shutdown, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	require.NoError(t, srv.Shutdown(shutdown), "in-flight requests settle before shutdown returns")
	require.True(t, errors.Is(<-served, http.ErrServerClosed))

	t.Logf("load: %v", rep)
	var rss, heap []int64
	var lo, hi uint64 = 1 << 63, 0 // live heap once the receipt window is full
	for _, s := range samples {
		rss, heap = append(rss, s.rss>>20), append(heap, int64(s.heap>>20))
		if s.at > receiptTTL+duration/10 {
			lo, hi = min(lo, s.heap), max(hi, s.heap)
		}
	}
	t.Logf("memory every %v: RSS (MiB) %v; live heap after GC (MiB) %v; plateau %d–%d KiB",
		max(duration/20, 100*time.Millisecond), rss, heap, lo>>10, hi>>10)
	assert.Zero(t, rep.Failed, "failed requests: %v", rep.Errors)
	assert.Zero(t, rep.ServerErrors(), "no 5xx: %v", rep.Status)
	assert.Positive(t, rep.Status[http.StatusOK])
	checkBooks(t, audit, time.Now())
	assert.Len(t, audit.accounts(), loadAccounts+2, "every funded account was audited (acme, broke and the load accounts)")
	// Once receipts lapse as fast as they come, the stores hold a bounded
	// set (keys, accounts, a receipt window): the live heap stays within
	// the noise of 32 connections' buffers.
	require.NotZero(t, hi, "samples after the receipt window filled")
	assert.Less(t, hi-lo, uint64(32<<20), "the live heap stays flat")
}
