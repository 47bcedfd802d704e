package ratelimit

import (
	"context"
	"errors"
	"hash/maphash"
	"math"
	"math/bits"
	"sync"
	"time"
)

// ErrInvalidLease means an Acquire asked for a non-positive limit or lease
// duration.
var ErrInvalidLease = errors.New("ratelimit: invalid lease limit or duration")

// LeaseID identifies one lease among those held on a key. IDs are unique
// per key for as long as the lease lives; zero is never a valid ID.
type LeaseID uint64

// Lease is the outcome of an Acquire. The zero Lease is a denial with no
// information.
type Lease struct {
	// Acquired reports whether a slot was granted.
	Acquired bool
	// ID identifies the lease for Release; zero when not acquired.
	ID LeaseID
	// Active is the number of live leases on the key after the call, the
	// new one included.
	Active int64
	// Limit is the limit the decision was made with.
	Limit int64
	// ExpiresAt is when the new lease lapses if never released or, for a
	// denial, when the earliest live lease lapses.
	ExpiresAt time.Time
	// RetryAfter is, for a denial, the time until the earliest live lease
	// lapses: the longest a slot can stay taken, since a release may free
	// one sooner. Zero when acquired.
	RetryAfter time.Duration
}

// LeaseStore counts concurrent holders per key: leases acquired before a
// piece of work and released after it, each with an expiry so that a
// holder that crashed, hung or lost its connection never keeps a slot
// forever. It is a sliding-window counter too: leases that are never
// released count the events of the last ttl, which is how the penalty box
// counts failures.
//
// Keys are named as in Store: the key is prefix+key, passed apart so that
// callers never build a string per request. Implementations must be safe
// for concurrent use, apply each call atomically, and pass
// ratelimittest.RunLeases; the Redis one keeps a sorted set of lease IDs
// scored by expiry.
type LeaseStore interface {
	// Acquire grants a lease on the key, valid for ttl, when fewer than
	// limit unexpired leases are held on it. A denial changes nothing. It
	// returns ErrInvalidLease (possibly wrapped) when limit or ttl is not
	// positive, and other errors when the store fails.
	Acquire(ctx context.Context, prefix, key string, limit int64, ttl time.Duration) (Lease, error)

	// Release ends the lease id on the key. Releasing a lease that expired,
	// was already released or never existed is not an error, so a deferred
	// Release is always safe.
	Release(ctx context.Context, prefix, key string, id LeaseID) error
}

// MemoryLeaseStore is the in-memory LeaseStore: per key, the list of live
// leases (16 bytes each) in sharded maps keyed by a 64-bit hash of the key,
// with the same collision odds as MemoryStore. A key is deleted as soon as
// its last lease is released or found expired; the sets of deleted keys are
// recycled, so steady traffic allocates nothing.
//
// The number of keys is capped (WithMaxKeys). When a new key arrives at a
// full shard with no key free of live leases in a small sample, the sampled
// key whose leases all lapse soonest is forgotten: its holders' slots are
// freed early, allowing that key extra concurrent work until they finish.
//
// A MemoryLeaseStore is safe for concurrent use and starts no goroutine.
// Use NewMemoryLeaseStore; the zero value is not usable.
type MemoryLeaseStore struct {
	shards   []leaseShard
	shift    uint
	seed     maphash.Seed
	clock    nanoClock
	perShard int
}

var _ LeaseStore = (*MemoryLeaseStore)(nil)

type leaseEntry struct {
	id  LeaseID
	exp int64
}

type leaseSet struct {
	leases []leaseEntry
}

// purge drops the leases that expired by now.
func (s *leaseSet) purge(now int64) {
	keep := s.leases[:0]
	for _, l := range s.leases {
		if l.exp > now {
			keep = append(keep, l)
		}
	}
	s.leases = keep
}

// lastExpiry returns when the set's last lease lapses.
func (s *leaseSet) lastExpiry() int64 {
	var last int64
	for _, l := range s.leases {
		last = max(last, l.exp)
	}
	return last
}

type leaseShard struct {
	mu     sync.Mutex
	sets   map[uint64]*leaseSet
	free   []*leaseSet
	nextID uint64
	ops    uint32
	peak   int
	_      [8]byte
}

const maxFreeSets = 64

// NewMemoryLeaseStore returns an empty MemoryLeaseStore. It takes the same
// options as NewMemoryStore and fails only on invalid ones.
func NewMemoryLeaseStore(opts ...MemoryOption) (*MemoryLeaseStore, error) {
	cfg, err := newMemoryConfig(opts)
	if err != nil {
		return nil, err
	}
	return &MemoryLeaseStore{
		shards:   make([]leaseShard, cfg.shards),
		shift:    uint(64 - bits.TrailingZeros(uint(cfg.shards))),
		seed:     maphash.MakeSeed(),
		clock:    newNanoClock(cfg.clock),
		perShard: max(cfg.maxKeys/cfg.shards, 1),
	}, nil
}

// MustMemoryLeaseStore is NewMemoryLeaseStore that panics on invalid
// options.
func MustMemoryLeaseStore(opts ...MemoryOption) *MemoryLeaseStore {
	s, err := NewMemoryLeaseStore(opts...)
	if err != nil {
		panic(err)
	}
	return s
}

func (s *MemoryLeaseStore) shard(prefix, key string) (*leaseShard, uint64) {
	h := hashKey(s.seed, prefix, key)
	return &s.shards[h>>s.shift&uint64(len(s.shards)-1)], h
}

