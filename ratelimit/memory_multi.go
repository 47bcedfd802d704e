package ratelimit

import (
	"context"
	"slices"
)

// inlineCharges is how many charges TakeAll handles without allocating.
const inlineCharges = 8

// staged is one charge of a TakeAll in progress: its bucket, the bucket's
// offset before the call, before this charge (after the earlier charges to
// the same bucket) and after it.
type staged struct {
	sh                  *memShard
	idx                 int
	h                   uint64
	orig, before, after int64
	fit                 bool
}

// TakeAll implements Store. It locks every shard involved, in a fixed
// order, for the duration of the call, so the decision is atomic.
func (s *MemoryStore) TakeAll(ctx context.Context, charges []Charge, results []Result) (bool, error) {
	if len(results) < len(charges) {
		return false, errShortResults
	}
	switch len(charges) {
	case 0:
		return true, nil
	case 1:
		r, err := s.Take(ctx, charges[0])
		results[0] = r
		return r.Allowed, err
	}
	for i, c := range charges {
		if err := check(c.Limit, c.Cost); err != nil {
			return false, wrapCharge(i, c, err)
		}
	}
	var buf [inlineCharges]staged
	st := buf[:0]
	if len(charges) > inlineCharges {
		st = make([]staged, 0, len(charges))
	}
	for _, c := range charges {
		h := hashKey(s.seed, c.Prefix, c.Key)
		i := s.shardIndex(h)
		st = append(st, staged{sh: &s.shards[i], idx: i, h: h})
	}
	var locked [inlineCharges]int
	defer s.unlockAll(s.lockAll(st, locked[:]))

	now := s.clock.now()
	all := stage(st, charges, now)
	for i, c := range charges {
		g := &st[i]
		if all {
			g.sh.set(g.h, g.before, g.after, now, s.perShard)
			results[i] = result(now, g.after, c.Limit, true, 0)
			continue
		}
		var retry int64
		if !g.fit {
			next, _ := fits(g.before, c.Limit, c.Cost)
			retry = next - int64(c.Limit.Window())
		}
		results[i] = result(now, g.orig, c.Limit, g.fit, retry)
	}
	return all, nil
}

// stage works out, without writing anything, what each charge would do
// after the charges before it, and reports whether they all fit.
func stage(st []staged, charges []Charge, now int64) bool {
	all := true
	for i, c := range charges {
		g := &st[i]
		bk, j := g.sh.t.find(g.h)
		g.orig = g.sh.offset(bk, j, now)
		g.before = g.orig
		for j := i - 1; j >= 0; j-- {
			if st[j].h == g.h {
				g.before = st[j].after
				break
			}
		}
		g.after, g.fit = fits(g.before, c.Limit, c.Cost)
		if !g.fit {
			g.after = g.before
			all = false
		}
	}
	return all
}

// lockAll locks the distinct shards of st in index order, which every
// TakeAll follows, so two calls never wait for each other in a cycle. It
// returns the locked indices, for unlockAll, in buf when they fit.
func (s *MemoryStore) lockAll(st []staged, buf []int) []int {
	idx := buf[:0]
	for _, g := range st {
		if !slices.Contains(idx, g.idx) {
			idx = append(idx, g.idx)
		}
	}
	slices.Sort(idx)
	for _, i := range idx {
		s.shards[i].mu.Lock()
	}
	return idx
}

// unlockAll unlocks what lockAll locked.
func (s *MemoryStore) unlockAll(idx []int) {
	for i := len(idx) - 1; i >= 0; i-- {
		s.shards[idx[i]].mu.Unlock()
	}
}
