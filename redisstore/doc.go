// Package redisstore keeps tollgate's rate limits, concurrency leases,
// prepaid balances and subscription quotas in Redis, so that every replica
// of a gateway shares them: a key limited to 60 requests a minute gets 60
// in total, not 60 per replica, and a balance is never spent twice.
//
//	rdb := redis.NewClient(&redis.Options{Addr: "redis:6379", ContextTimeoutEnabled: true, MaxRetries: -1})
//	rs := redisstore.MustNew(rdb, redisstore.WithPrefix("gw:"))
//	limit := ratelimit.MustNew(rs.Buckets(), policies, ratelimit.WithLeaseStore(rs.Leases()))
//	pay := quota.Middleware(rs.Ledger(), account, quota.WithSubscriptions(rs.Windows(), plans))
//
// Store.Buckets is a ratelimit.Store, Store.Leases a ratelimit.LeaseStore,
// Store.Ledger a quota.Ledger and Store.Windows a quota.WindowStore. Each
// passes the same conformance suite as its in-memory counterpart
// (ratelimittest, quotatest) and makes the same decisions: the token
// bucket is the memory store's GCRA to the nanosecond.
//
// # One script per decision
//
// Every method is one Lua script, run atomically by the server in one
// round trip: a TakeAll over several policies takes from all of them or
// none, a Reserve checks the balance and holds in one step. Redis's Lua
// numbers are doubles, so the scripts do their int64 arithmetic on pairs
// of numbers and keep values as decimal strings: balances of any size and
// nanosecond timestamps stay exact. The token bucket's script first tries
// the same decision in plain numbers, exact while every cost, window and
// offset stays under about 46 days of refill time, and hands anything
// larger to the pairs before it writes. Scripts are sent with EVALSHA and
// in full when the server answers NOSCRIPT, so a restart or a SCRIPT FLUSH
// costs one round trip, never an error.
//
// # Time
//
// Token buckets and leases read the server's TIME inside their script, so
// replicas whose clocks disagree still agree on every decision. Tests pass
// a manual clock with WithClock instead. The ledger and window stores take
// the time as an argument, as their interfaces say. Leases, holds and
// receipts are timed to the microsecond.
//
// # Key layout
//
// Every key starts with the prefix (WithPrefix, "tollgate:" by default).
// The part in braces is the Redis Cluster hash tag, which puts all the
// keys of one decision in one slot:
//
//	rl:{rpm:key_1}      string: a bucket's theoretical arrival time (ns)
//	ls:{conc:key_1}     sorted set: leases ("<µs>:<seq>") by expiry (µs)
//	lc:{conc:key_1}     string: the lease sequence counter
//	qa:{acme}           hash: balance, held sum, open holds and receipts
//	qt:{acme}           sorted set: expiries of those holds and receipts
//	qc:{acme}           hash: credit references and their amounts
//	wh:{acme}           hash: subscription holds, held sums per limit, receipts
//	wt:{acme}           sorted set: expiries of those holds and receipts
//	wu:{acme}:5h        hash: usage per bucket of limit "5h" ("<start>:<end>" µs)
//
// Buckets and lease sets are named by the Charge's Prefix+Key and tagged by
// the whole name. A TakeAll across buckets therefore works on any single
// server or Sentinel deployment; on a cluster its buckets must share a
// slot, which WithHashTag arranges by tagging them with a common part of
// their names (the API key ID, say). Ledger and window keys are tagged by
// the account.
//
// # Expiry
//
// Every key has a TTL except the balance of an account that holds money:
// a bucket lives until it is full again, a lease set until its last lease
// lapses, usage until its window has passed, holds and receipts for their
// TTLs (WithHoldTTL, WithReceiptTTL), credit references for WithCreditTTL.
// An account whose balance is zero disappears once nothing in it matters.
//
// # Failures
//
// Every call is bounded by a context deadline (WithTimeout), which is why
// New insists on a client with ContextTimeoutEnabled. A circuit breaker
// (WithBreaker) counts consecutive failures; once open, calls fail at once
// with ErrCircuitOpen for a cool-down, then one call probes the server.
// Its state changes reach Breaker.OnChange. Failures are returned as
// *Error; what a request does when its store fails is the middleware's
// choice (ratelimit.FailOpen, quota.FailOpen, or a 503).
package redisstore
