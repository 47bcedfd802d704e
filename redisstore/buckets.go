package redisstore

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/tollgate/tollgate/ratelimit"
)

// BucketStore is the ratelimit.Store on Redis: the memory store's token
// buckets (GCRA, one theoretical arrival time per bucket, in nanoseconds)
// with the same arithmetic and the same results, decided by one Lua
// script per call. A bucket is a string key holding its arrival time,
// expiring when the bucket is full again; TakeAll takes several buckets in
// one script, all or none. Time is the server's TIME, which every replica
// shares, unless WithClock set a test clock.
//
// Get one from Store.Buckets. It is safe for concurrent use; the zero
// value is not usable.
type BucketStore struct{ s *Store }

var _ ratelimit.Store = (*BucketStore)(nil)

// Key returns the Redis key of the bucket prefix+key:
// "<WithPrefix>rl:{<prefix+key>}", or with WithHashTag
// "<WithPrefix>rl:{<tag>}<prefix+key>".
func (b *BucketStore) Key(prefix, key string) string { return b.s.nameKey("rl", prefix, key) }

// inlineCharges is how many charges a TakeAll decodes without
// allocating.
const inlineCharges = 8

// Take implements ratelimit.Store.
func (b *BucketStore) Take(ctx context.Context, c ratelimit.Charge) (ratelimit.Result, error) {
	if err := check(c.Limit, c.Cost); err != nil {
		return ratelimit.Result{}, err
	}
	charges := [1]ratelimit.Charge{c}
	var results [1]ratelimit.Result
	_, err := b.take(ctx, "take", charges[:], results[:])
	return results[0], err
}

// TakeAll implements ratelimit.Store: one script takes every charge or
// none. On Redis Cluster the buckets must share a hash tag (WithHashTag).
func (b *BucketStore) TakeAll(ctx context.Context, charges []ratelimit.Charge, results []ratelimit.Result) (bool, error) {
	if len(results) < len(charges) {
		return false, errors.New("redisstore: TakeAll: results shorter than charges")
	}
	if len(charges) == 0 {
		return true, nil
	}
	for i, c := range charges {
		if err := check(c.Limit, c.Cost); err != nil {
			return false, fmt.Errorf("charge %d (%s%s): %w", i, c.Prefix, c.Key, err)
		}
	}
	return b.take(ctx, "take", charges, results)
}

// take runs the TAKE script and fills results as the memory store would.
func (b *BucketStore) take(ctx context.Context, op string, charges []ratelimit.Charge, results []ratelimit.Result) (bool, error) {
	n := len(charges)
	cmd := b.command(charges)
	v, err := b.s.call(ctx, op, takeScript, cmd)
	if err == nil && len(v) != 3+n {
		err = replyError(op, v, 3+2*n)
	}
	if err != nil {
		return false, err
	}
	now, all := limb(v[0], v[1]), v[2] == 1
	var afterBuf [inlineCharges]int64
	after := afterBuf[:0]
	if n > inlineCharges {
		after = make([]int64, 0, n)
	}
	for i, c := range charges {
		orig := takeOffset(v, i, n)
		before := orig
		for j := i - 1; j >= 0; j-- {
			if cmd[3+j] == cmd[3+i] { // the same bucket
				before = after[j]
				break
			}
		}
		next := before + c.Cost*int64(c.Limit.Interval)
		fit := next <= int64(c.Limit.Window())
		if fit {
			after = append(after, next)
		} else {
			after = append(after, before)
		}
		switch {
		case all:
			results[i] = result(now, next, c.Limit, true, 0)
		case fit:
			results[i] = result(now, orig, c.Limit, true, 0)
		default:
			results[i] = result(now, orig, c.Limit, false, next-int64(c.Limit.Window()))
		}
	}
	return all, nil
}

// command returns the EVALSHA of TAKE for charges. Its keys are
// cmd[3:3+len(charges)].
func (b *BucketStore) command(charges []ratelimit.Charge) (cmd []any) {
	n := len(charges)
	cmd = takeScript.command(n, 3+3*n)
	for _, c := range charges {
		cmd = append(cmd, b.Key(c.Prefix, c.Key))
	}
	cmd = b.s.appendNow(cmd)
	for _, c := range charges {
		cmd = append(cmd, c.Cost*int64(c.Limit.Interval), int64(c.Limit.Window()))
	}
	return cmd
}

// takeOffset returns charge i's offset from TAKE's reply v: one number
// each from the fast path, two limbs each from the exact path.
func takeOffset(v []int64, i, n int) int64 {
	if len(v) == 3+n {
		return v[3+i]
	}
	return limb(v[3+2*i], v[4+2*i])
}

// Debit implements ratelimit.Store.
func (b *BucketStore) Debit(ctx context.Context, c ratelimit.Charge) (ratelimit.Result, error) {
	if err := c.Limit.Validate(); err != nil {
		return ratelimit.Result{}, err
	}
	w := int64(c.Limit.Window())
	args := b.s.appendNow(make([]any, 0, 5))
	args = append(args, scaled(c.Cost, int64(c.Limit.Interval)), w+int64(ratelimit.MaxDebt))
	v, err := b.s.run(ctx, "debit", debitScript, []string{b.Key(c.Prefix, c.Key)}, args...)
	if err == nil {
		err = replyError("debit", v, 4)
	}
	if err != nil {
		return ratelimit.Result{}, err
	}
	now, next := limb(v[0], v[1]), limb(v[2], v[3])
	retry := max(next-w, 0)
	return result(now, next, c.Limit, retry == 0, retry), nil
}

// appendNow appends the TAKE and DEBIT scripts' time and slack arguments:
// the test clock's reading, or empty strings for the server's TIME.
func (s *Store) appendNow(args []any) []any {
	if s.clock == nil {
		return append(args, "", "", s.slackArg)
	}
	ns := s.clock.Now().UnixNano()
	return append(args, ns/1e9, ns%1e9, s.slackArg)
}

// scaledCap bounds a debit's cost × interval: beyond it any bucket is at
// its debt limit or full, since no offset exceeds MaxWindow + MaxDebt.
const scaledCap = 1 << 62

// scaled returns cost × iv, saturated at ±scaledCap.
func scaled(cost, iv int64) int64 {
	switch {
	case cost > scaledCap/iv:
		return scaledCap
	case cost < -(scaledCap / iv):
		return -scaledCap
	}
	return cost * iv
}

// check validates a charge as every store must.
func check(l ratelimit.Limit, cost int64) error {
	if err := l.Validate(); err != nil {
		return err
	}
	if cost < 0 {
		return ratelimit.ErrInvalidCost
	}
	if cost > l.Burst {
		return ratelimit.ErrCostExceedsBurst
	}
	return nil
}

// result describes a bucket at offset off (ns of refill lacking) at now.
func result(now, off int64, l ratelimit.Limit, allowed bool, retry int64) ratelimit.Result {
	var remaining int64
	if w := int64(l.Window()); off < w {
		remaining = (w - off) / int64(l.Interval)
	}
	return ratelimit.Result{
		Allowed:    allowed,
		Limit:      l,
		Remaining:  remaining,
		ResetAt:    time.Unix(0, now+off),
		ResetAfter: time.Duration(off),
		RetryAfter: time.Duration(retry),
	}
}
