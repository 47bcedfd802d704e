package bench

import (
	"hash/maphash"
	"net/http"
	"net/http/httptest"
	"runtime"
	"runtime/debug"
	"strconv"
	"sync/atomic"
	"testing"

	"github.com/tollgate/tollgate"
)

// The benchmarks push one request, built once, through each contender
// around the ok handler: serially with the discard writer (a fresh header
// map per request, as net/http gives) and with a fresh
// httptest.ResponseRecorder, and from every core with b.RunParallel (one
// request and key per goroutine). The allowed path runs under highLimit;
// the denied path under a limit of one per hour, spent before timing.
// Names read Benchmark<Group>/<path>/<writer>/<contender>.

// BenchmarkFloor is the bare ok handler: the floor every other figure
// stands on.
func BenchmarkFloor(b *testing.B) {
	r := newRequest("key_1")
	b.Run("discard", func(b *testing.B) { serialDiscard(b, ok, r) })
	b.Run("recorder", func(b *testing.B) { serialRecorder(b, ok, r) })
	b.Run("discard-3headers", func(b *testing.B) { serialDiscard(b, threeHeaders(ok), r) })
	b.Run("parallel", func(b *testing.B) {
		parallel(b, func(int) http.Handler { return ok }, func(i int) *http.Request {
			return newRequest("key_" + strconv.Itoa(i))
		})
	})
}

// threeHeaders sets three rate-limit headers from values made once: the
// least any limiter that reports its state can do, since the first header
// of a response makes the header map allocate its storage.
func threeHeaders(next http.Handler) http.Handler {
	values := []string{"1000", "999", "1767225600"}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		h := w.Header()
		h["X-Ratelimit-Limit"] = values[0:1:1]
		h["X-Ratelimit-Remaining"] = values[1:2:2]
		h["X-Ratelimit-Reset"] = values[2:3:3]
		next.ServeHTTP(w, r)
	})
}

// BenchmarkLimiter is each rate limiter alone.
func BenchmarkLimiter(b *testing.B) {
	for _, path := range paths {
		for _, c := range contenders {
			b.Run(path.name+"/discard/"+c.name, func(b *testing.B) {
				h, r := limiterFor(b, c, path)
				serialDiscard(b, h, r)
			})
			b.Run(path.name+"/recorder/"+c.name, func(b *testing.B) {
				h, r := limiterFor(b, c, path)
				serialRecorder(b, h, r)
			})
		}
	}
}

// BenchmarkLimiterParallel is BenchmarkLimiter from every core, one key
// per goroutine.
func BenchmarkLimiterParallel(b *testing.B) {
	for _, path := range paths {
		for _, c := range contenders {
			b.Run(path.name+"/"+c.name, func(b *testing.B) { limiterParallel(b, c, path) })
		}
	}
}

// BenchmarkLimiterParallelGOGC400 is BenchmarkLimiterParallel's allowed
// path with the garbage collector's target at 400% (GOGC=400) for every
// contender. This benchmark's process holds a live heap of about a
// megabyte, so at the default 100% two cores' allocations (the header map,
// the header values) reach the 4 MB heap goal some 550 times a second, a
// collection running 44% of the time, and the collector, not the
// limiters, caps the speed-up. A gateway's heap (connections, buffers,
// caches) is larger, and collects less often for the same traffic; this
// variant shows the speed-up the limiters themselves allow.
func BenchmarkLimiterParallelGOGC400(b *testing.B) {
	defer debug.SetGCPercent(debug.SetGCPercent(400))
	for _, c := range contenders {
		b.Run("allowed/"+c.name, func(b *testing.B) { limiterParallel(b, c, paths[0]) })
	}
}

// limiterParallel runs c on path from every core, one key per goroutine.
func limiterParallel(b *testing.B, c contender, path benchPath) {
	h := c.build(b, path.perHour, ok)
	parallel(b, func(int) http.Handler { return h }, func(i int) *http.Request {
		r := newRequest("key_" + strconv.Itoa(i))
		if path.denied {
			serve(h, r) // spend the one request
		}
		return r
	})
}

// BenchmarkStack is each middleware stack.
func BenchmarkStack(b *testing.B) {
	for _, path := range paths {
		for _, s := range stacks {
			if path.denied && !s.limits {
				continue
			}
			b.Run(path.name+"/discard/"+s.name, func(b *testing.B) {
				h, r := stackFor(b, s, path)
				serialDiscard(b, h, r)
			})
			b.Run(path.name+"/recorder/"+s.name, func(b *testing.B) {
				h, r := stackFor(b, s, path)
				serialRecorder(b, h, r)
			})
		}
	}
}

