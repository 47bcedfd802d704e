// Package quota makes AI-API requests pay: prepaid balances that are never
// overspent, subscription quotas over rolling and calendar windows, and a
// middleware that reserves an estimate before the handler and settles the
// real usage after it, without ever losing a charge.
//
// # Money
//
// Every amount is an int64 count of micro-units of the account's currency
// (Micro per unit: 1_500_000 is $1.50). Prices are quoted per million tokens
// (Price) and turned into charges with 128-bit integer arithmetic, rounded
// up once per request; an amount that would not fit in an int64 is
// ErrOverflow, never a wrapped number. FormatDollars prints amounts exactly.
//
// # Ledger and WindowStore
//
// A Ledger holds balances. Reserve checks the account and holds the
// estimate atomically; Settle replaces the hold with the actual cost, which
// may exceed it (the balance may then go negative, and the account is
// overdue until topped up); Release gives the hold back; Credit tops up.
// A WindowStore counts subscription usage, in requests, tokens or money,
// against several limits at once (Plan), each over a Window: Rolling (the
// last 5 hours), Daily or Monthly in a time zone.
//
// Both are interfaces with an in-memory implementation here
// (MemoryLedger, MemoryWindowStore) and are designed for one Lua script
// per operation on Redis. Their shared contract:
//
//   - Holds are keyed by (account, request ID). Settle and Release are
//     idempotent by that key, the first of them winning; Credit is
//     idempotent by its reference. A request ID cannot be reserved twice,
//     so a client that reuses one cannot make a single charge cover two
//     requests.
//   - Time is an argument of every operation, never read from a clock
//     inside the store. Holds expire when now reaches Hold.Expires (so a
//     crashed request frees its funds), and the conformance suite walks a
//     timeline without waiting, for any backend, including one that would
//     otherwise own its time. Callers' clock skew only shifts expiry.
//   - Business refusals are *Refusal values wrapping one of
//     ErrAccountOverdue, ErrCreditRequired, ErrInsufficientBalance,
//     ErrQuotaExceeded and ErrDuplicateRequest; any other error is a store
//     failure.
//
// The package quotatest holds the conformance suite that every
// implementation must pass.
//
// # Middleware
//
// Middleware ties it together for net/http. It needs a Ledger and a
// function naming the request's account. It estimates each request from
// its body (model, max_tokens and the prompt's size; see BodyEstimator),
// reserves the estimate, sets the remaining balance or quota headers
// (HeaderBalanceRemaining and the HeaderQuota* names), runs the handler,
// and settles the usage the handler reported with Report or that the
// response carried, read while streaming without buffering. A stream cut
// before its final count (Anthropic's message_start without the closing
// message_delta, Gemini's chunks without the one with a finishReason) is
// charged as Partial: its exact input, and the output
// the MissingUsage policy says, never less than the count seen. Refusals are
// written through apierrors.Write in the request's dialect, each with its
// own catalogue code. OnCharge, OnRefuse and OnError are the hooks for a
// billing log and metrics.
package quota
