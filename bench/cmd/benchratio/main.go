// Command benchratio reads the output of the bench module's benchmarks
// (go test -bench, any -count) and prints Markdown tables of the medians:
// for each group, every contender's ns/op, B/op and allocs/op with its
// ratio to tollgate (contender ns/op ÷ tollgate ns/op); the parallel
// speed-up of each limiter (serial ns/op ÷ parallel ns/op); and the heap
// each limiter retains per key. bench/run calls it; it reads standard
// input when given no file.
package main

import (
	"bufio"
	"fmt"
	"io"
	"os"
	"slices"
	"strconv"
	"strings"
)

// sample is one benchmark's medians, by unit (ns/op, B/op, heapB/key…).
type sample map[string]float64

// results holds every benchmark's runs, by name without the -GOMAXPROCS
// suffix, in the order they first appear.
type results struct {
	order []string
	runs  map[string]map[string][]float64
}

func main() {
	in := io.Reader(os.Stdin)
	if len(os.Args) > 1 {
		f, err := os.Open(os.Args[1])
		if err != nil {
			fmt.Fprintln(os.Stderr, err)
			os.Exit(1)
		}
		defer f.Close()
		in = f
	}
	res, err := parse(in)
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	report(os.Stdout, res)
}

// parse reads benchmark lines: name, iterations, then value-unit pairs.
func parse(in io.Reader) (*results, error) {
	res := &results{runs: map[string]map[string][]float64{}}
	sc := bufio.NewScanner(in)
	for sc.Scan() {
		f := strings.Fields(sc.Text())
		if len(f) < 4 || !strings.HasPrefix(f[0], "Benchmark") {
			continue
		}
		name, procs := f[0], 1
		if i := strings.LastIndexByte(name, '-'); i > 0 {
			if n, err := strconv.Atoi(name[i+1:]); err == nil {
				name, procs = name[:i], n
			}
		}
		if procs == 1 {
			name += "@1" // a -cpu=1 run, kept apart for the speed-up
		}
		if res.runs[name] == nil {
			res.runs[name] = map[string][]float64{}
			res.order = append(res.order, name)
		}
		for i := 2; i+1 < len(f); i += 2 {
			v, err := strconv.ParseFloat(f[i], 64)
			if err != nil {
				continue
			}
			res.runs[name][f[i+1]] = append(res.runs[name][f[i+1]], v)
		}
	}
	return res, sc.Err()
}

// median returns the median of name's runs for each unit.
func (r *results) median(name string) (sample, bool) {
	runs, ok := r.runs[name]
	if !ok {
		return nil, false
	}
	s := sample{}
	for unit, vs := range runs {
		vs = slices.Clone(vs)
		slices.Sort(vs)
		n := len(vs)
		s[unit] = (vs[(n-1)/2] + vs[n/2]) / 2
	}
	return s, true
}

// group returns the contenders of the benchmarks named prefix/<contender>,
// in order.
func (r *results) group(prefix string) []string {
	var out []string
	for _, name := range r.order {
		if rest, ok := strings.CutPrefix(name, prefix+"/"); ok && !strings.ContainsAny(rest, "/@") {
			out = append(out, rest)
		}
	}
	return out
}

