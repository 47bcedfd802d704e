package quota

import (
	"context"
	"fmt"
	"time"
)

// Limit is one subscription quota: at most Max of Unit in Window. The zero
// value is invalid; a Limit is a plain value, immutable once in a Plan.
type Limit struct {
	// Name identifies the limit within its plan and keys its usage in the
	// store, so usage carries over when an account moves to another plan
	// with a limit of the same name. 1 to 64 letters, digits or . _ : -.
	Name string
	// Window is the span the limit counts over.
	Window Window
	// Unit is what the limit counts.
	Unit Unit
	// Max is the most usage the window may hold; positive.
	Max int64
}

// Validate reports a malformed limit.
func (l Limit) Validate() error {
	if !validName(l.Name) {
		return fmt.Errorf("%w: limit name %q: 1 to 64 letters, digits or . _ : -", ErrInvalidArgument, l.Name)
	}
	if err := l.Window.Validate(); err != nil {
		return fmt.Errorf("limit %q: %w", l.Name, err)
	}
	if l.Unit < Requests || l.Unit > Money || l.Max <= 0 {
		return fmt.Errorf("%w: limit %q needs a unit and a positive max", ErrInvalidArgument, l.Name)
	}
	return nil
}

func validName(s string) bool {
	if len(s) == 0 || len(s) > 64 {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		ok := c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' ||
			c == '.' || c == '_' || c == ':' || c == '-'
		if !ok {
			return false
		}
	}
	return true
}

// Plan is a subscription: limits that all apply at once (say 100 requests
// per 5 hours and $50 per calendar month), and whether an exhausted plan
// falls back to the pay-as-you-go balance. A plan without limits is
// unlimited. The zero value is an unlimited plan without fallback.
type Plan struct {
	// Limits are checked together; a request passes only when every one
	// has room.
	Limits []Limit
	// Fallback charges the account's balance, through the Ledger, when a
	// limit is exhausted; without it the request is refused with
	// ErrQuotaExceeded.
	Fallback bool
}

// Validate reports an invalid limit or two limits with the same name.
func (p Plan) Validate() error {
	seen := make(map[string]bool, len(p.Limits))
	for _, l := range p.Limits {
		if err := l.Validate(); err != nil {
			return err
		}
		if seen[l.Name] {
			return fmt.Errorf("%w: duplicate limit name %q", ErrInvalidArgument, l.Name)
		}
		seen[l.Name] = true
	}
	return nil
}

// WindowStore counts subscription usage against limits. It shares the
// Ledger's contract (see Ledger): atomic operations, one Lua script each on
// Redis; holds keyed by (account, request ID) that expire at
// WindowHold.Expires; Settle and Release idempotent, the first one
// winning; time passed in as now; refusals returned as *Refusal. Usage is
// kept per (account, limit name) in the buckets the limit's Window names,
// so the store never does calendar arithmetic itself. quotatest.RunWindows
// checks an implementation. Implementations must be safe for concurrent use.
type WindowStore interface {
	// Reserve checks every limit and, only when all have room for
	// amounts (settled usage plus open holds plus the amount within Max),
	// holds the amounts against all of them at once. Otherwise it returns
	// a *Refusal with ErrQuotaExceeded for the limit that frees up last,
	// or ErrDuplicateRequest for a request ID already in use.
	Reserve(ctx context.Context, account string, limits []Limit, amounts Amounts, requestID string, now time.Time) (WindowHold, error)

	// Settle closes the hold and counts actual in the buckets of now, in
	// every limit of the hold. A hold that expired is still counted. It
	// reports whether the call was a replay that changed nothing.
	Settle(ctx context.Context, hold WindowHold, actual Amounts, now time.Time) (replayed bool, err error)

	// Release closes the hold and counts nothing. It reports whether the
	// call was a replay.
	Release(ctx context.Context, hold WindowHold, now time.Time) (replayed bool, err error)

	// Usage returns, for each limit in order, what is counted at now.
	Usage(ctx context.Context, account string, limits []Limit, now time.Time) ([]LimitUsage, error)
}

// WindowHold is usage held against a plan's limits for one request. The
// zero value holds nothing.
type WindowHold struct {
	// Account and RequestID identify the hold.
	Account, RequestID string
	// Limits are the limits held against, to be passed back on Settle.
	Limits []Limit
	// Amounts is what was held.
	Amounts Amounts
	// Expires is when the hold lapses if not settled or released.
	Expires time.Time
	// Usage is the state of each limit right after the hold was placed.
	Usage []LimitUsage
}

// LimitUsage is one limit's state at one instant. The zero value is an
// unnamed limit with nothing counted.
type LimitUsage struct {
	// Limit is the limit's name.
	Limit string
	// Unit is what it counts.
	Unit Unit
	// Max is the limit's size.
	Max int64
	// Used is settled usage still in the window plus open holds; it may
	// exceed Max when requests used more than they held.
	Used int64
	// Resets is when the oldest settled usage leaves the window, the next
	// moment Used goes down; zero when nothing is settled.
	Resets time.Time
}

// Remaining returns Max minus Used, or zero when the limit is exhausted.
func (u LimitUsage) Remaining() int64 { return max(u.Max-u.Used, 0) }

// validWindowHold checks the arguments Settle and Release share.
func validWindowHold(h WindowHold) error {
	if h.Account == "" || h.RequestID == "" || !h.Amounts.valid() {
		return fmt.Errorf("%w: window hold %q/%q", ErrInvalidArgument, h.Account, h.RequestID)
	}
	for _, l := range h.Limits {
		if err := l.Validate(); err != nil {
			return err
		}
	}
	return nil
}
