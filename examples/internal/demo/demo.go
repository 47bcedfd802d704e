package demo

import (
	"context"
	"fmt"

	"github.com/tollgate/tollgate"
	"github.com/tollgate/tollgate/auth"
	apierrors "github.com/tollgate/tollgate/errors"
	"github.com/tollgate/tollgate/quota"
	"github.com/tollgate/tollgate/ratelimit"
)

// The demo's identity and model. Key is printed by every example at start-up
// so that curl can use it; it authenticates as KeyID on Account.
const (
	// Key is the demo API key.
	Key = "sk-demo-tollgate-key"
	// KeyID identifies Key in logs, limits and /v1/me.
	KeyID = "key_demo"
	// Account is the account Key belongs to, which pays for its requests.
	Account = "acct_demo"
	// Plan is the account's plan.
	Plan = "pay-as-you-go"
	// Model is the one model the demo prices and serves.
	Model = "demo-1"
)

// Dialect is the error dialect the examples speak. The meta dialect puts the
// request ID in every envelope (meta.request_id), so a client can quote it.
const Dialect = apierrors.Meta

// Defaults applied by New for zero Options fields.
const (
	// DefaultRequestsPerMinute is the demo key's request rate limit.
	DefaultRequestsPerMinute = 60
	// DefaultBalance is the demo account's starting balance: $5.00 in
	// micro-units.
	DefaultBalance = 5 * quota.Micro
)

// Price is what Model costs: $0.001 per request, $1 per million input
// tokens and $2 per million output tokens, with at most 1024 output tokens
// per response.
var Price = quota.Price{Request: 1_000, Input: 1_000_000, Output: 2_000_000, MaxOutput: 1024}

// Options configures New. The zero value is the demo as the examples run it:
// DefaultRequestsPerMinute, DefaultBalance and the system clock.
type Options struct {
	// RequestsPerMinute limits the demo key; zero means
	// DefaultRequestsPerMinute.
	RequestsPerMinute int64
	// Balance is the account's starting balance in micro-units; zero means
	// DefaultBalance.
	Balance int64
	// Clock is the time source of every layer and store; nil means the
	// system clock. Tests pass a tollgatetest.Clock.
	Clock tollgate.Clock
}

// Demo is the state behind the examples and the layers built on it. Its
// layers are ordinary tollgate.Middleware, safe for concurrent use; its
// fields are set by New and must not be changed afterwards. The zero value
// is not usable; use New.
type Demo struct {
	// Keys holds Key.
	Keys *auth.MemoryStore
	// Limits holds the rate-limit buckets.
	Limits *ratelimit.MemoryStore
	// Ledger holds Account's balance.
	Ledger *quota.MemoryLedger
	// Pricing prices Model, and only Model.
	Pricing *quota.Pricing
	// Clock is the time source the layers share.
	Clock tollgate.Clock

	// Auth refuses requests without a valid key (401).
	Auth tollgate.Middleware
	// RateLimit allows RequestsPerMinute per key and sets the X-RateLimit
	// headers (429 with Retry-After beyond it).
	RateLimit tollgate.Middleware
	// Quota reserves each request's estimated cost on Account's balance,
	// charges its real usage afterwards and sets X-Balance-Remaining (402
	// once the balance cannot cover a request).
	Quota tollgate.Middleware
}

// New builds the stores, credits Account with the starting balance and
// builds the three stateful layers. It reports negative options.
func New(o Options) (*Demo, error) {
	if o.RequestsPerMinute < 0 || o.Balance < 0 {
		return nil, fmt.Errorf("demo: negative options %+v", o)
	}
	if o.RequestsPerMinute == 0 {
		o.RequestsPerMinute = DefaultRequestsPerMinute
	}
	if o.Balance == 0 {
		o.Balance = DefaultBalance
	}
	clock := tollgate.ClockOrSystem(o.Clock)
	d := &Demo{Clock: clock}
	var err error
	d.Keys, err = auth.NewMemoryStore(auth.StaticKey{Key: Key, Principal: auth.Principal{KeyID: KeyID, Account: Account, Plan: Plan}})
	if err != nil {
		return nil, err
	}
	if d.Limits, err = ratelimit.NewMemoryStore(ratelimit.WithClock(clock)); err != nil {
		return nil, err
	}
	if d.Ledger, err = quota.NewMemoryLedger(); err != nil {
		return nil, err
	}
	if _, err = d.Ledger.Credit(context.Background(), Account, o.Balance, "demo-start"); err != nil {
		return nil, err
	}
	if d.Pricing, err = quota.NewPricing(map[string]quota.Price{Model: Price}); err != nil {
		return nil, err
	}
	if d.Auth, err = buildAuth(d.Keys, clock); err != nil {
		return nil, err
	}
	d.RateLimit, err = ratelimit.New(d.Limits, []ratelimit.Policy{
		{Name: "rpm", Key: auth.ByKeyID, Limit: ratelimit.PerMinute(o.RequestsPerMinute)},
	})
	if err != nil {
		return nil, err
	}
	d.Quota, err = quota.NewMiddleware(d.Ledger, auth.ByAccount, quota.WithPricing(d.Pricing), quota.WithClock(clock))
	if err != nil {
		return nil, err
	}
	return d, nil
}

func buildAuth(keys auth.KeyStore, clock tollgate.Clock) (tollgate.Middleware, error) {
	a, err := auth.New(keys, auth.WithClock(clock))
	if err != nil {
		return nil, err
	}
	return a.Middleware, nil
}

// MustNew is New that panics on invalid options, for main functions.
func MustNew(o Options) *Demo {
	d, err := New(o)
	if err != nil {
		panic(err)
	}
	return d
}

// Balance returns Account's settled balance in micro-units, open holds not
// subtracted.
func (d *Demo) Balance(ctx context.Context) (int64, error) {
	f, err := d.Ledger.Balance(ctx, Account, d.Clock.Now())
	if err != nil {
		return 0, fmt.Errorf("demo: reading the balance: %w", err)
	}
	return f.Balance, nil
}
