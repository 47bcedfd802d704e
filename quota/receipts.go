package quota

import (
	"encoding/binary"
	"hash/maphash"
	"math"
	"time"
)

// receiptIndex remembers how request IDs were closed, for the receipt TTL:
// an open-addressing table (linear probing) keyed by a 128-bit keyed hash
// of (account, request ID), with a 32-byte slot per receipt and, apart, a
// one-byte tag per slot (seven bits of the hash):
//
//   - The table holds a gateway's last hour of requests, millions of
//     receipts, far more than any cache. Probes walk the tags, a 33rd of
//     the table, and read a slot only on a matching tag: a reservation's
//     lookup for a duplicate usually ends on an empty tag without reading
//     any slot, and a settlement writes one slot. A Go map of the same
//     receipts read a control word and then a slot, two cache misses in a
//     table that size, and its expiry queue retained every request ID's
//     string.
//   - Slots hold no pointers, so the garbage collector never scans them,
//     and no receipt keeps its request ID's string alive: a receipt costs
//     44 to 88 bytes while traffic grows or holds (the table is 3/8 to 3/4
//     full), however long the ID, plus the old table's share while one is
//     being moved; a table emptying at 1/8 full halves.
//   - A sweep cursor walks the table and drops what lapsed, so there is
//     no expiry queue and no goroutine. Each operation sweeps a few slots
//     and, after a quiet spell, its share of the time since the last one:
//     at least a whole pass per receipt TTL however few operations come,
//     so memory comes back when traffic falls. No sweep runs before the
//     earliest receipt can have lapsed.
//   - The table doubles at 3/4 full and halves below 1/8, moving the old
//     table's slots a few per operation (as many as the sweep's share when
//     that is more), so no operation pays for copying the whole table: a
//     shard stays responsive while it grows.
//   - New receipts wait in a small pending buffer and are written to the
//     table receiptPending at a time. Each write lands at a random place
//     in a table of megabytes, a cache and TLB miss, and the shard's
//     unlock makes the processor wait for a store still missing: written
//     one per settlement, every settlement waited for its own miss; a batch
//     lets the misses overlap (the ledger's reserve + settle, 0.84×; 16
//     and 64 at a time gained less). Lookups read the buffer first,
//     through a 256-bit filter, so a receipt is found the moment it is put.
//
// Two keys collide with probability 2⁻¹²⁸ per pair; the seeds are random
// per index, so no client can aim for a collision.
type receiptIndex struct {
	seeds  [2]maphash.Seed
	ttl    int64 // the receipt TTL, in nanoseconds: a whole pass per ttl
	cur    receiptTable
	cursor int   // the sweep's next slot in cur
	last   int64 // when the last sweep ran

	// old is the table being moved into cur, from oldPos on; empty when
	// none is.
	old    receiptTable
	oldPos int

	// due is at most the earliest expiry of any receipt, so that no
	// sweep runs before one can have lapsed (during a deployment's first
	// receipt TTL, and whenever traffic has paused); passDue is the
	// earliest expiry seen since the cursor last wrapped, due's next value.
	due, passDue int64

	// pend holds the newest receipts, pendN of them, not yet in cur: no
	// key twice, each newer than any receipt for its key in the tables.
	// pendBits has the bit pendBit(k) set for each; pendDue is at most
	// their earliest expiry.
	pend     [receiptPending]receiptSlot
	pendN    int
	pendBits [4]uint64
	pendDue  int64
}

// receiptPending is the pending buffer's size: 32 slots, a kilobyte per
// index.
const receiptPending = 32

// pendBit is the bit of the pending filter for k, from bits the table's
// slot and tag do not use.
func pendBit(k receiptKey) (word int, bit uint64) {
	b := k[1] & 255
	return int(b >> 6), 1 << (b & 63)
}

// receiptKey is the 128-bit keyed hash of an (account, request ID) pair.
type receiptKey [2]uint64

// tag is the key's tag in the table: the top seven bits of its second
// word (the first word picks the slot), with the high bit set so that no
// tag is zero, the mark of an empty slot.
func (k receiptKey) tag() uint8 { return uint8(k[1]>>57) | 0x80 }

// closedHold is a receipt: how a request ID was closed. A hold that
// lapsed leaves an expired receipt, so that its ID stays reserved and a
// late Settle still charges (and then replaces it with a settled one).
type closedHold struct {
	charged int64
	expires int64
	expired bool
}

// chargedExpired marks an expired receipt in a slot's charged field, which
// is never negative for a charge.
const chargedExpired = -1

// receiptSlot is one slot of a table.
type receiptSlot struct {
	key     receiptKey
	charged int64
	expires int64
}