// BenchmarkStackParallel is BenchmarkStack from every core, one API key
// per goroutine.
func BenchmarkStackParallel(b *testing.B) {
	for _, path := range paths {
		for _, s := range stacks {
			if path.denied && !s.limits {
				continue
			}
			b.Run(path.name+"/"+s.name, func(b *testing.B) {
				h := s.build(b, path.perHour, ok)
				parallel(b, func(int) http.Handler { return h }, func(i int) *http.Request {
					r := stackRequest(i % stackKeys)
					if path.denied {
						serve(h, r) // spend the one request (a key may be shared)
					}
					return r
				})
			})
		}
	}
}

// benchPath is the allowed or the denied path.
type benchPath struct {
	name    string
	perHour int
	denied  bool
}

var paths = []benchPath{{"allowed", highLimit, false}, {"denied", 1, true}}

// limiterFor builds c for path and returns it with its request, checked
// to get the status the path expects.
func limiterFor(b *testing.B, c contender, path benchPath) (http.Handler, *http.Request) {
	h := c.build(b, path.perHour, ok)
	return h, checked(b, h, newRequest("key_1"), path)
}

// stackFor is limiterFor for a stack.
func stackFor(b *testing.B, s stack, path benchPath) (http.Handler, *http.Request) {
	h := s.build(b, path.perHour, ok)
	return h, checked(b, h, stackRequest(0), path)
}

// checked sends r through h once (twice on the denied path, the first
// spending the limit) and fails b unless the last answer is the path's.
func checked(b *testing.B, h http.Handler, r *http.Request, path benchPath) *http.Request {
	b.Helper()
	mustStatus(b, h, r, http.StatusOK)
	if path.denied {
		mustStatus(b, h, r, http.StatusTooManyRequests)
	}
	return r
}

func serialDiscard(b *testing.B, h http.Handler, r *http.Request) {
	w := &discard{}
	b.ReportAllocs()
	cpu := startCPU()
	for b.Loop() {
		w.reset()
		h.ServeHTTP(w, r)
	}
	cpu.report(b)
}

func serialRecorder(b *testing.B, h http.Handler, r *http.Request) {
	b.ReportAllocs()
	cpu := startCPU()
	for b.Loop() {
		h.ServeHTTP(httptest.NewRecorder(), r)
	}
	cpu.report(b)
}

// parallel runs handler(i) on request(i) from every goroutine of
// b.RunParallel, i numbering the goroutines, with the discard writer.
func parallel(b *testing.B, handler func(int) http.Handler, request func(int) *http.Request) {
	var seq atomic.Int64
	b.ReportAllocs()
	b.ResetTimer()
	cpu := startCPU()
	defer cpu.report(b)
	b.RunParallel(func(pb *testing.PB) {
		i := int(seq.Add(1))
		h, r := handler(i), request(i)
		w := &discard{}
		for pb.Next() {
			w.reset()
			h.ServeHTTP(w, r)
		}
	})
}

// BenchmarkStackLayers is tollgate's stack built up one layer at a time,
// allowed path, discard writer: what each layer adds.
func BenchmarkStackLayers(b *testing.B) {
	names := []string{"1-requestid", "2-recover", "3-auth", "4-ratelimit", "5-quota"}
	for n, name := range names {
		b.Run(name, func(b *testing.B) {
			h := tollgate.Chain(tollgateLayers(b, highLimit)[:n+1]...).Then(ok)
			r := stackRequest(0)
			mustStatus(b, h, r, http.StatusOK)
			serialDiscard(b, h, r)
		})
	}
}

// BenchmarkCPUReference is pure computation (hashing a short string) with
// no shared state, from every goroutine of RunParallel: run with -cpu 1,2
// beside the parallel benchmarks, its speed-up is what the machine gives
// at that moment, the ceiling of any other's on a shared machine.
func BenchmarkCPUReference(b *testing.B) {
	seed := maphash.MakeSeed()
	b.RunParallel(func(pb *testing.PB) {
		var sum uint64
		for pb.Next() {
			for range 16 {
				sum += maphash.String(seed, "key_1234567890")
			}
		}
		runtime.KeepAlive(sum)
	})
}
