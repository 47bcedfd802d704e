package redisstore

import (
	"context"
	"fmt"
	"strconv"
	"time"

	"github.com/tollgate/tollgate/quota"
)

// WindowStore is the quota.WindowStore on Redis. Per account, a hash holds
// the open holds (their amounts per limit name), the held sums per limit
// and the receipts, with a sorted set of their expiries; per account and
// limit, a hash counts settled usage in the buckets the limit's Window
// names, each field expiring, with its key, when its bucket leaves the
// window. All of an account's keys share its hash tag. Every method is
// one Lua script; the calendar arithmetic stays in Go (quota.Window.Bucket)
// and reaches the script as bucket bounds. Times are stored in
// microseconds.
//
// Get one from Store.Windows. It is safe for concurrent use; the zero
// value is not usable.
type WindowStore struct{ s *Store }

var _ quota.WindowStore = (*WindowStore)(nil)

// Key returns the Redis key of an account's usage of one limit:
// "<WithPrefix>wu:{<account>}:<limit>"; its holds and receipts are under
// "wh:{<account>}" and their expiries under "wt:{<account>}".
func (w *WindowStore) Key(account, limit string) string { return w.s.key("wu", account, ":"+limit) }

func (w *WindowStore) keys(account string, limits []quota.Limit) []string {
	keys := make([]string, 0, 2+len(limits))
	keys = append(keys, w.s.key("wh", account, ""), w.s.key("wt", account, ""))
	for _, l := range limits {
		keys = append(keys, w.Key(account, l.Name))
	}
	return keys
}

// Reserve implements quota.WindowStore.
func (w *WindowStore) Reserve(ctx context.Context, account string, limits []quota.Limit, amounts quota.Amounts, requestID string, now time.Time) (quota.WindowHold, error) {
	if err := validLimits(account, requestID, limits, amounts); err != nil {
		return quota.WindowHold{}, err
	}
	t := now.UnixMicro()
	exp := t + micros(w.s.holdTTL)
	args := make([]any, 0, 6+3*len(limits))
	args = append(args, t, requestID, exp, token(), micros(w.s.receiptTTL), w.s.keyTTL())
	for _, l := range limits {
		args = append(args, l.Name, l.Max, amounts.Of(l.Unit))
	}
	v, err := w.s.run(ctx, "window reserve", wreserveScript, w.keys(account, limits), args...)
	if err == nil {
		err = replyError("window reserve", v, 1)
	}
	if err != nil {
		return quota.WindowHold{}, err
	}
	switch {
	case v[0] == 0 && len(v) == 1+3*len(limits):
		return quota.WindowHold{
			Account: account, RequestID: requestID, Limits: limits, Amounts: amounts,
			Expires: time.UnixMicro(exp), Usage: usages(v[1:], limits),
		}, nil
	case v[0] == 1:
		return quota.WindowHold{}, &quota.Refusal{Reason: quota.ErrDuplicateRequest, Account: account}
	case v[0] == 2 && len(v) == 5 && v[1] >= 1 && int(v[1]) <= len(limits):
		l := limits[v[1]-1]
		return quota.WindowHold{}, &quota.Refusal{
			Reason: quota.ErrQuotaExceeded, Account: account, Limit: l.Name, Max: l.Max,
			Used: limb(v[2], v[3]), Amount: amounts.Of(l.Unit), RetryAfter: time.Duration(v[4]) * time.Microsecond,
		}
	}
	return quota.WindowHold{}, &Error{Op: "window reserve", Err: errReply}
}

// Settle implements quota.WindowStore.
func (w *WindowStore) Settle(ctx context.Context, h quota.WindowHold, actual quota.Amounts, now time.Time) (bool, error) {
	if err := validHold(h); err != nil {
		return false, err
	}
	if !validAmounts(actual) {
		return false, fmt.Errorf("%w: negative actual %+v", quota.ErrInvalidArgument, actual)
	}
	return w.close(ctx, "window settle", h, &actual, now)
}

