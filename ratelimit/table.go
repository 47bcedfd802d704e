package ratelimit

// table maps 64-bit key hashes to int64 values: a bucketized cuckoo hash
// table. Each key may live in one of two buckets of four slots, and a
// bucket (four hashes, then four values) fills one 64-byte cache line, so
// a lookup reads at most two lines and a slot costs 16 bytes. Cuckoo
// tables stay fast up to 90% full, and this one grows by half when it gets
// there, so it is never less than 60% full after growing: 18 to 27 bytes
// per key, where a Go map of the same pairs, which doubles, needs up to 39.
//
// A zero hash marks an empty slot; callers never store hash 0 (hashKey
// maps it to 1). A sweep cursor walks the buckets in order, so repeated
// small sweeps visit every key. table is not safe for concurrent use; a
// shard's mutex guards it.
type table struct {
	b      []bucket
	n      int
	cursor int
	kick   uint32
}

const (
	slots      = 4
	minBuckets = 4
	maxKicks   = 128
	// The table grows when it would pass maxLoadPct percent full and
	// shrinks, on a sweep, below minLoadPct percent.
	maxLoadPct = 90
	minLoadPct = 20
)

type bucket struct {
	h [slots]uint64
	v [slots]int64
}

// index returns the two buckets h may live in: one from its low 32 bits,
// one from a remix of all 64 (the shard already used the top bits).
func (t *table) index(h uint64) (int, int) {
	nb := uint64(len(t.b))
	b1 := (h & 0xffffffff) * nb >> 32
	b2 := (h * 0x9e3779b97f4a7c15 >> 32) * nb >> 32
	if b2 == b1 {
		b2++
		if b2 == nb {
			b2 = 0
		}
	}
	return int(b1), int(b2)
}

// find returns the bucket and slot holding h, or a nil bucket.
func (t *table) find(h uint64) (*bucket, int) {
	if len(t.b) == 0 {
		return nil, 0
	}
	b1, b2 := t.index(h)
	for _, bi := range [2]int{b1, b2} {
		bk := &t.b[bi]
		for i := range slots {
			if bk.h[i] == h {
				return bk, i
			}
		}
	}
	return nil, 0
}

// set stores v under h, inserting h when absent.
func (t *table) set(h uint64, v int64) {
	if bk, i := t.find(h); bk != nil {
		bk.v[i] = v
		return
	}
	t.insert(h, v)
}

// insert adds h, which must be absent.
func (t *table) insert(h uint64, v int64) {
	if (t.n+1)*100 > len(t.b)*slots*maxLoadPct {
		t.resize(grown(len(t.b)))
	}
	for {
		var ok bool
		if h, v, ok = t.place(h, v); ok {
			t.n++
			return
		}
		t.resize(grown(len(t.b)))
	}
}

func grown(nb int) int { return max(minBuckets, nb+nb/2) }

// place puts an entry in a free slot of one of its buckets, displacing
// entries along a cuckoo path when both are full. When the path is too
// long it returns the entry left without a slot (not necessarily the one
// it was given) and false.
func (t *table) place(h uint64, v int64) (uint64, int64, bool) {
	b1, b2 := t.index(h)
	if t.putFree(b1, h, v) || t.putFree(b2, h, v) {
		return 0, 0, true
	}
	cur := b1
	if t.kick&1 == 1 {
		cur = b2
	}
	for range maxKicks {
		t.kick++
		i := int(t.kick % slots)
		bk := &t.b[cur]
		h, bk.h[i] = bk.h[i], h
		v, bk.v[i] = bk.v[i], v
		a1, a2 := t.index(h)
		next := a1
		if next == cur {
			next = a2
		}
		if t.putFree(next, h, v) {
			return 0, 0, true
		}
		cur = next
	}
	return h, v, false
}

func (t *table) putFree(bi int, h uint64, v int64) bool {
	bk := &t.b[bi]
	for i := range slots {
		if bk.h[i] == 0 {
			bk.h[i], bk.v[i] = h, v
			return true
		}
	}
	return false
}

// resize rehashes every entry into nb buckets (more, if they do not fit).
func (t *table) resize(nb int) {
	old := t.b
	for {
		t.b = make([]bucket, nb)
		if t.rehash(old) {
			break
		}
		nb = grown(nb)
	}
	t.cursor = 0
}

func (t *table) rehash(old []bucket) bool {
	for bi := range old {
		for i := range slots {
			if h := old[bi].h[i]; h != 0 {
				if _, _, ok := t.place(h, old[bi].v[i]); !ok {
					return false
				}
			}
		}
	}
	return true
}

// remove empties a slot that find returned.
func (t *table) remove(bk *bucket, i int) {
	bk.h[i], bk.v[i] = 0, 0
	t.n--
}

// sweep walks up to nb buckets from the cursor, deletes the entries whose
// value is at most limit, and returns how many it deleted. It shrinks the
// table when it ends up less than minLoadPct percent full.
func (t *table) sweep(limit int64, nb int) int {
	removed := 0
	for range min(nb, len(t.b)) {
		bk := &t.b[t.cursor]
		for i := range slots {
			if bk.h[i] != 0 && bk.v[i] <= limit {
				t.remove(bk, i)
				removed++
			}
		}
		if t.cursor++; t.cursor == len(t.b) {
			t.cursor = 0
		}
	}
	if len(t.b) > minBuckets && t.n*100 < len(t.b)*slots*minLoadPct {
		t.resize(max(minBuckets, t.n*2/slots))
	}
	return removed
}

// evict makes room for one entry: walking the buckets from the cursor
// until it has seen at least keys entries (or the whole table), it deletes
// every entry whose value is at most limit or, when there is none, the
// entry with the lowest value. Sampling a number of entries rather than of
// buckets keeps the sample's size whatever the table's load. It reports
// whether it deleted a live entry.
func (t *table) evict(limit int64, keys int) bool {
	var victim *bucket
	vi, removed, seen := 0, 0, 0
	for range len(t.b) {
		bk := &t.b[t.cursor]
		for i := range slots {
			if bk.h[i] == 0 {
				continue
			}
			seen++
			switch {
			case bk.v[i] <= limit:
				t.remove(bk, i)
				removed++
			case victim == nil || bk.v[i] < victim.v[vi]:
				victim, vi = bk, i
			}
		}
		if t.cursor++; t.cursor == len(t.b) {
			t.cursor = 0
		}
		if seen >= keys {
			break
		}
	}
	if removed > 0 || victim == nil {
		return false
	}
	t.remove(victim, vi)
	return true
}
