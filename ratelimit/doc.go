// Package ratelimit limits requests per key with token buckets, caps
// concurrent requests with expiring leases, blocks keys that keep failing,
// and tells clients where they stand in the headers they already read.
//
// # Buckets
//
// A Limit is a token bucket in golang.org/x/time/rate's terms: Burst tokens
// of capacity, one more every Interval (PerMinute(60) is 60 a minute with a
// burst of 60). A Store holds the buckets and takes tokens from them:
//
//	store := ratelimit.MustMemoryStore()
//	res, err := store.Take(ctx, ratelimit.Charge{Key: "key_123", Limit: ratelimit.PerMinute(60), Cost: 1})
//
// Decisions are rate.Limiter's, to the nanosecond, computed in integers
// (GCRA: each bucket is the one instant at which it will be full again).
// A cost larger than the burst is ErrCostExceedsBurst, never a denial that
// would tell the client to retry forever. TakeAll takes from several
// buckets atomically, all or nothing; Debit takes without asking, into
// debt, which is how token budgets settle usage known only afterwards.
//
// MemoryStore keeps one int64 per key in sharded, cache-line-sized hash
// buckets (about 20 bytes per key), allocates nothing per decision, forgets
// buckets that are full again (which changes no answer) and caps its keys.
// The Redis store (package redisstore, its own module) shares its state
// between replicas with one Lua script and one round trip per decision.
// Every store passes the conformance suite in ratelimittest.
//
// # Middleware
//
// New builds net/http middleware from Policies — each a name, a KeyFunc, a
// Limit (or a LimitFunc choosing it per request, as PlanLimits does by
// plan) and a cost — plus options: a concurrency limit (Concurrent), a
// penalty box (PenaltyBox), header families, hooks (OnLimited, OnError),
// Skip, and the choice between FailOpen and FailClosed when a store fails:
//
//	limit := ratelimit.MustNew(store, []ratelimit.Policy{
//		{Name: "rpm", Key: byKeyID, LimitFunc: ratelimit.PlanLimits(plans, ratelimit.PerMinute(60))},
//		{Name: "tpm", Key: byAccount, Limit: ratelimit.PerMinute(90_000), Cost: estimateTokens, Tokens: true},
//		{Name: "global", Key: ratelimit.ConstantKey("all"), Limit: ratelimit.PerSecond(2_000)},
//	}, ratelimit.Concurrent(ratelimit.Concurrency{Key: byKeyID, Limit: 8}))
//
// All policies of a request are charged in one TakeAll: a request denied
// by one consumes nothing from the others. Token policies (Tokens: true)
// admit a request against an estimate, then, once the handler has
// returned, debit the difference between the real usage (read from the
// request's tollgate.State: reported by the handler, or observed in its
// JSON or SSE body) and the estimate, so that a burst of large prompts
// runs the bucket into debt and the next requests wait for it. A partial
// usage (a stream cut before its final count) is a lower bound: it can
// add to the estimate, never refund it.
//
// Denials go through apierrors.Write, in the request's dialect: 429
// rate_limit_exceeded, token_limit_exceeded, concurrent_limit_exceeded or
// too_many_failures, with Retry-After (the time until the request's cost
// fits, in whole seconds rounded up, at least 1) and details.retryAfter.
//
// # Headers
//
// Headers are set, never added, before the handler runs (so a stream
// carries them from its first byte) and on denials too:
// X-RateLimit-Limit, -Remaining and -Reset (Unix seconds, or a delta) by
// default; IETF draft-10 RateLimit-Policy and RateLimit, and the OpenAI
// x-ratelimit-{limit,remaining,reset}-{requests,tokens}, on request. Each
// family can be renamed or switched off. All of a response's values share
// one string and one backing array: two allocations per response.
//
// # Concurrency
//
// A middleware is safe for concurrent use; so are the stores. Nothing in
// this package starts a goroutine, so nothing needs closing: the memory
// stores sweep idle keys a little at a time as they are used.
package ratelimit
