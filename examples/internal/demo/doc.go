// Package demo builds the tollgate stack that the router examples
// (examples/stdlib, chi, gin and echo) mount, so that each example shows
// only what differs from one router to the next: how the middleware is
// attached.
//
// New returns a Demo holding one demo key (Key), in-memory stores — an
// auth.MemoryStore, a ratelimit.MemoryStore and a quota.MemoryLedger
// credited with the starting balance — and the three stateful layers built
// on them: Auth, RateLimit and Quota. The examples put them in the order
// every tollgate stack uses:
//
//	RequestID → Recover → WithDialect(Dialect) → Auth → RateLimit → Quota → handler
//
// with Quota on the paid route only (POST /v1/chat/completions): GET /v1/me
// names no model and costs nothing.
//
// Complete is the tiny OpenAI-style chat model behind the examples'
// POST /v1/chat/completions: it echoes the last message back and reports
// its usage in the response's "usage" object, which the quota layer reads
// as the body streams past. Chat and Me are the net/http handlers; the gin
// and echo examples write native handlers around Complete and Identity.
//
// The package demotest holds the test suite every example passes through
// its own router.
package demo
