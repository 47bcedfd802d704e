// Package tollgate is an embeddable net/http middleware suite for AI-API
// gateways: API-key authentication, rate limits, prepaid quotas, error
// envelopes in each platform's dialect and Server-Sent Events, each a
// [Middleware] that stacks on any router.
//
// The root package holds what every layer shares and nothing else: the
// [Middleware] type and [Chain], the [RequestID] middleware, the [Clock]
// every package takes so tests never sleep, and the per-request [State]
// through which inner layers report facts (the caller's identity, the real
// token [Usage]) to outer ones without importing each other.
//
// The sub-packages are independent of each other:
//
//	errors     the error catalogue and its dialects (usually imported as apierrors)
//	auth       API keys, key stores, the Principal in the context
//	ratelimit  token buckets, concurrency leases, rate-limit headers
//	quota      balances, holds and settlement, subscription windows
//	sse        a Server-Sent Events writer and a spec-exact reader
//
// A typical stack, outermost first:
//
//	tollgate.Chain(
//		tollgate.RequestID(),
//		apierrors.Recover(),
//		auth.Middleware(keys),
//		ratelimit.Middleware(store, keyFunc, policies...),
//		quota.Middleware(ledger, accountFunc),
//	).Then(handler)
package tollgate
