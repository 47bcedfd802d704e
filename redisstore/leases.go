package redisstore

import (
	"context"
	"strconv"
	"time"

	"github.com/tollgate/tollgate/ratelimit"
)

// LeaseStore is the ratelimit.LeaseStore on Redis: per key, a sorted set
// of leases scored by their expiry in microseconds, so a lease whose
// holder crashed lapses by itself, and a counter that numbers them. An
// Acquire purges the lapsed leases, counts the rest and adds one, in one
// script; a Release removes one. Both keys expire with their last lease.
//
// A lease ID is the acquisition's microsecond shifted left 12 bits plus a
// per-key sequence number modulo 4096, so IDs are unique per key as long
// as fewer than 4096 leases are taken on one key within one microsecond,
// and are never reused on a real clock. Times have microsecond resolution.
//
// Get one from Store.Leases. It is safe for concurrent use; the zero value
// is not usable.
type LeaseStore struct{ s *Store }

var _ ratelimit.LeaseStore = (*LeaseStore)(nil)

// maxLeaseMicros caps a lease's TTL (about 142 years), and maxLeaseLimit
// its limit, to keep the script's arithmetic exact.
const (
	maxLeaseMicros = 1 << 52
	maxLeaseLimit  = 1 << 52
	leaseSeqBits   = 12
)

// Key returns the Redis key of the lease set prefix+key:
// "<WithPrefix>ls:{<prefix+key>}" (the counter is the same with "lc:"),
// or with WithHashTag "<WithPrefix>ls:{<tag>}<prefix+key>".
func (l *LeaseStore) Key(prefix, key string) string { return l.s.nameKey("ls", prefix, key) }

// Acquire implements ratelimit.LeaseStore.
func (l *LeaseStore) Acquire(ctx context.Context, prefix, key string, limit int64, ttl time.Duration) (ratelimit.Lease, error) {
	if limit <= 0 || ttl <= 0 {
		return ratelimit.Lease{}, ratelimit.ErrInvalidLease
	}
	var now any = ""
	if l.s.clock != nil {
		now = l.s.clock.Now().UnixMicro()
	}
	keys := []string{l.Key(prefix, key), l.s.nameKey("lc", prefix, key)}
	v, err := l.s.run(ctx, "acquire", acquireScript, keys,
		now, min(limit, maxLeaseLimit), min(micros(ttl), maxLeaseMicros), l.s.slackArg)
	if err == nil {
		err = replyError("acquire", v, 5)
	}
	if err != nil {
		return ratelimit.Lease{}, err
	}
	exp, at := time.UnixMicro(v[2]), v[3]
	if v[0] != 1 {
		return ratelimit.Lease{
			Active:     v[1],
			Limit:      limit,
			ExpiresAt:  exp,
			RetryAfter: time.Duration(v[2]-at) * time.Microsecond,
		}, nil
	}
	return ratelimit.Lease{
		Acquired:  true,
		ID:        ratelimit.LeaseID(uint64(at)<<leaseSeqBits | uint64(v[4])),
		Active:    v[1],
		Limit:     limit,
		ExpiresAt: exp,
	}, nil
}

// Release implements ratelimit.LeaseStore.
func (l *LeaseStore) Release(ctx context.Context, prefix, key string, id ratelimit.LeaseID) error {
	_, err := l.s.run(ctx, "release", releaseScript, []string{l.Key(prefix, key)}, member(id))
	return err
}

// member returns the sorted-set member of lease id: "<µs>:<seq>".
func member(id ratelimit.LeaseID) string {
	b := strconv.AppendUint(make([]byte, 0, 24), uint64(id)>>leaseSeqBits, 10)
	b = append(b, ':')
	return string(strconv.AppendUint(b, uint64(id)&(1<<leaseSeqBits-1), 10))
}
