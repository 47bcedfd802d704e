// Package loadtest is a small closed-loop HTTP load generator for the demo
// gateway's reliability tests: a fixed number of workers each send one
// request after another, for a fixed time or number of requests, and the
// run reports the status codes and a latency histogram (p50, p90, p99,
// max).
//
// It sends traffic only to loopback addresses (127.0.0.0/8, ::1,
// localhost): Run refuses any other target, so a load test can never be
// pointed at a machine it does not own.
package loadtest