// receiptTable is the storage: tags[i] is zero when slots[i] is empty.
// Its length is a power of two.
type receiptTable struct {
	tags  []uint8
	slots []receiptSlot
	n     int // receipts held
}

func newReceiptTable(size int) receiptTable {
	return receiptTable{tags: make([]uint8, size), slots: make([]receiptSlot, size)}
}

const (
	minReceiptSlots = 64 // a power of two
	// Each operation moves at least this many slots of an old table and
	// sweeps at least this many of the current one. Moving 16 per
	// operation empties an old table before the new one, twice its size,
	// can fill.
	receiptMoveStep  = 16
	receiptSweepStep = 8
	// receiptSweepMax bounds what one operation sweeps for the time that
	// passed since the last: about 20 µs of work under the shard's lock.
	receiptSweepMax = 16 << 10
)

// newReceiptIndex returns an empty index for receipts that live ttl.
func newReceiptIndex(ttl time.Duration) receiptIndex {
	return receiptIndex{
		seeds:   [2]maphash.Seed{maphash.MakeSeed(), maphash.MakeSeed()},
		ttl:     max(int64(ttl), 1),
		cur:     newReceiptTable(minReceiptSlots),
		due:     math.MaxInt64,
		passDue: math.MaxInt64,
		pendDue: math.MaxInt64,
	}
}

// key hashes the pair, the account's length first so that no two pairs
// hash the same bytes. Pairs that fit are laid out on the stack and hashed
// in one call per seed; longer ones are streamed.
func (x *receiptIndex) key(account, id string) receiptKey {
	var buf [192]byte
	if n := 8 + len(account) + len(id); n <= len(buf) {
		binary.LittleEndian.PutUint64(buf[:], uint64(len(account)))
		copy(buf[8+copy(buf[8:], account):], id)
		return receiptKey{maphash.Bytes(x.seeds[0], buf[:n]), maphash.Bytes(x.seeds[1], buf[:n])}
	}
	var k receiptKey
	for i := range k {
		var h maphash.Hash
		h.SetSeed(x.seeds[i])
		_, _ = h.Write(binary.LittleEndian.AppendUint64(buf[:0], uint64(len(account))))
		_, _ = h.WriteString(account)
		_, _ = h.WriteString(id)
		k[i] = h.Sum64()
	}
	return k
}

// find returns k's slot, or -1.
func (t *receiptTable) find(k receiptKey) int {
	if t.n == 0 {
		return -1
	}
	mask, tag := len(t.tags)-1, k.tag()
	for i := int(k[0]) & mask; ; i = (i + 1) & mask {
		switch t.tags[i] {
		case tag:
			if t.slots[i].key == k {
				return i
			}
		case 0:
			return -1
		}
	}
}

// insert places a receipt; an existing one is replaced only when replace
// is set.
func (t *receiptTable) insert(k receiptKey, charged, expires int64, replace bool) {
	mask, tag := len(t.tags)-1, k.tag()
	for i := int(k[0]) & mask; ; i = (i + 1) & mask {
		switch t.tags[i] {
		case tag:
			if s := &t.slots[i]; s.key == k {
				if replace {
					s.charged, s.expires = charged, expires
				}
				return
			}
		case 0:
			t.tags[i] = tag
			t.slots[i] = receiptSlot{key: k, charged: charged, expires: expires}
			t.n++
			return
		}
	}
}

// remove empties slot i, shifting back the receipts after it that probed
// past it, so that every lookup still finds its receipt.
func (t *receiptTable) remove(i int) {
	mask := len(t.tags) - 1
	for j := (i + 1) & mask; t.tags[j] != 0; j = (j + 1) & mask {
		home := int(t.slots[j].key[0]) & mask
		if (j-home)&mask >= (j-i)&mask {
			t.tags[i], t.slots[i] = t.tags[j], t.slots[j]
			i = j
		}
	}
	t.tags[i], t.slots[i] = 0, receiptSlot{}
	t.n--
}

// get returns the receipt for k when it is still live at now.
func (x *receiptIndex) get(k receiptKey, now int64) (closedHold, bool) {
	var s receiptSlot
	if i := x.pending(k); i >= 0 {
		s = x.pend[i]
	} else {
		t := &x.cur
		i := t.find(k)
		if i < 0 && x.old.tags != nil {
			t = &x.old
			i = t.find(k)
		}
		if i < 0 {
			return closedHold{}, false
		}
		s = t.slots[i]
	}
	rc := closedHold{charged: max(s.charged, 0), expires: s.expires, expired: s.charged == chargedExpired}
	return rc, rc.expires > now
}

