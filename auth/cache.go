package auth

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/tollgate/tollgate"
)

// Defaults of NewCachedStore.
const (
	// DefaultCacheTTL is how long a found key is remembered: also the
	// longest a revocation in the backing store can go unnoticed.
	DefaultCacheTTL = time.Minute
	// DefaultNegativeCacheTTL is how long an unknown key is remembered.
	DefaultNegativeCacheTTL = 10 * time.Second
	// DefaultCacheMaxEntries bounds found keys, and separately unknown
	// keys, held at once.
	DefaultCacheMaxEntries = 100_000
)

// evictScan bounds how many entries one insertion into a full cache looks
// at for expired ones before it evicts an arbitrary entry.
const evictScan = 32

var errStorePanicked = errors.New("auth: key store panicked during a shared lookup")

// CachedStore wraps a slow KeyStore (a database, a remote service) with an
// in-memory cache:
//
//   - found keys are remembered for a TTL, so a revocation made in the
//     backing store takes up to that long to be seen (call Invalidate to
//     make it immediate);
//   - unknown keys are remembered for a shorter negative TTL, so a client
//     retrying a bad key, or spraying random ones, does not reach the store
//     on every request;
//   - concurrent lookups of one uncached key share a single call to the
//     store (single flight), so a burst of requests with a new key makes
//     one lookup;
//   - store errors are never cached.
//
// Found and unknown keys are kept in separate maps, each bounded by the
// maximum entry count, so a flood of unknown keys cannot push out the valid
// ones. The cache starts no goroutine, so it needs no Close: expired
// entries are replaced on use and evicted when room is needed. A
// CachedStore is safe for concurrent use. The zero value is not usable;
// build one with NewCachedStore.
type CachedStore struct {
	store      KeyStore
	clock      tollgate.Clock
	ttl        time.Duration
	negTTL     time.Duration
	maxEntries int

	mu      sync.RWMutex
	found   map[KeyHash]cacheEntry
	missing map[KeyHash]cacheEntry
	// dropped counts the entries evicted from found and from missing
	// since each map was last rebuilt; see insert.
	dropped [2]int
	// gen counts invalidations, so that a lookup that started before one
	// does not store its possibly stale answer after it.
	gen uint64

	flightMu sync.Mutex
	flights  map[KeyHash]*flight
}

type cacheEntry struct {
	principal *Principal
	expires   time.Time
}

type flight struct {
	done      chan struct{}
	principal *Principal
	err       error
}

// CacheOption configures NewCachedStore; options are applied in order, so
// a later one wins.
type CacheOption func(*CachedStore)

// CacheTTL sets how long a found key is remembered (default one minute).
func CacheTTL(d time.Duration) CacheOption { return func(c *CachedStore) { c.ttl = d } }

// NegativeCacheTTL sets how long an unknown key is remembered (default ten
// seconds); zero turns negative caching off.
func NegativeCacheTTL(d time.Duration) CacheOption {
	return func(c *CachedStore) { c.negTTL = d }
}

// CacheMaxEntries bounds the number of found keys, and separately of
// unknown keys, held at once (default 100 000 each).
func CacheMaxEntries(n int) CacheOption { return func(c *CachedStore) { c.maxEntries = n } }

// CacheClock sets the clock that expires entries (default the system
// clock); tests pass a manual one.
func CacheClock(clock tollgate.Clock) CacheOption {
	return func(c *CachedStore) { c.clock = clock }
}

// NewCachedStore returns store behind a cache configured by opts. It fails
// when store is nil, the TTL is not positive, the negative TTL is negative
// or the entry bound is not positive.
func NewCachedStore(store KeyStore, opts ...CacheOption) (*CachedStore, error) {
	c := &CachedStore{
		store:      store,
		ttl:        DefaultCacheTTL,
		negTTL:     DefaultNegativeCacheTTL,
		maxEntries: DefaultCacheMaxEntries,
		found:      make(map[KeyHash]cacheEntry),
		missing:    make(map[KeyHash]cacheEntry),
		flights:    make(map[KeyHash]*flight),
	}
	for _, o := range opts {
		o(c)
	}
	switch {
	case store == nil:
		return nil, errors.New("auth: NewCachedStore needs a store")
	case c.ttl <= 0:
		return nil, fmt.Errorf("auth: cache TTL must be positive, got %v", c.ttl)
	case c.negTTL < 0:
		return nil, fmt.Errorf("auth: negative cache TTL must not be negative, got %v", c.negTTL)
	case c.maxEntries <= 0:
		return nil, fmt.Errorf("auth: cache size must be positive, got %d", c.maxEntries)
	}
	c.clock = tollgate.ClockOrSystem(c.clock)
	return c, nil
}

// MustCachedStore is NewCachedStore that panics on invalid configuration,
// for use at start-up.
func MustCachedStore(store KeyStore, opts ...CacheOption) *CachedStore {
	c, err := NewCachedStore(store, opts...)
	if err != nil {
		panic(err)
	}
	return c
}

