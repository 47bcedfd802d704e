package loadtest

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"math/bits"
	"net/http"
	"net/netip"
	"net/url"
	"sort"
	"sync"
	"sync/atomic"
	"time"
)

// Request is one request to send: a path below Config.URL, a bearer key
// and a JSON body.
type Request struct {
	Path string
	Key  string
	Body []byte
}

// Config describes a run. The zero value is not usable: URL, Next and
// either Duration or MaxRequests are required.
type Config struct {
	// URL is the base URL of the server under test; its host must be a
	// loopback address or localhost.
	URL string
	// Workers is the number of concurrent clients (default 16). Each sends
	// its next request as soon as the previous answer is read in full.
	Workers int
	// Duration bounds the run's time; MaxRequests bounds its requests.
	// Whichever is reached first ends the run; zero means no bound of that
	// kind, but one of them must be set.
	Duration    time.Duration
	MaxRequests int64
	// Next returns the n-th request (n counts from 0 across all workers).
	// It must be safe for concurrent use.
	Next func(n int64) Request
	// Client sends the requests; nil means a client with a connection
	// pool sized for Workers.
	Client *http.Client
}

// Report is the outcome of a run. It is a plain value.
type Report struct {
	// Requests counts the requests that got a response; Failed those that
	// did not (a transport error, a body cut short).
	Requests, Failed int64
	// Status counts responses by status code.
	Status map[int]int64
	// Elapsed is the run's wall-clock time.
	Elapsed time.Duration
	// P50, P90, P99 and Max are latencies from sending a request to
	// reading the last byte of its response, within about 3%.
	P50, P90, P99, Max time.Duration
	// Errors holds up to ten transport errors, for diagnosis.
	Errors []string
}

// Rate returns the responses per second.
func (r Report) Rate() float64 {
	if r.Elapsed <= 0 {
		return 0
	}
	return float64(r.Requests) / r.Elapsed.Seconds()
}

// ServerErrors counts the 5xx responses.
func (r Report) ServerErrors() int64 {
	var n int64
	for code, c := range r.Status {
		if code >= 500 {
			n += c
		}
	}
	return n
}

// String summarises the report on one line.
func (r Report) String() string {
	codes := make([]int, 0, len(r.Status))
	for c := range r.Status {
		codes = append(codes, c)
	}
	sort.Ints(codes)
	var b bytes.Buffer
	fmt.Fprintf(&b, "%d requests in %v (%.0f/s), %d failed; p50 %v p90 %v p99 %v max %v; status",
		r.Requests, r.Elapsed.Round(time.Millisecond), r.Rate(), r.Failed, r.P50, r.P90, r.P99, r.Max)
	for _, c := range codes {
		fmt.Fprintf(&b, " %d×%d", c, r.Status[c])
	}
	return b.String()
}

// ErrNotLoopback is returned by Run for a target that is not on this
// machine's loopback interface.
var ErrNotLoopback = errors.New("loadtest: the target must be a loopback address")

// Run sends the load described by cfg and returns its report. It stops
// early when ctx ends.
func Run(ctx context.Context, cfg Config) (Report, error) {
	if err := cfg.check(); err != nil {
		return Report{}, err
	}
	client := cfg.Client
	if client == nil {
		tr := http.DefaultTransport.(*http.Transport).Clone()
		tr.MaxIdleConnsPerHost = cfg.Workers
		client = &http.Client{Transport: tr}
		defer tr.CloseIdleConnections()
	}
	if cfg.Duration > 0 {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, cfg.Duration)
		defer cancel()
	}
	var next atomic.Int64
	results := make([]worker, cfg.Workers)
	start := time.Now()
	var wg sync.WaitGroup
	for i := range results {
		wg.Add(1)
		go func() {
			defer wg.Done()
			results[i].run(ctx, client, &cfg, &next)
		}()
	}
	wg.Wait()
	return merge(results, time.Since(start)), nil
}

func (cfg *Config) check() error {
	if cfg.Workers == 0 {
		cfg.Workers = 16
	}
	switch {
	case cfg.Workers < 0:
		return fmt.Errorf("loadtest: Workers %d must be positive", cfg.Workers)
	case cfg.Next == nil:
		return errors.New("loadtest: Next is required")
	case cfg.Duration <= 0 && cfg.MaxRequests <= 0:
		return errors.New("loadtest: set Duration or MaxRequests, or the run never ends")
	}
	u, err := url.Parse(cfg.URL)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") {
		return fmt.Errorf("loadtest: URL %q: want http(s)://host:port", cfg.URL)
	}
	if !isLoopback(u.Hostname()) {
		return fmt.Errorf("%w: %q", ErrNotLoopback, u.Hostname())
	}
	return nil
}

