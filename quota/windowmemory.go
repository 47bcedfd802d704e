package quota

import (
	"fmt"
	"math"
	"slices"
	"sync"
	"time"
)

// MemoryWindowStore is the in-memory WindowStore: per account and limit, a
// few bucket totals and the sum of open holds, in mutex-guarded shards.
// Lapsed holds, receipts and buckets are swept by the operations
// themselves, so it starts no goroutine and needs no Close. It is safe for
// concurrent use within one process. The zero value is not ready; use
// NewMemoryWindowStore.
type MemoryWindowStore struct {
	cfg    memoryConfig
	shards [ledgerShards]windowShard
}

type windowShard struct {
	mu         sync.Mutex
	receiptTTL time.Duration
	accounts   map[string]*windowAccount
	holds      expiryHeap   // open holds by expiry
	buckets    expiryHeap   // bucket ends, to prune idle accounts
	receipts   receiptIndex // closed request IDs
}

type windowAccount struct {
	series map[string]*series
	holds  map[string]*windowHoldRecord
}

// series is one limit's usage for one account.
type series struct {
	held    int64
	buckets []bucket
}

type bucket struct{ start, end, used int64 }

type windowHoldRecord struct {
	timed
	held []heldAmount
}

type heldAmount struct {
	limit  string
	amount int64
}

var _ WindowStore = (*MemoryWindowStore)(nil)

// NewMemoryWindowStore returns an empty store. It reports a non-positive TTL.
func NewMemoryWindowStore(opts ...MemoryOption) (*MemoryWindowStore, error) {
	cfg, err := newMemoryConfig(opts)
	if err != nil {
		return nil, err
	}
	m := &MemoryWindowStore{cfg: cfg}
	for i := range m.shards {
		m.shards[i].accounts = make(map[string]*windowAccount)
		m.shards[i].receiptTTL = cfg.receiptTTL
		m.shards[i].receipts = newReceiptIndex(cfg.receiptTTL)
	}
	return m, nil
}

// MustMemoryWindowStore is NewMemoryWindowStore that panics on invalid
// options.
func MustMemoryWindowStore(opts ...MemoryOption) *MemoryWindowStore {
	m, err := NewMemoryWindowStore(opts...)
	if err != nil {
		panic(err)
	}
	return m
}

func (m *MemoryWindowStore) lock(account string, now int64) (*windowShard, *windowAccount) {
	s := &m.shards[shardOf(account, ledgerShards)]
	s.mu.Lock()
	s.sweep(now)
	return s, s.accounts[account]
}

func (s *windowShard) account(name string) *windowAccount {
	a := s.accounts[name]
	if a == nil {
		a = &windowAccount{
			series: make(map[string]*series),
			holds:  make(map[string]*windowHoldRecord),
		}
		s.accounts[name] = a
	}
	return a
}

// sweep gives back lapsed holds, forgets lapsed receipts and drops
// buckets that left their window.
func (s *windowShard) sweep(now int64) {
	for h := s.holds.peek(); h != nil && h.at <= now; h = s.holds.peek() {
		s.holds.remove(h)
		a := s.accounts[h.account]
		a.unhold(h.id)
		s.receipts.put(s.receipts.key(h.account, h.id), closedHold{expires: h.at + int64(s.receiptTTL), expired: true})
		s.forgetIfIdle(h.account, a, now)
	}
	s.receipts.sweep(now)
	for b := s.buckets.peek(); b != nil && b.at <= now; b = s.buckets.peek() {
		s.buckets.remove(b)
		if a := s.accounts[b.account]; a != nil {
			s.forgetIfIdle(b.account, a, now)
		}
	}
}

// forgetIfIdle prunes the account's lapsed buckets and drops the account
// when nothing of it is left. Its receipts live apart, keyed by account
// and request ID, so they outlive it.
func (s *windowShard) forgetIfIdle(name string, a *windowAccount, now int64) {
	for limit, se := range a.series {
		se.settled(now)
		if se.held == 0 && len(se.buckets) == 0 {
			delete(a.series, limit)
		}
	}
	if len(a.series) == 0 && len(a.holds) == 0 {
		delete(s.accounts, name)
	}
}

// unhold removes an open hold's amounts; it reports whether there was one.
func (a *windowAccount) unhold(id string) (*windowHoldRecord, bool) {
	rec, ok := a.holds[id]
	if !ok {
		return nil, false
	}
	delete(a.holds, id)
	for _, h := range rec.held {
		if se := a.series[h.limit]; se != nil {
			se.held -= h.amount
		}
	}
	return rec, true
}

// lookup returns the limit's series, or nil; a nil account has none.
func (a *windowAccount) lookup(limit string) *series {
	if a == nil {
		return nil
	}
	return a.series[limit]
}

func (a *windowAccount) seriesFor(limit string) *series {
	se := a.series[limit]
	if se == nil {
		se = &series{}
		a.series[limit] = se
	}
	return se
}

// settled drops lapsed buckets and returns the usage still counted and
// when the oldest of it lapses (zero when none).
func (se *series) settled(now int64) (sum, resets int64) {
	keep := se.buckets[:0]
	for _, b := range se.buckets {
		if b.end <= now {
			continue
		}
		keep = append(keep, b)
		sum = satAdd(sum, b.used)
		if resets == 0 || b.end < resets {
			resets = b.end
		}
	}
	clear(se.buckets[len(keep):])
	se.buckets = keep
	return sum, resets
}

// add counts x in the bucket for now; it reports a bucket it created.
func (se *series) add(w Window, now time.Time, x int64) (end int64, created bool) {
	start, stop := w.Bucket(now)
	s, e := start.UnixNano(), stop.UnixNano()
	for i := len(se.buckets) - 1; i >= 0; i-- {
		if b := &se.buckets[i]; b.start == s && b.end == e {
			b.used = satAdd(b.used, x)
			return e, false
		}
	}
	se.buckets = append(se.buckets, bucket{start: s, end: e, used: x})
	return e, true
}

// freedAt returns when enough settled usage will have left the window to
// free need: the end of the bucket that completes it, else the end of the
// last bucket, else zero.
func (se *series) freedAt(need, now int64) int64 {
	if se == nil || len(se.buckets) == 0 {
		return 0
	}
	bs := slices.Clone(se.buckets)
	slices.SortFunc(bs, func(x, y bucket) int { return cmpInt64(x.end, y.end) })
	var freed int64
	for _, b := range bs {
		if b.end <= now {
			continue
		}
		if freed = satAdd(freed, b.used); freed >= need {
			return b.end
		}
	}
	return bs[len(bs)-1].end
}

func cmpInt64(a, b int64) int {
	switch {
	case a < b:
		return -1
	case a > b:
		return 1
	}
	return 0
}

// satAdd adds non-negative amounts, saturating at the largest int64: a
// window total that large is exhausted whatever its exact value.
func satAdd(a, b int64) int64 {
	if s, err := addChecked(a, b); err == nil {
		return s
	}
	return math.MaxInt64
}

func validLimits(account, requestID string, limits []Limit, amounts Amounts) error {
	if account == "" || requestID == "" || !amounts.valid() {
		return fmt.Errorf("%w: window reserve for %q/%q", ErrInvalidArgument, account, requestID)
	}
	for i, l := range limits {
		if err := l.Validate(); err != nil {
			return err
		}
		for _, prev := range limits[:i] {
			if prev.Name == l.Name {
				return fmt.Errorf("%w: duplicate limit name %q", ErrInvalidArgument, l.Name)
			}
		}
	}
	return nil
}
