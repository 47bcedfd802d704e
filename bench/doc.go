// Package bench holds side-by-side benchmarks of tollgate against the Go
// rate limiters and middleware stacks people already use: go-chi/httprate,
// ulule/limiter, didip/tollbooth, throttled, sethvargo/go-limiter, echo's
// RateLimiter (alone and with RequestID and KeyAuth) and a naive map of
// golang.org/x/time/rate limiters.
//
// It is a module of its own, so that none of those peers ever enters the
// core module's go.mod. It has no API: everything lives in _test.go files
// and runs with
//
//	./run
//
// which prints a benchstat table and the ratio of each peer to tollgate
// (see README.md). Without -bench, go test runs only quick checks that
// every contender allows and denies as configured.
package bench
