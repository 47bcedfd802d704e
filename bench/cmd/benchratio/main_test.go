package main

import (
	"maps"
	"slices"
	"strings"
	"testing"
)

const sampleOutput = `goos: linux
BenchmarkLimiter/allowed/discard/tollgate-2   	  100	       400.0 ns/op	     512 B/op	       3 allocs/op
BenchmarkLimiter/allowed/discard/tollgate-2   	  100	       600.0 ns/op	     512 B/op	       3 allocs/op
BenchmarkLimiter/allowed/discard/tollgate-2   	  100	       500.0 ns/op	     512 B/op	       3 allocs/op
BenchmarkLimiter/allowed/discard/httprate-2   	  100	      1500 ns/op	     576 B/op	      12 allocs/op
BenchmarkLimiterParallel/allowed/tollgate     	  100	       500.0 ns/op	     512 B/op	       3 allocs/op
BenchmarkLimiterParallel/allowed/tollgate-2   	  100	       250.0 ns/op	     512 B/op	       3 allocs/op
BenchmarkLimiterParallelGOGC400/allowed/tollgate   	  100	       400.0 ns/op	     512 B/op	       3 allocs/op
BenchmarkLimiterParallelGOGC400/allowed/tollgate-2 	  100	       200.0 ns/op	     512 B/op	       3 allocs/op
BenchmarkLimiterParallelGOGC400/allowed/httprate-2 	  100	       600.0 ns/op	     576 B/op	      12 allocs/op
BenchmarkMillionKeys/tollgate-2               	    1	        20.00 heapB/key	       700.0 ns/key
BenchmarkMillionKeys/httprate-2               	    1	        40.00 heapB/key	      1400 ns/key
PASS
`

func TestParseAndReport(t *testing.T) {
	res, err := parse(strings.NewReader(sampleOutput))
	if err != nil {
		t.Fatal(err)
	}
	s, ok := res.median("BenchmarkLimiter/allowed/discard/tollgate")
	if want := (sample{"ns/op": 500, "B/op": 512, "allocs/op": 3}); !ok || !maps.Equal(s, want) {
		t.Errorf("median %v, want %v", s, want)
	}
	if _, ok := res.median("BenchmarkLimiterParallel/allowed/tollgate@1"); !ok {
		t.Error("a -cpu=1 run is not kept apart")
	}
	if got, want := res.group("BenchmarkLimiter/allowed/discard"), []string{"tollgate", "httprate"}; !slices.Equal(got, want) {
		t.Errorf("group %v, want %v", got, want)
	}
	var out strings.Builder
	report(&out, res)
	for _, line := range []string{
		"| httprate | 1500 | — | 576 | 12 | 3.00× | — |",
		"| limiter, allowed | tollgate | 500 | 250 | 2.00× |",
		"| httprate | 1400 | 40.0 | 2.00× | 2.0× |",
		"### Rate limiter alone, allowed, discard writer, RunParallel, GOGC=400",
		"| httprate | 600 | — | 576 | 12 | 3.00× | — |",
		"| limiter, allowed, GOGC=400 | tollgate | 400 | 200 | 2.00× |",
	} {
		if !strings.Contains(out.String(), line) {
			t.Errorf("report lacks %q:\n%s", line, out.String())
		}
	}
}

func TestMedianOfEvenCount(t *testing.T) {
	res, err := parse(strings.NewReader("BenchmarkX-2 1 10 ns/op\nBenchmarkX-2 1 20 ns/op\n"))
	if err != nil {
		t.Fatal(err)
	}
	if s, _ := res.median("BenchmarkX"); s["ns/op"] != 15 {
		t.Errorf("median %v, want 15", s["ns/op"])
	}
}