func report(w io.Writer, r *results) {
	groups := []struct{ prefix, title string }{
		{"BenchmarkLimiter/allowed/discard", "Rate limiter alone, allowed, discard writer, serial"},
		{"BenchmarkLimiter/allowed/recorder", "Rate limiter alone, allowed, httptest.ResponseRecorder, serial"},
		{"BenchmarkLimiter/denied/discard", "Rate limiter alone, denied, discard writer, serial"},
		{"BenchmarkLimiter/denied/recorder", "Rate limiter alone, denied, httptest.ResponseRecorder, serial"},
		{"BenchmarkLimiterParallel/allowed", "Rate limiter alone, allowed, discard writer, RunParallel"},
		{"BenchmarkLimiterParallel/denied", "Rate limiter alone, denied, discard writer, RunParallel"},
		{"BenchmarkLimiterParallelGOGC400/allowed", "Rate limiter alone, allowed, discard writer, RunParallel, GOGC=400"},
		{"BenchmarkStack/allowed/discard", "Middleware stacks, allowed, discard writer, serial"},
		{"BenchmarkStack/allowed/recorder", "Middleware stacks, allowed, httptest.ResponseRecorder, serial"},
		{"BenchmarkStack/denied/discard", "Middleware stacks, denied, discard writer, serial"},
		{"BenchmarkStack/denied/recorder", "Middleware stacks, denied, httptest.ResponseRecorder, serial"},
		{"BenchmarkStackParallel/allowed", "Middleware stacks, allowed, discard writer, RunParallel"},
		{"BenchmarkStackParallel/denied", "Middleware stacks, denied, discard writer, RunParallel"},
		{"BenchmarkStackLayers", "tollgate's stack built up one layer at a time (allowed, discard writer, serial)"},
	}
	if floor := r.group("BenchmarkFloor"); len(floor) > 0 {
		fmt.Fprintf(w, "### Floor: the bare handler\n\n| variant | ns/op | B/op | allocs/op |\n|---|---:|---:|---:|\n")
		for _, c := range floor {
			s, _ := r.median("BenchmarkFloor/" + c)
			fmt.Fprintf(w, "| %s | %s | %s | %s |\n", c, num(s["ns/op"]), num(s["B/op"]), num(s["allocs/op"]))
		}
		fmt.Fprintln(w)
	}
	for _, g := range groups {
		table(w, r, g.prefix, g.title)
	}
	speedups(w, r)
	keys(w, r)
	redis(w, r)
}

// redis prints the Redis decisions, when they were run.
func redis(w io.Writer, r *results) {
	printed := false
	for _, name := range r.order {
		rest, ok := strings.CutPrefix(name, "BenchmarkRedisDecision/")
		if !ok || strings.Contains(rest, "@") {
			continue
		}
		s, _ := r.median(name)
		if !printed {
			fmt.Fprintf(w, "### Redis: one decision per request\n\n| limiter / mode | ns/op | decisions/s | allocs/op |\n|---|---:|---:|---:|\n")
			printed = true
		}
		fmt.Fprintf(w, "| %s | %s | %s | %s |\n", rest, num(s["ns/op"]), num(s["decisions/s"]), num(s["allocs/op"]))
	}
	if printed {
		fmt.Fprintln(w)
	}
}

// table prints one group with each contender's ratio to tollgate.
func table(w io.Writer, r *results, prefix, title string) {
	names := r.group(prefix)
	if len(names) == 0 {
		return
	}
	base, _ := r.median(prefix + "/tollgate")
	fmt.Fprintf(w, "### %s\n\n| contender | ns/op | cpu-ns/op | B/op | allocs/op | ÷ tollgate | ÷ tollgate (cpu) |\n|---|---:|---:|---:|---:|---:|---:|\n", title)
	for _, c := range names {
		s, _ := r.median(prefix + "/" + c)
		fmt.Fprintf(w, "| %s | %s | %s | %s | %s | %s | %s |\n", c, num(s["ns/op"]), optional(s, "cpu-ns/op"),
			num(s["B/op"]), num(s["allocs/op"]), ratio(s, base, "ns/op", c), ratio(s, base, "cpu-ns/op", c))
	}
	fmt.Fprintln(w)
}

// ratio returns s[unit] ÷ base[unit], or "—" for tollgate itself and for
// a unit either lacks.
func ratio(s, base sample, unit, contender string) string {
	if contender == "tollgate" || base[unit] <= 0 || s[unit] <= 0 {
		return "—"
	}
	return fmt.Sprintf("%.2f×", s[unit]/base[unit])
}

