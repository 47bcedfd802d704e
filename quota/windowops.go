package quota

import (
	"context"
	"fmt"
	"time"
)

// Reserve implements WindowStore.
func (m *MemoryWindowStore) Reserve(ctx context.Context, account string, limits []Limit, amounts Amounts, requestID string, now time.Time) (WindowHold, error) {
	if err := validLimits(account, requestID, limits, amounts); err != nil {
		return WindowHold{}, err
	}
	if err := ctx.Err(); err != nil {
		return WindowHold{}, err
	}
	t := now.UnixNano()
	s, a := m.lock(account, t)
	defer s.mu.Unlock()
	if a != nil {
		if _, open := a.holds[requestID]; open {
			return WindowHold{}, refuse(ErrDuplicateRequest, account)
		}
	}
	if _, closed := s.receipts.get(s.receipts.key(account, requestID), t); closed {
		return WindowHold{}, refuse(ErrDuplicateRequest, account)
	}
	usage, err := checkLimits(a, account, limits, amounts, t)
	if err != nil {
		return WindowHold{}, err
	}
	a = s.account(account)
	expires := now.Add(m.cfg.holdTTL)
	rec := &windowHoldRecord{timed: timed{account: account, id: requestID, at: expires.UnixNano()}, held: make([]heldAmount, len(limits))}
	for i, l := range limits {
		x := amounts.Of(l.Unit)
		se := a.seriesFor(l.Name)
		se.held = satAdd(se.held, x)
		rec.held[i] = heldAmount{limit: l.Name, amount: x}
		usage[i].Used = satAdd(usage[i].Used, x)
	}
	a.holds[requestID] = rec
	s.holds.push(&rec.timed)
	return WindowHold{Account: account, RequestID: requestID, Limits: limits, Amounts: amounts, Expires: expires, Usage: usage}, nil
}

// checkLimits returns every limit's usage before the hold, or a refusal
// for the limit that frees up last when one has no room.
func checkLimits(a *windowAccount, account string, limits []Limit, amounts Amounts, now int64) ([]LimitUsage, error) {
	usage := usageOf(a, limits, now)
	var worst *Refusal
	for i, l := range limits {
		used, x := usage[i].Used, amounts.Of(l.Unit)
		if x <= l.Max-used {
			continue
		}
		wait := time.Second
		if at := a.lookup(l.Name).freedAt(satAdd(used, x)-l.Max, now); at > now {
			wait = max(time.Duration(at-now), time.Second)
		}
		if worst == nil || wait > worst.RetryAfter {
			worst = refuse(ErrQuotaExceeded, account)
			worst.Limit, worst.Max, worst.Used, worst.Amount, worst.RetryAfter = l.Name, l.Max, used, x, wait
		}
	}
	if worst != nil {
		return nil, worst
	}
	return usage, nil
}

// Settle implements WindowStore.
func (m *MemoryWindowStore) Settle(ctx context.Context, h WindowHold, actual Amounts, now time.Time) (bool, error) {
	if err := validWindowHold(h); err != nil {
		return false, err
	}
	if !actual.valid() {
		return false, fmt.Errorf("%w: negative actual %+v", ErrInvalidArgument, actual)
	}
	return m.close(ctx, h, &actual, now)
}

// Release implements WindowStore.
func (m *MemoryWindowStore) Release(ctx context.Context, h WindowHold, now time.Time) (bool, error) {
	if err := validWindowHold(h); err != nil {
		return false, err
	}
	return m.close(ctx, h, nil, now)
}

// close ends a hold, counting actual when it is not nil.
func (m *MemoryWindowStore) close(ctx context.Context, h WindowHold, actual *Amounts, now time.Time) (bool, error) {
	if err := ctx.Err(); err != nil {
		return false, err
	}
	t := now.UnixNano()
	s, _ := m.lock(h.Account, t)
	defer s.mu.Unlock()
	key := s.receipts.key(h.Account, h.RequestID)
	if rc, ok := s.receipts.get(key, t); ok && !rc.expired {
		return true, nil
	}
	a := s.account(h.Account)
	if rec, ok := a.unhold(h.RequestID); ok {
		s.holds.remove(&rec.timed)
	}
	if actual != nil {
		for _, l := range h.Limits {
			x := actual.Of(l.Unit)
			if x == 0 {
				continue
			}
			if end, created := a.seriesFor(l.Name).add(l.Window, now, x); created {
				s.buckets.push(&timed{account: h.Account, at: end})
			}
		}
	}
	s.receipts.put(key, closedHold{expires: now.Add(m.cfg.receiptTTL).UnixNano()})
	s.forgetIfIdle(h.Account, a, t)
	return false, nil
}

// Usage implements WindowStore.
func (m *MemoryWindowStore) Usage(ctx context.Context, account string, limits []Limit, now time.Time) ([]LimitUsage, error) {
	if err := validLimits(account, "-", limits, Amounts{}); err != nil {
		return nil, err
	}
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	t := now.UnixNano()
	s, a := m.lock(account, t)
	defer s.mu.Unlock()
	return usageOf(a, limits, t), nil
}

// usageOf reports every limit's usage without checking room.
func usageOf(a *windowAccount, limits []Limit, now int64) []LimitUsage {
	out := make([]LimitUsage, len(limits))
	for i, l := range limits {
		out[i] = LimitUsage{Limit: l.Name, Unit: l.Unit, Max: l.Max}
		se := a.lookup(l.Name)
		if se == nil {
			continue
		}
		sum, resets := se.settled(now)
		out[i].Used = satAdd(sum, se.held)
		if resets != 0 {
			out[i].Resets = time.Unix(0, resets)
		}
	}
	return out
}
