package quota

import (
	"context"
	"errors"
	"time"
)

// Ledger keeps prepaid balances: money set aside for a request before it
// runs (a Hold), then replaced by what the request really cost. Amounts are
// int64 micro-units. Implementations must be safe for concurrent use by
// many goroutines and, for shared backends, many processes.
//
// The contract, which quotatest.Run checks for every implementation:
//
//   - Each operation is atomic: it applies entirely or not at all, and no
//     interleaving of concurrent operations can spend the same funds twice.
//     On Redis that is one Lua script per method.
//   - Holds are identified by (account, request ID). Reserve refuses an ID
//     that the account already used while its hold or receipt is kept; the
//     first Settle or Release of a hold wins, and repeating either returns
//     the first outcome with Receipt.Replayed set and changes nothing.
//     Credit is idempotent by (account, reference).
//   - Time is an argument. A ledger never reads a clock of its own: holds
//     expire when now reaches Hold.Expires, so tests walk a timeline
//     without waiting and every replica of a shared backend agrees on
//     expiry up to its callers' clock skew. A backend may store times at
//     millisecond precision.
//   - A hold that expired has given its amount back; settling it later
//     still charges the actual cost (a charge is never lost), releasing it
//     changes nothing.
//   - Settle may charge more than was held. The balance may then go below
//     zero, and the next Reserve sees the account as overdue.
//   - Every business refusal of Reserve is a *Refusal (errors.As); any other
//     error is a failure of the store, which callers treat as such.
type Ledger interface {
	// Reserve atomically checks the account and holds amount for the
	// request. amount is the estimated cost, zero for a free model. It
	// refuses, with a *Refusal, an overdue account (balance below zero,
	// whatever the amount), a paid request (amount > 0) on a zero balance,
	// a paid request above the available balance (balance minus open
	// holds), and a request ID already in use for the account.
	Reserve(ctx context.Context, account string, amount int64, requestID string, now time.Time) (Hold, error)

	// Settle closes the hold and charges actual, which may be more or less
	// than the hold. It is idempotent by request ID.
	Settle(ctx context.Context, hold Hold, actual int64, now time.Time) (Receipt, error)

	// Release closes the hold and charges nothing. It is idempotent by
	// request ID; releasing an expired hold changes nothing.
	Release(ctx context.Context, hold Hold, now time.Time) (Receipt, error)

	// Balance returns the account's funds at now, open holds that have
	// expired excluded. An unknown account has zero funds.
	Balance(ctx context.Context, account string, now time.Time) (Funds, error)

	// Credit adds amount (positive) to the balance, once per reference: a
	// repeated reference returns the first receipt with Replayed set, and
	// the same reference with another amount is ErrReferenceConflict.
	Credit(ctx context.Context, account string, amount int64, reference string) (Receipt, error)
}

// Hold is money set aside for one request. The zero value holds nothing. A
// Hold is a plain value returned by Reserve and handed back to Settle or
// Release; a backend keys it by Account and RequestID.
type Hold struct {
	// Account is the account the money is held on.
	Account string
	// RequestID identifies the hold within the account.
	RequestID string
	// Amount is the amount held, in micro-units.
	Amount int64
	// Available is the account's available balance (balance minus open
	// holds) right after this hold was placed.
	Available int64
	// Expires is when the hold lapses and its amount becomes available
	// again if it has not been settled or released.
	Expires time.Time
}

// Receipt is the outcome of Settle, Release or Credit. The zero value is a
// first-time release on an empty account.
type Receipt struct {
	// Amount is what the operation charged (Settle) or credited (Credit);
	// zero for Release. On a replay it is the first operation's amount.
	Amount int64
	// Balance is the account's balance after the operation (holds not
	// subtracted); on a replay, the current balance.
	Balance int64
	// Replayed reports that the request ID or reference had already been
	// used, so this call changed nothing.
	Replayed bool
}

// Funds is an account's state at one instant. The zero value is an empty
// account.
type Funds struct {
	// Balance is the settled balance in micro-units; negative when the
	// account is overdue.
	Balance int64
	// Held is the sum of the open holds.
	Held int64
	// Holds counts the open holds.
	Holds int
}

// Available returns Balance minus Held: what a new request may reserve.
func (f Funds) Available() int64 {
	a, err := subChecked(f.Balance, f.Held)
	if err != nil {
		return minInt64
	}
	return a
}

const minInt64 = -1 << 63

// Sentinel errors. Ledger and WindowStore implementations return them,
// wrapped as they like, so that callers branch with errors.Is.
var (
	// ErrInvalidArgument reports an empty account, request ID or
	// reference, a negative amount, or an invalid configuration.
	ErrInvalidArgument = errors.New("quota: invalid argument")
	// ErrReferenceConflict reports a credit reference reused with another
	// amount.
	ErrReferenceConflict = errors.New("quota: credit reference reused with a different amount")
)

// validHold reports whether h names an account and a request.
func validHold(h Hold) error {
	if h.Account == "" || h.RequestID == "" || h.Amount < 0 {
		return ErrInvalidArgument
	}
	return nil
}