// optional formats s[unit], or "—" when it was not measured.
func optional(s sample, unit string) string {
	if v, ok := s[unit]; ok {
		return num(v)
	}
	return "—"
}

// speedups prints, for every limiter and stack, the speed-up of its
// RunParallel benchmark from one core to all: its ns/op with -cpu=1 ÷ its
// ns/op with every core when both were run, else serial ÷ parallel (for
// the groups that have a serial benchmark).
func speedups(w io.Writer, r *results) {
	pairs := []struct{ serial, parallel, title string }{
		{"BenchmarkLimiter/allowed/discard", "BenchmarkLimiterParallel/allowed", "limiter, allowed"},
		{"BenchmarkLimiter/denied/discard", "BenchmarkLimiterParallel/denied", "limiter, denied"},
		{"", "BenchmarkLimiterParallelGOGC400/allowed", "limiter, allowed, GOGC=400"},
		{"BenchmarkStack/allowed/discard", "BenchmarkStackParallel/allowed", "stack, allowed"},
	}
	printed := false
	for _, p := range pairs {
		for _, c := range r.group(p.parallel) {
			s, ok1 := r.median(p.parallel + "/" + c + "@1")
			if !ok1 && p.serial != "" {
				s, ok1 = r.median(p.serial + "/" + c)
			}
			q, ok2 := r.median(p.parallel + "/" + c)
			if !ok1 || !ok2 || q["ns/op"] == 0 {
				continue
			}
			if !printed {
				fmt.Fprintf(w, "### Parallel speed-up (RunParallel ns/op on 1 core ÷ on all cores)\n\n| group | contender | 1 core ns/op | all cores ns/op | speed-up |\n|---|---|---:|---:|---:|\n")
				printed = true
			}
			fmt.Fprintf(w, "| %s | %s | %s | %s | %.2f× |\n", p.title, c, num(s["ns/op"]), num(q["ns/op"]), s["ns/op"]/q["ns/op"])
		}
	}
	if ref, ok := r.median("BenchmarkCPUReference@1"); ok && printed {
		if all, ok := r.median("BenchmarkCPUReference"); ok && all["ns/op"] > 0 {
			fmt.Fprintf(w, "| machine | pure computation (BenchmarkCPUReference) | %s | %s | %.2f× |\n",
				num(ref["ns/op"]), num(all["ns/op"]), ref["ns/op"]/all["ns/op"])
		}
	}
	if printed {
		fmt.Fprintln(w)
	}
}

// keys prints the million-keys table.
func keys(w io.Writer, r *results) {
	names := r.group("BenchmarkMillionKeys")
	if len(names) == 0 {
		return
	}
	base, _ := r.median("BenchmarkMillionKeys/tollgate")
	fmt.Fprintf(w, "### 1,000,000 distinct keys\n\n| limiter | ns/key | heap B/key after GC | ns ÷ tollgate | heap ÷ tollgate |\n|---|---:|---:|---:|---:|\n")
	for _, c := range names {
		s, _ := r.median("BenchmarkMillionKeys/" + c)
		nsRatio, heapRatio := "—", "—"
		if base != nil && c != "tollgate" {
			nsRatio = fmt.Sprintf("%.2f×", s["ns/key"]/base["ns/key"])
			heapRatio = fmt.Sprintf("%.1f×", s["heapB/key"]/base["heapB/key"])
		}
		fmt.Fprintf(w, "| %s | %s | %.1f | %s | %s |\n", c, num(s["ns/key"]), s["heapB/key"], nsRatio, heapRatio)
	}
	fmt.Fprintln(w)
}

// num formats a median: whole numbers above 100, one decimal below.
func num(v float64) string {
	if v >= 100 || v == float64(int64(v)) {
		return strconv.FormatFloat(v, 'f', 0, 64)
	}
	return strconv.FormatFloat(v, 'f', 1, 64)
}