// Release implements quota.WindowStore.
func (w *WindowStore) Release(ctx context.Context, h quota.WindowHold, now time.Time) (bool, error) {
	if err := validHold(h); err != nil {
		return false, err
	}
	return w.close(ctx, "window release", h, nil, now)
}

// close runs the WCLOSE script, counting actual in the buckets of now
// unless it is nil.
func (w *WindowStore) close(ctx context.Context, op string, h quota.WindowHold, actual *quota.Amounts, now time.Time) (bool, error) {
	t := now.UnixMicro()
	args := make([]any, 0, 6+3*len(h.Limits))
	args = append(args, t, h.RequestID, t+micros(w.s.receiptTTL), micros(w.s.receiptTTL), w.s.keyTTL(), w.s.slackArg)
	for _, l := range h.Limits {
		start, end := l.Window.Bucket(now)
		field := strconv.FormatInt(start.UnixMicro(), 10) + ":" + strconv.FormatInt(end.UnixMicro(), 10)
		x := ""
		if actual != nil {
			x = strconv.FormatInt(actual.Of(l.Unit), 10)
		}
		args = append(args, field, end.UnixMicro(), x)
	}
	v, err := w.s.run(ctx, op, wcloseScript, w.keys(h.Account, h.Limits), args...)
	if err == nil {
		err = replyError(op, v, 1)
	}
	if err != nil {
		return false, err
	}
	return v[0] == 1, nil
}

// Usage implements quota.WindowStore.
func (w *WindowStore) Usage(ctx context.Context, account string, limits []quota.Limit, now time.Time) ([]quota.LimitUsage, error) {
	if err := validLimits(account, "-", limits, quota.Amounts{}); err != nil {
		return nil, err
	}
	args := make([]any, 0, 2+len(limits))
	args = append(args, now.UnixMicro(), micros(w.s.receiptTTL))
	for _, l := range limits {
		args = append(args, l.Name)
	}
	v, err := w.s.run(ctx, "window usage", wusageScript, w.keys(account, limits), args...)
	if err == nil {
		err = replyError("window usage", v, 3*len(limits))
	}
	if err != nil {
		return nil, err
	}
	return usages(v, limits), nil
}

// usages decodes the scripts' per-limit usage: used (two limbs) and the
// reset in µs, zero when nothing is settled.
func usages(v []int64, limits []quota.Limit) []quota.LimitUsage {
	out := make([]quota.LimitUsage, len(limits))
	for i, l := range limits {
		out[i] = quota.LimitUsage{Limit: l.Name, Unit: l.Unit, Max: l.Max, Used: limb(v[3*i], v[3*i+1])}
		if r := v[3*i+2]; r != 0 {
			out[i].Resets = time.UnixMicro(r)
		}
	}
	return out
}

func validAmounts(a quota.Amounts) bool { return a.Requests >= 0 && a.Tokens >= 0 && a.Money >= 0 }

// validLimits checks Reserve's and Usage's arguments as the memory store
// does.
func validLimits(account, requestID string, limits []quota.Limit, amounts quota.Amounts) error {
	if account == "" || requestID == "" || !validAmounts(amounts) {
		return fmt.Errorf("%w: window reserve for %q/%q", quota.ErrInvalidArgument, account, requestID)
	}
	for i, l := range limits {
		if err := l.Validate(); err != nil {
			return err
		}
		for _, prev := range limits[:i] {
			if prev.Name == l.Name {
				return fmt.Errorf("%w: duplicate limit name %q", quota.ErrInvalidArgument, l.Name)
			}
		}
	}
	return nil
}

// validHold checks the hold Settle and Release are given.
func validHold(h quota.WindowHold) error {
	if h.Account == "" || h.RequestID == "" || !validAmounts(h.Amounts) {
		return fmt.Errorf("%w: window hold %q/%q", quota.ErrInvalidArgument, h.Account, h.RequestID)
	}
	return validLimits(h.Account, h.RequestID, h.Limits, h.Amounts)
}
