package main

import (
	"context"
	"errors"
	"net/http"
	"sync"
	"time"

	"github.com/tollgate/tollgate/quota"
	"github.com/tollgate/tollgate/ratelimit"
)

// Faults are injected per request: the X-Test-Fault header, read by the
// withFaults wrapper in front of the gateway, names the store call that
// fails (or panics) for that request only, through the request's context.
const headerTestFault = "X-Test-Fault"

// The faults a request can ask for.
const (
	faultLimits      = "limits-error"  // every rate-limit store call fails
	faultLeases      = "leases-error"  // every lease store call fails
	faultLedger      = "ledger-error"  // Reserve fails
	faultLedgerPanic = "ledger-panic"  // Reserve panics
	faultSettlePanic = "settle-panic"  // Settle panics, after the handler
	faultWindows     = "windows-error" // every window store call fails
)

var errInjected = errors.New("injected store failure: connection reset by peer")

type faultKey struct{}

// withFaults copies the request's X-Test-Fault header into its context,
// where the fault stores look for it.
func withFaults(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if f := r.Header.Get(headerTestFault); f != "" {
			r = r.WithContext(context.WithValue(r.Context(), faultKey{}, f))
		}
		next.ServeHTTP(w, r)
	})
}

func faultOf(ctx context.Context) string {
	f, _ := ctx.Value(faultKey{}).(string)
	return f
}

// faultLimitsStore is a ratelimit.Store that fails on request.
type faultLimitsStore struct{ ratelimit.Store }

func (s faultLimitsStore) Take(ctx context.Context, c ratelimit.Charge) (ratelimit.Result, error) {
	if faultOf(ctx) == faultLimits {
		return ratelimit.Result{}, errInjected
	}
	return s.Store.Take(ctx, c)
}

func (s faultLimitsStore) TakeAll(ctx context.Context, cs []ratelimit.Charge, rs []ratelimit.Result) (bool, error) {
	if faultOf(ctx) == faultLimits {
		return false, errInjected
	}
	return s.Store.TakeAll(ctx, cs, rs)
}

func (s faultLimitsStore) Debit(ctx context.Context, c ratelimit.Charge) (ratelimit.Result, error) {
	if faultOf(ctx) == faultLimits {
		return ratelimit.Result{}, errInjected
	}
	return s.Store.Debit(ctx, c)
}

// faultLeaseStore is a ratelimit.LeaseStore that fails on request.
type faultLeaseStore struct{ ratelimit.LeaseStore }

func (s faultLeaseStore) Acquire(ctx context.Context, prefix, key string, limit int64, ttl time.Duration) (ratelimit.Lease, error) {
	if faultOf(ctx) == faultLeases {
		return ratelimit.Lease{}, errInjected
	}
	return s.LeaseStore.Acquire(ctx, prefix, key, limit, ttl)
}

// faultWindowStore is a quota.WindowStore that fails on request.
type faultWindowStore struct{ quota.WindowStore }

func (s faultWindowStore) Reserve(ctx context.Context, account string, limits []quota.Limit, a quota.Amounts, id string, now time.Time) (quota.WindowHold, error) {
	if faultOf(ctx) == faultWindows {
		return quota.WindowHold{}, errInjected
	}
	return s.WindowStore.Reserve(ctx, account, limits, a, id, now)
}

// auditLedger is a quota.Ledger that fails on request and keeps the books
// a test checks the real ledger against: every credit and every first-time
// settlement, by account.
type auditLedger struct {
	quota.Ledger
	mu       sync.Mutex
	credited map[string]int64
	charged  map[string]int64
	settles  int
}

func newAuditLedger(l quota.Ledger) *auditLedger {
	return &auditLedger{Ledger: l, credited: map[string]int64{}, charged: map[string]int64{}}
}

func (l *auditLedger) Reserve(ctx context.Context, account string, amount int64, id string, now time.Time) (quota.Hold, error) {
	switch faultOf(ctx) {
	case faultLedger:
		return quota.Hold{}, errInjected
	case faultLedgerPanic:
		panic("injected: the ledger driver crashed")
	}
	return l.Ledger.Reserve(ctx, account, amount, id, now)
}

func (l *auditLedger) Settle(ctx context.Context, h quota.Hold, actual int64, now time.Time) (quota.Receipt, error) {
	if faultOf(ctx) == faultSettlePanic {
		panic("injected: the ledger driver crashed while settling")
	}
	rc, err := l.Ledger.Settle(ctx, h, actual, now)
	if err == nil && !rc.Replayed {
		l.mu.Lock()
		l.charged[h.Account] += rc.Amount
		l.settles++
		l.mu.Unlock()
	}
	return rc, err
}

func (l *auditLedger) Credit(ctx context.Context, account string, amount int64, ref string) (quota.Receipt, error) {
	rc, err := l.Ledger.Credit(ctx, account, amount, ref)
	if err == nil && !rc.Replayed {
		l.mu.Lock()
		l.credited[account] += rc.Amount
		l.mu.Unlock()
	}
	return rc, err
}

// books returns what the ledger should hold for account: credits less
// charges.
func (l *auditLedger) books(account string) (credited, charged int64) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.credited[account], l.charged[account]
}

// accounts returns every account credited or charged.
func (l *auditLedger) accounts() []string {
	l.mu.Lock()
	defer l.mu.Unlock()
	seen := map[string]bool{}
	var out []string
	for _, m := range []map[string]int64{l.credited, l.charged} {
		for a := range m {
			if !seen[a] {
				seen[a] = true
				out = append(out, a)
			}
		}
	}
	return out
}

// faultStores wraps memory stores with the fault injectors and the audit
// ledger.
func faultStores(base Stores) (Stores, *auditLedger) {
	audit := newAuditLedger(base.Ledger)
	return Stores{
		Limits:  faultLimitsStore{base.Limits},
		Leases:  faultLeaseStore{base.Leases},
		Ledger:  audit,
		Windows: faultWindowStore{base.Windows},
		Close:   base.Close,
	}, audit
}
