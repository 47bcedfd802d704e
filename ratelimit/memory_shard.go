package ratelimit

import (
	"hash/maphash"
	"sync"
)

// Sweeping constants, in buckets of four keys. Every new key sweeps
// insertSweep buckets (4 keys examined per insert, which keeps the share
// of full buckets awaiting deletion small even when every call brings a
// new key), and every opsSweepEvery-th call sweeps opsSweep more, so that
// steady traffic on known keys also returns memory. The cursor walks the
// whole table, so every idle key is found within one pass. A new key at
// the cap samples evictSample keys for the one to forget.
const (
	insertSweep   = 1
	opsSweepEvery = 64
	opsSweep      = 2
	evictSample   = 32
)

// memShard is one independently locked part of a MemoryStore, padded so
// that two cores working on neighbouring shards do not share a cache line.
type memShard struct {
	mu        sync.Mutex
	t         table
	ops       uint32
	evictions uint64
	_         [56]byte
}

// update stores a bucket's new offset after a call that found it at (bk,
// i) (bk nil when absent): nothing when it did not change, a delete when it
// is full, an insert for a new key.
func (sh *memShard) update(h uint64, bk *bucket, i int, off, next, now int64, limit int) {
	switch {
	case next == off:
		if bk != nil && off == 0 {
			sh.t.remove(bk, i) // a full bucket we happened to touch
		}
	case next == 0:
		if bk != nil {
			sh.t.remove(bk, i)
		}
	case bk != nil:
		bk.v[i] = now + next
	default:
		sh.insert(h, now+next, now, limit)
	}
	if sh.ops++; sh.ops%opsSweepEvery == 0 {
		sh.t.sweep(now, opsSweep)
	}
}

// insert adds a new key, making room first when the shard is at its cap.
func (sh *memShard) insert(h uint64, tat, now int64, limit int) {
	if sh.t.n < limit {
		sh.t.sweep(now, insertSweep)
	} else if sh.t.evict(now, evictSample) {
		sh.evictions++
	}
	sh.t.insert(h, tat)
}

// set writes a bucket's offset by hash, for TakeAll, whose earlier writes
// may have moved entries.
func (sh *memShard) set(h uint64, off, next, now int64, limit int) {
	bk, i := sh.t.find(h)
	sh.update(h, bk, i, off, next, now, limit)
}

// hashKey returns the seeded hash of prefix+key without building that
// string (maphash guarantees the hash of a byte sequence does not depend
// on how it is split), never 0, which marks an empty slot.
func hashKey(seed maphash.Seed, prefix, key string) uint64 {
	var h uint64
	switch {
	case prefix == "":
		h = maphash.String(seed, key)
	case len(prefix)+len(key) <= 128:
		var buf [128]byte
		n := copy(buf[:], prefix)
		n += copy(buf[n:], key)
		h = maphash.Bytes(seed, buf[:n])
	default:
		var mh maphash.Hash
		mh.SetSeed(seed)
		mh.WriteString(prefix)
		mh.WriteString(key)
		h = mh.Sum64()
	}
	if h == 0 {
		h = 1
	}
	return h
}

// offset returns the offset of the bucket found at (bk, i) at time now.
func (sh *memShard) offset(bk *bucket, i int, now int64) int64 {
	if bk == nil {
		return 0
	}
	return offset(bk.v[i], now)
}
