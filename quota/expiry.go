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

// receiptQueue is a FIFO of receipts in the order they were written. All
// receipts live equally long, so the front lapses first (up to callers'
// clock skew, which only delays reclaiming memory: lookups compare each
// receipt's own expiry). It is a list of fixed-size blocks, so that
// pushing never copies the queue, as growing one slice would, and a
// drained block is kept for the next push.
type receiptQueue struct {
	head, tail *receiptBlock
	next       int // the index of the front entry in head
	size       int
	spare      *receiptBlock
}

// receiptBlockLen is the number of entries in a block: 128 of 48 bytes.
const receiptBlockLen = 128

type receiptBlock struct {
	items [receiptBlockLen]timed
	n     int
	link  *receiptBlock
}

func (q *receiptQueue) push(e timed) {
	if q.tail == nil || q.tail.n == receiptBlockLen {
		b := q.spare
		if b != nil {
			q.spare = nil
		} else {
			b = new(receiptBlock)
		}
		if q.tail == nil {
			q.head, q.next = b, 0
		} else {
			q.tail.link = b
		}
		q.tail = b
	}
	q.tail.items[q.tail.n] = e
	q.tail.n++
	q.size++
}

// popDue returns the front entry when it has lapsed at now.
func (q *receiptQueue) popDue(now int64) (timed, bool) {
	b := q.head
	if b == nil || q.next == b.n || b.items[q.next].at > now {
		return timed{}, false
	}
	e := b.items[q.next]
	b.items[q.next] = timed{}
	q.next++
	q.size--
	if q.next == receiptBlockLen {
		q.head, q.next = b.link, 0
		if q.head == nil {
			q.tail = nil
		}
		b.n, b.link = 0, nil
		q.spare = b
	}
	return e, true
}

// len returns the number of entries queued.
func (q *receiptQueue) len() int { return q.size }

// shardOf picks one of n shards for an account (FNV-1a).
func shardOf(account string, n int) int {
	h := uint32(2166136261)
	for i := 0; i < len(account); i++ {
		h ^= uint32(account[i])
		h *= 16777619
	}
	return int(h % uint32(n))
}
