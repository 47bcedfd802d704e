package redisstore

import (
	"context"
	"fmt"
	"math/rand/v2"
	"strconv"
	"time"

	"github.com/tollgate/tollgate/quota"
)

// Ledger is the quota.Ledger on Redis. Each account is a hash (balance,
// held sum, open holds and receipts by request ID) and a sorted set of
// the holds' and receipts' expiries, both tagged by the account so that
// they share a cluster slot, plus a hash of credit references. Every
// method is one Lua script that first sweeps what lapsed by the caller's
// now: a lapsed hold gives its amount back and leaves a receipt, so that
// its request ID stays taken and a late Settle still charges. Times are
// stored in microseconds; Hold.Expires is rounded to them.
//
// Nothing is kept in the process: any replica may settle a hold another
// placed. The balance of an account never expires — it is money; an
// account whose balance is zero lapses once its holds and receipts have
// (hold TTL plus receipt TTL after its last write); credit references live
// for WithCreditTTL after the account's last credit.
//
// Get one from Store.Ledger. It is safe for concurrent use; the zero value
// is not usable.
type Ledger struct{ s *Store }

var _ quota.Ledger = (*Ledger)(nil)

// Key returns the Redis key of an account's hash:
// "<WithPrefix>qa:{<account>}"; its expiries are under "qt:" and its
// credit references under "qc:".
func (l *Ledger) Key(account string) string { return l.s.key("qa", account, "") }

func (l *Ledger) keys(account string) []string {
	return []string{l.Key(account), l.s.key("qt", account, "")}
}

// keyTTL is how long, in ms, an account without money outlives its last
// write: by then every hold and receipt in it has lapsed.
func (s *Store) keyTTL() int64 {
	return (s.holdTTL + s.receiptTTL).Milliseconds() + s.slackMs
}

// token identifies one Reserve call, so that the script recognises the
// same call retried by the client after a lost reply.
func token() string { return strconv.FormatUint(rand.Uint64(), 36) }

// Reserve implements quota.Ledger.
func (l *Ledger) Reserve(ctx context.Context, account string, amount int64, requestID string, now time.Time) (quota.Hold, error) {
	if account == "" || requestID == "" || amount < 0 {
		return quota.Hold{}, fmt.Errorf("%w: reserve %d for %q/%q", quota.ErrInvalidArgument, amount, account, requestID)
	}
	t := now.UnixMicro()
	exp := t + micros(l.s.holdTTL)
	v, err := l.s.run(ctx, "reserve", reserveScript, l.keys(account),
		t, amount, requestID, exp, token(), micros(l.s.receiptTTL), l.s.keyTTL())
	if err == nil {
		err = replyError("reserve", v, 3)
	}
	if err != nil {
		return quota.Hold{}, err
	}
	x := limb(v[1], v[2])
	switch v[0] {
	case 0:
		return quota.Hold{Account: account, RequestID: requestID, Amount: amount, Available: x, Expires: time.UnixMicro(exp)}, nil
	case 1:
		return quota.Hold{}, &quota.Refusal{Reason: quota.ErrDuplicateRequest, Account: account}
	case 2:
		return quota.Hold{}, &quota.Refusal{Reason: quota.ErrAccountOverdue, Account: account, Balance: x, Amount: amount}
	case 3:
		return quota.Hold{}, &quota.Refusal{Reason: quota.ErrCreditRequired, Account: account, Amount: amount}
	case 4:
		return quota.Hold{}, &quota.Refusal{Reason: quota.ErrInsufficientBalance, Account: account, Balance: x, Amount: amount}
	}
	return quota.Hold{}, &Error{Op: "reserve", Err: errReply}
}

// Settle implements quota.Ledger.
func (l *Ledger) Settle(ctx context.Context, h quota.Hold, actual int64, now time.Time) (quota.Receipt, error) {
	if h.Account == "" || h.RequestID == "" || h.Amount < 0 || actual < 0 {
		return quota.Receipt{}, fmt.Errorf("%w: settle %d for %q/%q", quota.ErrInvalidArgument, actual, h.Account, h.RequestID)
	}
	return l.close(ctx, "settle", h, actual, now)
}

// Release implements quota.Ledger.
func (l *Ledger) Release(ctx context.Context, h quota.Hold, now time.Time) (quota.Receipt, error) {
	if h.Account == "" || h.RequestID == "" || h.Amount < 0 {
		return quota.Receipt{}, fmt.Errorf("%w: release %q/%q", quota.ErrInvalidArgument, h.Account, h.RequestID)
	}
	return l.close(ctx, "release", h, 0, now)
}

// close runs the CLOSE script: the shared body of Settle and Release.
func (l *Ledger) close(ctx context.Context, op string, h quota.Hold, charge int64, now time.Time) (quota.Receipt, error) {
	t := now.UnixMicro()
	v, err := l.s.run(ctx, op, closeScript, l.keys(h.Account),
		t, h.RequestID, charge, t+micros(l.s.receiptTTL), micros(l.s.receiptTTL), l.s.keyTTL())
	if err == nil {
		err = replyError(op, v, 5)
	}
	if err != nil {
		return quota.Receipt{}, err
	}
	switch v[0] {
	case 0, 1:
		return quota.Receipt{Amount: limb(v[1], v[2]), Balance: limb(v[3], v[4]), Replayed: v[0] == 1}, nil
	case 2:
		return quota.Receipt{}, fmt.Errorf("%s %d for %q/%q: %w", op, charge, h.Account, h.RequestID, quota.ErrOverflow)
	}
	return quota.Receipt{}, &Error{Op: op, Err: errReply}
}

// Balance implements quota.Ledger.
func (l *Ledger) Balance(ctx context.Context, account string, now time.Time) (quota.Funds, error) {
	if account == "" {
		return quota.Funds{}, fmt.Errorf("%w: empty account", quota.ErrInvalidArgument)
	}
	v, err := l.s.run(ctx, "balance", balanceScript, l.keys(account),
		now.UnixMicro(), micros(l.s.receiptTTL), l.s.keyTTL())
	if err == nil {
		err = replyError("balance", v, 5)
	}
	if err != nil {
		return quota.Funds{}, err
	}
	return quota.Funds{Balance: limb(v[0], v[1]), Held: limb(v[2], v[3]), Holds: int(v[4])}, nil
}

// Credit implements quota.Ledger.
func (l *Ledger) Credit(ctx context.Context, account string, amount int64, reference string) (quota.Receipt, error) {
	if account == "" || reference == "" || amount <= 0 {
		return quota.Receipt{}, fmt.Errorf("%w: credit %d to %q as %q", quota.ErrInvalidArgument, amount, account, reference)
	}
	keys := append(l.keys(account), l.s.key("qc", account, ""))
	v, err := l.s.run(ctx, "credit", creditScript, keys,
		amount, reference, l.s.creditTTL.Milliseconds(), l.s.keyTTL())
	if err == nil {
		err = replyError("credit", v, 3)
	}
	if err != nil {
		return quota.Receipt{}, err
	}
	x := limb(v[1], v[2])
	switch v[0] {
	case 0, 1:
		return quota.Receipt{Amount: amount, Balance: x, Replayed: v[0] == 1}, nil
	case 2:
		return quota.Receipt{}, fmt.Errorf("%w: %q was %d, now %d", quota.ErrReferenceConflict, reference, x, amount)
	case 3:
		return quota.Receipt{}, fmt.Errorf("credit %d to %q: %w", amount, account, quota.ErrOverflow)
	}
	return quota.Receipt{}, &Error{Op: "credit", Err: errReply}
}