func isLoopback(host string) bool {
	if host == "localhost" {
		return true
	}
	a, err := netip.ParseAddr(host)
	return err == nil && a.Unmap().IsLoopback()
}

// worker is one client's loop and its tallies.
type worker struct {
	hist     histogram
	status   map[int]int64
	requests int64
	failed   int64
	errors   []string
}

func (w *worker) run(ctx context.Context, client *http.Client, cfg *Config, next *atomic.Int64) {
	w.status = map[int]int64{}
	for ctx.Err() == nil {
		n := next.Add(1) - 1
		if cfg.MaxRequests > 0 && n >= cfg.MaxRequests {
			return
		}
		w.one(ctx, client, cfg.URL, cfg.Next(n))
	}
}

func (w *worker) one(ctx context.Context, client *http.Client, base string, r Request) {
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, base+r.Path, bytes.NewReader(r.Body))
	if err != nil {
		w.fail(err)
		return
	}
	req.Header.Set("Content-Type", "application/json")
	if r.Key != "" {
		req.Header.Set("Authorization", "Bearer "+r.Key)
	}
	start := time.Now()
	resp, err := client.Do(req)
	if err != nil {
		if ctx.Err() == nil {
			w.fail(err)
		}
		return
	}
	_, err = io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	if err != nil {
		if ctx.Err() == nil {
			w.fail(err)
		}
		return
	}
	w.hist.add(time.Since(start))
	w.status[resp.StatusCode]++
	w.requests++
}

func (w *worker) fail(err error) {
	w.failed++
	if len(w.errors) < 10 {
		w.errors = append(w.errors, err.Error())
	}
}

func merge(ws []worker, elapsed time.Duration) Report {
	r := Report{Status: map[int]int64{}, Elapsed: elapsed}
	var h histogram
	for i := range ws {
		w := &ws[i]
		r.Requests += w.requests
		r.Failed += w.failed
		for c, n := range w.status {
			r.Status[c] += n
		}
		h.merge(&w.hist)
		for _, e := range w.errors {
			if len(r.Errors) < 10 {
				r.Errors = append(r.Errors, e)
			}
		}
	}
	r.P50, r.P90, r.P99, r.Max = h.quantile(0.50), h.quantile(0.90), h.quantile(0.99), h.max
	return r
}

// histogram counts latencies in buckets of about 3% width: 32 per
// power of two of nanoseconds.
type histogram struct {
	counts [64 * subBuckets]int64
	total  int64
	max    time.Duration
}

const subBits = 5
const subBuckets = 1 << subBits

func bucketOf(d time.Duration) int {
	v := uint64(max(d, 1))
	exp := 63 - bits.LeadingZeros64(v)
	if exp < subBits {
		return int(v)
	}
	sub := int(v>>(exp-subBits)) & (subBuckets - 1)
	return (exp-subBits+1)*subBuckets + sub
}

// upper returns the largest latency in bucket i.
func upper(i int) time.Duration {
	if i < subBuckets {
		return time.Duration(i)
	}
	exp := i/subBuckets + subBits - 1
	sub := uint64(i % subBuckets)
	lo := (uint64(1)<<subBits | sub) << (exp - subBits)
	return time.Duration(lo + uint64(1)<<(exp-subBits) - 1)
}

func (h *histogram) add(d time.Duration) {
	h.counts[bucketOf(d)]++
	h.total++
	h.max = max(h.max, d)
}

func (h *histogram) merge(o *histogram) {
	for i, c := range o.counts {
		h.counts[i] += c
	}
	h.total += o.total
	h.max = max(h.max, o.max)
}

// quantile returns the upper bound of the bucket holding the q-quantile,
// capped at the maximum seen.
func (h *histogram) quantile(q float64) time.Duration {
	if h.total == 0 {
		return 0
	}
	rank := int64(q*float64(h.total-1)) + 1
	var seen int64
	for i, c := range h.counts {
		if seen += c; seen >= rank {
			return min(upper(i), h.max)
		}
	}
	return h.max
}
