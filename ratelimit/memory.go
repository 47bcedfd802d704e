package ratelimit

import (
	"context"
	"errors"
	"fmt"
	"hash/maphash"
	"math/bits"
	"time"

	"github.com/tollgate/tollgate"
)

// MemoryStore is the in-memory Store: token buckets in sharded hash tables
// (bucketized cuckoo tables of 64-byte buckets), one int64 per key (the
// bucket's theoretical arrival time) under a 64-bit hash of the key, 18 to
// 27 bytes per key in all. Every method is O(1),
// allocates nothing and never blocks on anything but a shard's mutex; the
// context is ignored.
//
// Idle keys cost nothing for long: a bucket that is full again is
// indistinguishable from a missing one, so it is deleted when next touched
// and by a sweep amortised over the store's traffic (4 entries per new key,
// 8 per 64 calls). Eviction therefore changes no answer.
// Call Sweep to purge every full bucket at once.
//
// The number of keys is capped (WithMaxKeys). When a new key arrives at a
// full shard and no idle key can be found there, the key closest to full
// among a sample of 32 is forgotten. That key's next request finds a full
// bucket: it regains at most the tokens it had spent, once. Keys spending
// heavily are the least likely to be chosen, since their buckets are the
// furthest from full, so under a flood of random keys the cap costs an
// attacker's throwaway keys first and the legitimate heavy users last.
// The cap never denies a request and never fails one.
//
// Keys are identified by a seeded 64-bit hash (hash/maphash, a fresh random
// seed per store), not kept: two keys whose hashes collide would share a
// bucket. With n keys the chance of any collision is about n²/2⁶⁵ — one
// in 370,000 with ten million keys — and the seed keeps an attacker from
// aiming for one.
//
// A MemoryStore is safe for concurrent use and starts no goroutine. Use
// NewMemoryStore; the zero value is not usable.
type MemoryStore struct {
	shards   []memShard
	shift    uint
	seed     maphash.Seed
	clock    nanoClock
	perShard int
}

var _ Store = (*MemoryStore)(nil)

// DefaultMaxKeys is the memory stores' key cap unless WithMaxKeys says
// otherwise: about 30 MB of buckets at most.
const DefaultMaxKeys = 1 << 20

const defaultShards = 128

// MemoryOption configures NewMemoryStore and NewMemoryLeaseStore. A nil
// MemoryOption is ignored; an invalid one makes the constructor fail.
type MemoryOption func(*memoryConfig)

type memoryConfig struct {
	clock   tollgate.Clock
	maxKeys int
	shards  int
}

// WithClock makes the store read time from c instead of the system clock;
// tests pass a tollgatetest.Clock. A nil c means the system clock.
func WithClock(c tollgate.Clock) MemoryOption {
	return func(m *memoryConfig) { m.clock = c }
}

// WithMaxKeys caps the number of keys the store holds (DefaultMaxKeys
// unless set). n must be positive.
func WithMaxKeys(n int) MemoryOption {
	return func(m *memoryConfig) { m.maxKeys = n }
}

// WithShards sets the number of independently locked shards, a power of
// two between 1 and 65536 (128 unless set). The store uses fewer when the
// key cap is too small to give each shard 64 keys.
func WithShards(n int) MemoryOption {
	return func(m *memoryConfig) { m.shards = n }
}

func newMemoryConfig(opts []MemoryOption) (memoryConfig, error) {
	cfg := memoryConfig{maxKeys: DefaultMaxKeys, shards: defaultShards}
	for _, o := range opts {
		if o != nil {
			o(&cfg)
		}
	}
	if cfg.maxKeys <= 0 {
		return cfg, fmt.Errorf("ratelimit: WithMaxKeys(%d): must be positive", cfg.maxKeys)
	}
	if cfg.shards < 1 || cfg.shards > 1<<16 || cfg.shards&(cfg.shards-1) != 0 {
		return cfg, fmt.Errorf("ratelimit: WithShards(%d): must be a power of two in [1, 65536]", cfg.shards)
	}
	for cfg.shards > 1 && cfg.maxKeys/cfg.shards < 64 {
		cfg.shards /= 2
	}
	return cfg, nil
}

// NewMemoryStore returns an empty MemoryStore. It fails only on invalid
// options.
func NewMemoryStore(opts ...MemoryOption) (*MemoryStore, error) {
	cfg, err := newMemoryConfig(opts)
	if err != nil {
		return nil, err
	}
	return &MemoryStore{
		shards:   make([]memShard, cfg.shards),
		shift:    uint(64 - bits.TrailingZeros(uint(cfg.shards))),
		seed:     maphash.MakeSeed(),
		clock:    newNanoClock(cfg.clock),
		perShard: max(cfg.maxKeys/cfg.shards, 1),
	}, nil
}

