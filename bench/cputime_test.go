package bench

import (
	"syscall"
	"testing"
	"time"
)

// cpuClock measures the CPU time the process spends (every thread: the
// benchmark's goroutines and the garbage collector's), which the load of
// other processes on a shared machine does not inflate as it does the
// wall-clock ns/op. Benchmarks report it per operation as cpu-ns/op.
type cpuClock struct{ start time.Duration }

func startCPU() cpuClock { return cpuClock{processCPU()} }

// report adds cpu-ns/op to b's results.
func (c cpuClock) report(b *testing.B) {
	if b.N > 0 {
		b.ReportMetric(float64(processCPU()-c.start)/float64(b.N), "cpu-ns/op")
	}
}

// processCPU returns the user and system CPU time of the process so far.
func processCPU() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}
