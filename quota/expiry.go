package quota

import (
	"fmt"
	"time"
)

// Defaults of the memory stores.
const (
	// DefaultHoldTTL is how long a hold lives when neither settled nor
	// released: long enough for a long streamed answer, short enough that
	// a crashed request gives its money back the same hour.
	DefaultHoldTTL = 15 * time.Minute
	// DefaultReceiptTTL is how long a settled or released request ID is
	// remembered, so that retried settlements are replays and a reused
	// request ID is refused.
	DefaultReceiptTTL = time.Hour
)

// MemoryOption configures NewMemoryLedger and NewMemoryWindowStore.
type MemoryOption func(*memoryConfig)

type memoryConfig struct {
	holdTTL    time.Duration
	receiptTTL time.Duration
}

// WithHoldTTL sets how long an unsettled hold lives (DefaultHoldTTL).
func WithHoldTTL(d time.Duration) MemoryOption {
	return func(c *memoryConfig) { c.holdTTL = d }
}

// WithReceiptTTL sets how long a closed request ID is remembered
// (DefaultReceiptTTL).
func WithReceiptTTL(d time.Duration) MemoryOption {
	return func(c *memoryConfig) { c.receiptTTL = d }
}

func newMemoryConfig(opts []MemoryOption) (memoryConfig, error) {
	c := memoryConfig{holdTTL: DefaultHoldTTL, receiptTTL: DefaultReceiptTTL}
	for _, o := range opts {
		o(&c)
	}
	if c.holdTTL <= 0 || c.receiptTTL <= 0 {
		return c, fmt.Errorf("%w: hold TTL %v and receipt TTL %v must be positive", ErrInvalidArgument, c.holdTTL, c.receiptTTL)
	}
	return c, nil
}

// timed is an entry that lapses at a given instant (Unix nanoseconds): an
// open hold, kept in a min-heap by expiry, or a receipt.
type timed struct {
	account string
	id      string
	at      int64
	index   int // position in the heap; -1 once removed
}

// expiryHeap is a min-heap of entries by expiry. It is written out rather
// than built on container/heap to avoid boxing every push and pop.
type expiryHeap []*timed

func (h *expiryHeap) push(e *timed) {
	e.index = len(*h)
	*h = append(*h, e)
	h.up(e.index)
}

// remove takes e out of the heap; it does nothing when e is not in it.
func (h *expiryHeap) remove(e *timed) {
	i := e.index
	if i < 0 || i >= len(*h) || (*h)[i] != e {
		return
	}
	last := len(*h) - 1
	h.swap(i, last)
	(*h)[last] = nil
	*h = (*h)[:last]
	e.index = -1
	if i < last {
		h.down(i)
		h.up(i)
	}
}

// peek returns the entry that lapses first, or nil.
func (h expiryHeap) peek() *timed {
	if len(h) == 0 {
		return nil
	}
	return h[0]
}

func (h expiryHeap) swap(i, j int) {
	h[i], h[j] = h[j], h[i]
	h[i].index, h[j].index = i, j
}

func (h expiryHeap) up(i int) {
	for i > 0 {
		p := (i - 1) / 2
		if h[p].at <= h[i].at {
			return
		}
		h.swap(i, p)
		i = p
	}
}

func (h expiryHeap) down(i int) {
	for {
		l := 2*i + 1
		if l >= len(h) {
			return
		}
		m := l
		if r := l + 1; r < len(h) && h[r].at < h[l].at {
			m = r
		}
		if h[i].at <= h[m].at {
			return
		}
		h.swap(i, m)
		i = m
	}
}

// shardOf picks one of n shards for an account (FNV-1a).
func shardOf(account string, n int) int {
	h := uint32(2166136261)
	for i := 0; i < len(account); i++ {
		h ^= uint32(account[i])
		h *= 16777619
	}
	return int(h % uint32(n))
}