// Lookup returns the cached answer for hash while it is fresh, and
// otherwise asks the wrapped store, sharing the call with any concurrent
// lookup of the same hash. If the caller that made the shared call gave up
// (its context ended), the others retry rather than fail with its error.
func (c *CachedStore) Lookup(ctx context.Context, hash KeyHash) (*Principal, error) {
	if p, ok, err := c.cached(hash); ok {
		return p, err
	}
	for {
		c.flightMu.Lock()
		if f, ok := c.flights[hash]; ok {
			c.flightMu.Unlock()
			select {
			case <-f.done:
			case <-ctx.Done():
				return nil, ctx.Err()
			}
			if isContextError(f.err) && ctx.Err() == nil {
				continue
			}
			return f.principal, f.err
		}
		// Another caller may have finished a lookup since we checked.
		if p, ok, err := c.cached(hash); ok {
			c.flightMu.Unlock()
			return p, err
		}
		f := &flight{done: make(chan struct{})}
		c.flights[hash] = f
		c.flightMu.Unlock()
		c.lead(ctx, hash, f)
		return f.principal, f.err
	}
}

// lead makes the shared call. Waiters are released even if the store
// panics; the panic then carries on up the leader's stack.
func (c *CachedStore) lead(ctx context.Context, hash KeyHash, f *flight) {
	c.mu.RLock()
	gen := c.gen
	c.mu.RUnlock()
	completed := false
	defer func() {
		if !completed {
			f.err = errStorePanicked
		}
		c.flightMu.Lock()
		delete(c.flights, hash)
		c.flightMu.Unlock()
		close(f.done)
	}()
	p, err := c.store.Lookup(ctx, hash)
	if err == nil && p == nil {
		err = ErrKeyNotFound
	}
	f.principal, f.err = p, err
	completed = true
	c.remember(hash, p, err, gen)
}

func (c *CachedStore) cached(hash KeyHash) (*Principal, bool, error) {
	now := c.clock.Now()
	c.mu.RLock()
	defer c.mu.RUnlock()
	if e, ok := c.found[hash]; ok && now.Before(e.expires) {
		return e.principal, true, nil
	}
	if e, ok := c.missing[hash]; ok && now.Before(e.expires) {
		return nil, true, ErrKeyNotFound
	}
	return nil, false, nil
}

func (c *CachedStore) remember(hash KeyHash, p *Principal, err error, gen uint64) {
	if err != nil && !errors.Is(err, ErrKeyNotFound) {
		return
	}
	now := c.clock.Now()
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.gen != gen {
		return
	}
	if err == nil {
		delete(c.missing, hash)
		c.found = c.insert(c.found, &c.dropped[0], hash, cacheEntry{principal: p, expires: now.Add(c.ttl)}, now)
		return
	}
	delete(c.found, hash)
	if c.negTTL > 0 {
		c.missing = c.insert(c.missing, &c.dropped[1], hash, cacheEntry{expires: now.Add(c.negTTL)}, now)
	}
}

// insert adds e to m, first making room when m is full: it drops expired
// entries among a few it looks at, and failing that an arbitrary one (Go's
// map iteration starts at a random place). *dropped counts those
// evictions. It returns the map to use from then on: once a map has
// evicted as many entries as it may hold, its live entries are copied into
// a fresh one, because a Go map keeps the slots of deleted entries and,
// under endless eviction, grows without bound (golang/go#70886) — a flood
// of random keys would otherwise make a bounded cache use ever more
// memory. The copy costs O(maxEntries) once per maxEntries evictions.
// c.mu must be held.
func (c *CachedStore) insert(m map[KeyHash]cacheEntry, dropped *int, hash KeyHash, e cacheEntry, now time.Time) map[KeyHash]cacheEntry {
	if _, ok := m[hash]; !ok && len(m) >= c.maxEntries {
		scanned, n := 0, len(m)
		for k, old := range m {
			if !now.Before(old.expires) {
				delete(m, k)
			}
			if scanned++; scanned >= evictScan {
				break
			}
		}
		if len(m) >= c.maxEntries {
			for k := range m {
				delete(m, k)
				break
			}
		}
		if *dropped += n - len(m); *dropped >= c.maxEntries {
			m, *dropped = rebuild(m, now), 0
		}
	}
	m[hash] = e
	return m
}

// rebuild returns a fresh map holding m's unexpired entries.
func rebuild(m map[KeyHash]cacheEntry, now time.Time) map[KeyHash]cacheEntry {
	fresh := make(map[KeyHash]cacheEntry, len(m)+1)
	for k, e := range m {
		if now.Before(e.expires) {
			fresh[k] = e
		}
	}
	return fresh
}

// Invalidate forgets what the cache knows about hash, so the next lookup
// asks the store: call it when a key is revoked or changed.
func (c *CachedStore) Invalidate(hash KeyHash) {
	c.mu.Lock()
	delete(c.found, hash)
	delete(c.missing, hash)
	c.gen++
	c.mu.Unlock()
}

// Purge forgets every cached answer.
func (c *CachedStore) Purge() {
	c.mu.Lock()
	clear(c.found)
	clear(c.missing)
	c.gen++
	c.mu.Unlock()
}

// Len returns the number of found and of unknown keys currently held,
// expired ones included until they are replaced or evicted.
func (c *CachedStore) Len() (found, unknown int) {
	c.mu.RLock()
	defer c.mu.RUnlock()
	return len(c.found), len(c.missing)
}

func isContextError(err error) bool {
	return errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded)
}