// pending returns k's place in the pending buffer, or -1.
func (x *receiptIndex) pending(k receiptKey) int {
	if w, bit := pendBit(k); x.pendBits[w]&bit == 0 {
		return -1
	}
	for i := range x.pend[:x.pendN] {
		if x.pend[i].key == k {
			return i
		}
	}
	return -1
}

// put records rc under k, replacing any receipt k had. It goes to the
// pending buffer, which is written to the table when full.
func (x *receiptIndex) put(k receiptKey, rc closedHold) {
	charged := rc.charged
	if rc.expired {
		charged = chargedExpired
	}
	x.pendDue = min(x.pendDue, rc.expires)
	if i := x.pending(k); i >= 0 {
		x.pend[i].charged, x.pend[i].expires = charged, rc.expires
		return
	}
	x.pend[x.pendN] = receiptSlot{key: k, charged: charged, expires: rc.expires}
	x.pendN++
	w, bit := pendBit(k)
	x.pendBits[w] |= bit
	if x.pendN == receiptPending {
		x.flush()
	}
}

// flush writes the pending receipts to the table, replacing older ones.
// Each moves its share of an old table and may start a resize, as a
// receipt written alone would.
func (x *receiptIndex) flush() {
	for i := range x.pend[:x.pendN] {
		x.move(receiptMoveStep)
		if x.old.tags == nil && (x.cur.n+1)*4 > len(x.cur.tags)*3 {
			x.resize(2 * len(x.cur.tags))
		}
		s := &x.pend[i]
		x.insert(s.key, s.charged, s.expires, true)
	}
	x.pendN, x.pendBits, x.pendDue = 0, [4]uint64{}, math.MaxInt64
}

// insert places a receipt in cur, keeping due a lower bound.
func (x *receiptIndex) insert(k receiptKey, charged, expires int64, replace bool) {
	x.due, x.passDue = min(x.due, expires), min(x.passDue, expires)
	x.cur.insert(k, charged, expires, replace)
}

// resize starts moving every receipt into a table of the given size.
func (x *receiptIndex) resize(size int) {
	x.old, x.oldPos = x.cur, 0
	x.cur, x.cursor, x.passDue = newReceiptTable(size), 0, math.MaxInt64
}

// move moves the next n slots of the old table, if any, into cur. A
// receipt already in cur was written since, so it is newer and stays.
func (x *receiptIndex) move(n int) {
	if x.old.tags == nil {
		return
	}
	end := min(x.oldPos+n, len(x.old.tags))
	for i := x.oldPos; i < end; i++ {
		if x.old.tags[i] != 0 {
			s := &x.old.slots[i]
			x.insert(s.key, s.charged, s.expires, false)
			x.old.n--
		}
	}
	x.oldPos = end
	if end == len(x.old.tags) {
		x.old, x.oldPos = receiptTable{}, 0
	}
}

// sweep moves part of the old table, if any, forgets the receipts that
// lapsed by now among the next slots of the current one, and starts
// shrinking a table that is less than 1/8 full. It sweeps
// receiptSweepStep slots, plus the table's share of the time since the
// last sweep (a whole table per TTL), up to receiptSweepMax. Pending
// receipts are flushed to the table once one of them can have lapsed, so
// that sweeps forget them too when traffic stops.
func (x *receiptIndex) sweep(now int64) {
	if x.pendDue <= now {
		x.flush()
	}
	n := receiptSweepStep
	if now > x.last && x.last != 0 {
		share := float64(len(x.cur.tags)) * float64(now-x.last) / float64(x.ttl)
		n += int(min(share, receiptSweepMax))
	}
	x.last = max(x.last, now)
	x.move(max(n, receiptMoveStep))
	t := &x.cur
	if x.old.tags == nil && len(t.tags) > minReceiptSlots && t.n*8 < len(t.tags) {
		x.resize(len(t.tags) / 2)
	}
	if now < x.due {
		return
	}
	mask := len(t.tags) - 1
	for range n {
		i := x.cursor
		if t.tags[i] != 0 {
			e := t.slots[i].expires
			if e <= now {
				t.remove(i) // may move a later receipt into i: look at i again
				continue
			}
			x.passDue = min(x.passDue, e)
		}
		if x.cursor = (i + 1) & mask; x.cursor == 0 && x.old.tags == nil {
			// A whole pass saw every receipt: its earliest expiry is due's.
			x.due, x.passDue = x.passDue, math.MaxInt64
		}
	}
}

// len returns the number of receipts kept, lapsed ones not yet swept
// included; a receipt written again while an older one for its key is
// still in the old table (during a resize) or in the table (while the
// new one is pending) counts twice.
func (x *receiptIndex) len() int { return x.cur.n + x.old.n + x.pendN }