// MustMemoryStore is NewMemoryStore that panics on invalid options, for
// use in program initialisation.
func MustMemoryStore(opts ...MemoryOption) *MemoryStore {
	s, err := NewMemoryStore(opts...)
	if err != nil {
		panic(err)
	}
	return s
}

// shard returns the shard and map key of a bucket.
func (s *MemoryStore) shard(prefix, key string) (*memShard, uint64) {
	h := hashKey(s.seed, prefix, key)
	return &s.shards[s.shardIndex(h)], h
}

// shardIndex picks a shard by the hash's top bits; the map inside it
// rehashes the whole value.
func (s *MemoryStore) shardIndex(h uint64) int {
	return int(h >> s.shift & uint64(len(s.shards)-1))
}

// Take implements Store.
func (s *MemoryStore) Take(_ context.Context, c Charge) (Result, error) {
	if err := check(c.Limit, c.Cost); err != nil {
		return Result{}, err
	}
	sh, h := s.shard(c.Prefix, c.Key)
	now := s.clock.now()
	sh.mu.Lock()
	bk, i := sh.t.find(h)
	off := sh.offset(bk, i, now)
	next, res := takeResult(now, off, c.Limit, c.Cost)
	sh.update(h, bk, i, off, next, now, s.perShard)
	sh.mu.Unlock()
	return res, nil
}

// Debit implements Store.
func (s *MemoryStore) Debit(_ context.Context, c Charge) (Result, error) {
	if err := c.Limit.Validate(); err != nil {
		return Result{}, err
	}
	sh, h := s.shard(c.Prefix, c.Key)
	now := s.clock.now()
	sh.mu.Lock()
	bk, i := sh.t.find(h)
	off := sh.offset(bk, i, now)
	next, res := debitResult(now, off, c.Limit, c.Cost)
	sh.update(h, bk, i, off, next, now, s.perShard)
	sh.mu.Unlock()
	return res, nil
}

// Len returns the number of buckets the store holds, full ones not yet
// swept included.
func (s *MemoryStore) Len() int {
	n := 0
	for i := range s.shards {
		sh := &s.shards[i]
		sh.mu.Lock()
		n += sh.t.n
		sh.mu.Unlock()
	}
	return n
}

// Evicted returns how many keys with live buckets the key cap has made the
// store forget: zero unless the cap has bitten. A growing count means the
// cap is too small for the traffic, or the store is under a flood of keys.
func (s *MemoryStore) Evicted() uint64 {
	var n uint64
	for i := range s.shards {
		sh := &s.shards[i]
		sh.mu.Lock()
		n += sh.evictions
		sh.mu.Unlock()
	}
	return n
}

// Sweep deletes every bucket that is full again and returns how many it
// deleted. The store sweeps by itself as it is used; Sweep is for callers
// that want memory back at a moment of their choosing. It locks one shard
// at a time.
func (s *MemoryStore) Sweep() int {
	now := s.clock.now()
	n := 0
	for i := range s.shards {
		sh := &s.shards[i]
		sh.mu.Lock()
		n += sh.t.sweep(now, len(sh.t.b))
		sh.mu.Unlock()
	}
	return n
}

var errShortResults = errors.New("ratelimit: TakeAll: results shorter than charges")

// wrapCharge names the charge at fault in a multi-charge call.
func wrapCharge(i int, c Charge, err error) error {
	return fmt.Errorf("charge %d (%s%s): %w", i, c.Prefix, c.Key, err)
}

// nanoClock reads the time as Unix nanoseconds. With no clock (or the
// system clock) it reads only the monotonic clock, offset from a wall-clock
// reading taken at construction: one vDSO call instead of two, and immune
// to wall-clock steps, which would otherwise refill or drain every bucket
// at once. With any other tollgate.Clock (a test's manual clock) it asks
// that clock.
type nanoClock struct {
	clock    tollgate.Clock
	base     time.Time
	baseWall int64
}

func newNanoClock(c tollgate.Clock) nanoClock {
	switch c.(type) {
	case nil, tollgate.SystemClock, *tollgate.SystemClock:
		t := time.Now()
		return nanoClock{base: t, baseWall: t.UnixNano()}
	}
	return nanoClock{clock: c}
}

func (c *nanoClock) now() int64 {
	if c.clock != nil {
		return c.clock.Now().UnixNano()
	}
	return c.baseWall + int64(time.Since(c.base))
}
