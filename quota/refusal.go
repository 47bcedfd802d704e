package quota

import (
	"errors"
	"strconv"
	"time"

	apierrors "github.com/tollgate/tollgate/errors"
)

// The reasons for refusing a reservation. A *Refusal wraps exactly one of
// them, so errors.Is(err, ErrCreditRequired) works on whatever a Ledger or
// WindowStore returned.
var (
	// ErrAccountOverdue: the balance is below zero. Every request is
	// refused, free models included, until the account is topped up.
	ErrAccountOverdue = errors.New("quota: account overdue")
	// ErrCreditRequired: the balance is zero and the request is paid.
	ErrCreditRequired = errors.New("quota: credit required")
	// ErrInsufficientBalance: the available balance is below the estimate.
	ErrInsufficientBalance = errors.New("quota: insufficient balance")
	// ErrQuotaExceeded: a subscription limit has no room for the request.
	ErrQuotaExceeded = errors.New("quota: subscription quota exceeded")
	// ErrDuplicateRequest: the request ID was already used for the
	// account, so reserving again could let one charge cover two requests.
	ErrDuplicateRequest = errors.New("quota: request ID already used")
)

// Refusal is a reservation that a Ledger or WindowStore turned down for a
// business reason, with the numbers behind the decision. The zero value is
// not meaningful; backends fill Reason and the fields it uses.
type Refusal struct {
	// Reason is one of ErrAccountOverdue, ErrCreditRequired,
	// ErrInsufficientBalance, ErrQuotaExceeded and ErrDuplicateRequest.
	Reason error
	// Account is the account refused.
	Account string
	// Balance is the available balance (balance minus open holds) at the
	// time of a balance refusal; for ErrAccountOverdue, the balance itself.
	Balance int64
	// Amount is what was asked for: micro-units for balance refusals, the
	// limit's unit for ErrQuotaExceeded.
	Amount int64
	// Limit names the exhausted subscription limit (ErrQuotaExceeded).
	Limit string
	// Max and Used are the exhausted limit's size and what was counted
	// against it, open holds included (ErrQuotaExceeded).
	Max, Used int64
	// RetryAfter is how long until the exhausted window has room again
	// (ErrQuotaExceeded); at least one second.
	RetryAfter time.Duration
}

// Error describes the refusal for logs.
func (r *Refusal) Error() string {
	msg := r.Reason.Error() + ": account " + strconv.Quote(r.Account)
	switch r.Reason {
	case ErrInsufficientBalance:
		msg += ": available " + FormatDollars(r.Balance) + ", needed " + FormatDollars(r.Amount)
	case ErrQuotaExceeded:
		msg += ": limit " + strconv.Quote(r.Limit) + " used " + strconv.FormatInt(r.Used, 10) +
			" of " + strconv.FormatInt(r.Max, 10) + ", retry after " + r.RetryAfter.String()
	}
	return msg
}

// Unwrap returns the reason.
func (r *Refusal) Unwrap() error { return r.Reason }

// APIError returns the refusal as the client sees it, a catalogue error
// that apierrors.Write renders in every dialect:
//
//	ErrAccountOverdue       account_overdue (402; ZenMux insufficient_credit)
//	ErrCreditRequired       credit_required (402; ZenMux reject_no_credit)
//	ErrInsufficientBalance  insufficient_balance, "Your balance ($5.00) is
//	                        insufficient for this task ($10.00). Please add credits."
//	ErrQuotaExceeded        quota_exceeded (402; ZenMux quote_exceeded, meta
//	                        QUOTA_EXCEEDED) with Retry-After
//	ErrDuplicateRequest     conflict (409)
//
// Amounts are formatted with FormatDollars; an available balance below
// zero (holds above the balance) is shown as $0.00. The refusal is the
// error's Cause, for logs; it is never rendered.
func (r *Refusal) APIError() *apierrors.Error {
	var e *apierrors.Error
	switch r.Reason {
	case ErrAccountOverdue:
		e = apierrors.New(apierrors.CodeAccountOverdue)
	case ErrCreditRequired:
		e = apierrors.New(apierrors.CodeCreditRequired)
	case ErrInsufficientBalance:
		e = apierrors.Newf(apierrors.CodeInsufficientBalance,
			"Your balance (%s) is insufficient for this task (%s). Please add credits.",
			FormatDollars(max(r.Balance, 0)), FormatDollars(r.Amount))
	case ErrQuotaExceeded:
		e = apierrors.New(apierrors.CodeQuotaExceeded)
		e.RetryAfter = max(r.RetryAfter, time.Second)
	case ErrDuplicateRequest:
		e = apierrors.Newf(apierrors.CodeConflict,
			"This request ID has already been used. Retry with a new request ID.")
	default:
		e = apierrors.New(apierrors.CodeInternalError)
	}
	e.Cause = r
	return e
}

// refuse builds a *Refusal; backends in this package use it.
func refuse(reason error, account string) *Refusal {
	return &Refusal{Reason: reason, Account: account}
}