// Acquire implements LeaseStore.
func (s *MemoryLeaseStore) Acquire(_ context.Context, prefix, key string, limit int64, ttl time.Duration) (Lease, error) {
	if limit <= 0 || ttl <= 0 {
		return Lease{}, ErrInvalidLease
	}
	sh, h := s.shard(prefix, key)
	now := s.clock.now()
	sh.mu.Lock()
	defer sh.mu.Unlock()
	sh.tick(now)
	set := sh.sets[h]
	var active int64
	if set != nil {
		set.purge(now)
		active = int64(len(set.leases))
	}
	if active >= limit {
		first := int64(math.MaxInt64)
		for _, l := range set.leases {
			first = min(first, l.exp)
		}
		return Lease{Active: active, Limit: limit, ExpiresAt: time.Unix(0, first), RetryAfter: time.Duration(first - now)}, nil
	}
	if set == nil {
		set = sh.insert(h, now, s.perShard)
	}
	sh.nextID++
	exp := now + min(int64(ttl), math.MaxInt64-now)
	set.leases = append(set.leases, leaseEntry{id: LeaseID(sh.nextID), exp: exp})
	return Lease{Acquired: true, ID: LeaseID(sh.nextID), Active: active + 1, Limit: limit, ExpiresAt: time.Unix(0, exp)}, nil
}

// Release implements LeaseStore.
func (s *MemoryLeaseStore) Release(_ context.Context, prefix, key string, id LeaseID) error {
	sh, h := s.shard(prefix, key)
	now := s.clock.now()
	sh.mu.Lock()
	defer sh.mu.Unlock()
	set := sh.sets[h]
	if set == nil {
		return nil
	}
	for i, l := range set.leases {
		if l.id == id {
			last := len(set.leases) - 1
			set.leases[i] = set.leases[last]
			set.leases = set.leases[:last]
			break
		}
	}
	set.purge(now)
	if len(set.leases) == 0 {
		sh.remove(h, set)
	}
	return nil
}

// Len returns the number of keys holding leases, expired ones not yet
// purged included.
func (s *MemoryLeaseStore) Len() int {
	n := 0
	for i := range s.shards {
		sh := &s.shards[i]
		sh.mu.Lock()
		n += len(sh.sets)
		sh.mu.Unlock()
	}
	return n
}

// insert adds an empty set for a new key, making room at the cap.
func (sh *leaseShard) insert(h uint64, now int64, limit int) *leaseSet {
	if sh.sets == nil {
		sh.sets = make(map[uint64]*leaseSet)
	}
	if len(sh.sets) >= limit {
		sh.evict(now)
	}
	var set *leaseSet
	if n := len(sh.free); n > 0 {
		set, sh.free = sh.free[n-1], sh.free[:n-1]
	} else {
		set = &leaseSet{leases: make([]leaseEntry, 0, 2)}
	}
	sh.sets[h] = set
	sh.peak = max(sh.peak, len(sh.sets))
	return set
}

// remove deletes a key whose set is empty and keeps the set for reuse.
func (sh *leaseShard) remove(h uint64, set *leaseSet) {
	delete(sh.sets, h)
	if len(sh.free) < maxFreeSets && cap(set.leases) <= 64 {
		set.leases = set.leases[:0]
		sh.free = append(sh.free, set)
	}
}

// leaseSweepEvery and leaseSweepBatch: every leaseSweepEvery-th call on a
// shard purges leaseSweepBatch keys, which reclaims the keys whose leases
// lapse unreleased (the penalty box's failure counts, crashed holders).
// A map whose size falls below a quarter of its peak (of at least
// leaseShrinkMinPeak keys) is rebuilt, since Go maps never shrink; a full
// shard samples leaseEvictSample keys to find one to forget.
const (
	leaseSweepEvery    = 32
	leaseSweepBatch    = 32
	leaseShrinkMinPeak = 1024
	leaseEvictSample   = 16
)

// tick sweeps a few keys every leaseSweepEvery calls.
func (sh *leaseShard) tick(now int64) {
	if sh.ops++; sh.ops%leaseSweepEvery != 0 {
		return
	}
	seen := 0
	for h, set := range sh.sets {
		if seen == leaseSweepBatch {
			break
		}
		seen++
		if set.purge(now); len(set.leases) == 0 {
			sh.remove(h, set)
		}
	}
	if sh.peak >= leaseShrinkMinPeak && len(sh.sets)*4 < sh.peak {
		m := make(map[uint64]*leaseSet, len(sh.sets)*2)
		for h, set := range sh.sets {
			m[h] = set
		}
		sh.sets, sh.peak = m, len(m)
	}
}

// evict frees one key in a full shard: the sampled keys with no live lease
// or, when there are none, the one whose leases all lapse soonest.
func (sh *leaseShard) evict(now int64) {
	var victim uint64
	var victimSet *leaseSet
	soonest := int64(math.MaxInt64)
	removed, seen := false, 0
	for h, set := range sh.sets {
		if seen == leaseEvictSample {
			break
		}
		seen++
		set.purge(now)
		if len(set.leases) == 0 {
			sh.remove(h, set)
			removed = true
		} else if last := set.lastExpiry(); last < soonest {
			victim, victimSet, soonest = h, set, last
		}
	}
	if !removed && victimSet != nil {
		victimSet.leases = victimSet.leases[:0]
		sh.remove(victim, victimSet)
	}
}
