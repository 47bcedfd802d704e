package quota

import (
	"context"
	"encoding/binary"
	"hash/maphash"
	"math"
	"math/rand/v2"
	"runtime"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// The key tells pairs apart wherever the account ends and the ID begins,
// and two indexes (two seeds) hash the same pair differently.
func TestReceiptKey(t *testing.T) {
	x, y := newReceiptIndex(time.Hour), newReceiptIndex(time.Hour)
	long := strings.Repeat("x", 200)
	pairs := [][2]string{{"ab", "c"}, {"a", "bc"}, {"abc", ""}, {"", "abc"}, {"a\x00", "b"}, {"a", "\x00b"},
		{long, "id"}, {long + "i", "d"}, {"acct", long}, {"acct" + long[:92], long[:92]}}
	seen := map[receiptKey][2]string{}
	for _, p := range pairs {
		k := x.key(p[0], p[1])
		assert.Equal(t, k, x.key(p[0], p[1]), "stable")
		if 8+len(p[0])+len(p[1]) > 192 {
			var h maphash.Hash // the streamed form hashes the same bytes
			h.SetSeed(x.seeds[0])
			_, _ = h.Write(binary.LittleEndian.AppendUint64(nil, uint64(len(p[0]))))
			_, _ = h.WriteString(p[0] + p[1])
			assert.Equal(t, h.Sum64(), k[0])
		} else {
			assert.Equal(t, maphash.Bytes(x.seeds[0], append(binary.LittleEndian.AppendUint64(nil, uint64(len(p[0]))), p[0]+p[1]...)), k[0])
		}
		assert.NotEqual(t, k, y.key(p[0], p[1]), "seeded per index")
		assert.NotEqual(t, k[0], k[1], "two independent halves")
		prev, dup := seen[k]
		assert.False(t, dup, "%q collides with %q", p, prev)
		seen[k] = p
	}
}

// A receipt lapses at its expiry; one written again lives to its new
// expiry.
func TestReceiptIndexLapses(t *testing.T) {
	x := newReceiptIndex(time.Hour)
	a, b := x.key("acct", "a"), x.key("acct", "b")
	x.put(a, closedHold{expires: 10, expired: true})
	x.put(b, closedHold{charged: 2, expires: 10})
	x.put(a, closedHold{charged: 3, expires: 20}) // settled after lapsing
	rc, ok := x.get(a, 5)
	require.True(t, ok)
	assert.Equal(t, closedHold{charged: 3, expires: 20}, rc)
	_, ok = x.get(b, 10)
	assert.False(t, ok, "lapsed at its expiry, before any sweep")
	assert.Equal(t, 2, x.len())

	for range minReceiptSlots / receiptSweepStep {
		x.sweep(10)
	}
	assert.Equal(t, 1, x.len())
	_, ok = x.get(a, 19)
	assert.True(t, ok, "the rewrite outlives the first expiry")
	for range minReceiptSlots / receiptSweepStep {
		x.sweep(20)
	}
	assert.Zero(t, x.len())
}

// The index answers as a map of the same receipts would, through growth,
// sweeps with their backward shifts, and shrinking, while tables are
// moved a few slots at a time. Keys are drawn from a small set with
// few distinct low bits, so that probe runs are long and wrap around.
func TestReceiptIndexMatchesMap(t *testing.T) {
	rng := rand.New(rand.NewPCG(3, 4))
	x := newReceiptIndex(time.Hour)
	model := map[receiptKey]closedHold{}
	keys := make([]receiptKey, 5000)
	for i := range keys {
		keys[i] = receiptKey{uint64(i+1)<<8 | uint64(rng.IntN(8)), rng.Uint64()}
	}
	now := int64(0)
	grew, shrank := 0, 0
	for op := range 200_000 {
		k := keys[rng.IntN(len(keys))]
		// Phases: fill up (long TTLs), then let everything lapse.
		filling := op%50_000 < 30_000
		switch r := rng.IntN(10); {
		case r < 4 && filling:
			rc := closedHold{charged: rng.Int64N(100), expires: now + 1 + rng.Int64N(5_000)}
			if rng.IntN(4) == 0 {
				rc.charged, rc.expired = 0, true
			}
			size := len(x.cur.tags)
			x.put(k, rc)
			if len(x.cur.tags) > size {
				grew++
			}
			model[k] = rc
		case r < 7:
			size := len(x.cur.tags)
			x.sweep(now)
			if len(x.cur.tags) < size {
				shrank++
			}
			for mk, rc := range model {
				if rc.expires <= now && rng.IntN(64) == 0 {
					delete(model, mk) // the model forgets lapsed ones at random too
				}
			}
		default:
			got, ok := x.get(k, now)
			want, live := model[k]
			live = live && want.expires > now
			require.Equal(t, live, ok, "op %d", op)
			if live {
				require.Equal(t, want, got, "op %d", op)
			}
		}
		now += int64(rng.IntN(3))
		if op%97 == 0 {
			checkReceiptIndex(t, &x)
		}
	}
	assert.Positive(t, grew)
	assert.Positive(t, shrank)
	t.Logf("grew %d times, shrank %d times; %d slots at the end", grew, shrank, len(x.cur.tags))
}

// checkReceiptIndex checks the index's invariants: every receipt in the
// current table is where a lookup finds it, the counts are right, and due
// is no later than the earliest expiry of any receipt not yet swept.
func checkReceiptIndex(t *testing.T, x *receiptIndex) {
	t.Helper()
	earliest, n := int64(math.MaxInt64), 0
	for i, tag := range x.cur.tags {
		if tag == 0 {
			continue
		}
		n++
		s := x.cur.slots[i]
		require.Equal(t, s.key.tag(), tag)
		require.Equal(t, i, x.cur.find(s.key), "slot %d is where a lookup looks", i)
		earliest = min(earliest, s.expires)
	}
	require.Equal(t, n, x.cur.n)
	for i := x.oldPos; i < len(x.old.tags); i++ {
		if x.old.tags[i] != 0 {
			earliest = min(earliest, x.old.slots[i].expires)
		}
	}
	require.LessOrEqual(t, x.due, earliest, "due is a lower bound")

	require.Less(t, x.pendN, receiptPending, "a full buffer is flushed")
	var bits [4]uint64
	seen := map[receiptKey]bool{}
	for _, s := range x.pend[:x.pendN] {
		require.False(t, seen[s.key], "no key twice in the pending buffer")
		seen[s.key] = true
		w, bit := pendBit(s.key)
		bits[w] |= bit
		require.LessOrEqual(t, x.pendDue, s.expires, "pendDue is a lower bound")
	}
	for w := range bits {
		require.Equal(t, bits[w], x.pendBits[w]&bits[w], "the filter has every pending key's bit")
	}
}

// A receipt is found while it waits in the pending buffer, a rewrite
// replaces it there, and a pending receipt wins over an older one for its
// key in the table, before and after the buffer is flushed.
func TestReceiptPendingBuffer(t *testing.T) {
	x := newReceiptIndex(time.Hour)
	a := x.key("acct", "a")
	x.put(a, closedHold{charged: 1, expires: 100})
	assert.Equal(t, 1, x.pendN)
	assert.Zero(t, x.cur.n, "not in the table yet")
	rc, ok := x.get(a, 0)
	require.True(t, ok)
	assert.Equal(t, closedHold{charged: 1, expires: 100}, rc)

	x.put(a, closedHold{expires: 50, expired: true})
	assert.Equal(t, 1, x.pendN, "replaced in place")
	rc, ok = x.get(a, 0)
	require.True(t, ok)
	assert.Equal(t, closedHold{expires: 50, expired: true}, rc)

	for i := range receiptPending - 1 { // fills the buffer: a is written to the table
		x.put(x.key("acct", strconv.Itoa(i)), closedHold{charged: int64(i), expires: 100})
	}
	assert.Zero(t, x.pendN)
	assert.Equal(t, receiptPending, x.cur.n)
	checkReceiptIndex(t, &x)

	x.put(a, closedHold{charged: 7, expires: 200}) // settled after lapsing
	assert.Equal(t, receiptPending+1, x.len(), "the table's older receipt counts too")
	rc, ok = x.get(a, 150)
	require.True(t, ok, "the pending receipt wins over the table's")
	assert.Equal(t, closedHold{charged: 7, expires: 200}, rc)
	x.flush()
	assert.Equal(t, receiptPending, x.len())
	rc, ok = x.get(a, 150)
	require.True(t, ok, "and replaces it when flushed")
	assert.Equal(t, closedHold{charged: 7, expires: 200}, rc)
	for i := range receiptPending - 1 {
		rc, ok := x.get(x.key("acct", strconv.Itoa(i)), 0)
		require.True(t, ok)
		assert.Equal(t, int64(i), rc.charged)
	}
	_, ok = x.get(x.key("acct", "b"), 0)
	assert.False(t, ok)
	checkReceiptIndex(t, &x)
}

// A pending receipt that can have lapsed is flushed by the next sweep, so
// sweeps forget it when no more receipts come to fill the buffer.
func TestReceiptPendingFlushedWhenDue(t *testing.T) {
	x := newReceiptIndex(time.Hour)
	a, b := x.key("acct", "a"), x.key("acct", "b")
	x.put(a, closedHold{charged: 1, expires: 10})
	x.put(b, closedHold{charged: 1, expires: 20})
	x.sweep(9)
	assert.Equal(t, 2, x.pendN, "nothing pending can have lapsed yet")
	x.sweep(10)
	assert.Zero(t, x.pendN, "a can have lapsed: the buffer was flushed")
	assert.GreaterOrEqual(t, x.cur.find(b), 0, "b is in the table")
	// a is in the table too, unless its slot (random: the seeds are) is
	// among the first the same sweep walked, which forgot it at once.
	want := 1
	if x.cur.find(a) >= 0 {
		want = 2
	}
	assert.Equal(t, want, x.cur.n)
	for range minReceiptSlots / receiptSweepStep {
		x.sweep(10)
	}
	assert.Equal(t, 1, x.len(), "a lapsed and was forgotten")
	assert.Negative(t, x.cur.find(a))
	_, ok := x.get(b, 10)
	assert.True(t, ok, "b is kept")
	checkReceiptIndex(t, &x)
}

// When traffic falls, the table still drains: an operation sweeps its
// share of the time since the last, so a few operations a TTL apart
// forget a large table's lapsed receipts and shrink it back.
func TestReceiptIndexDrainsWhenTrafficFalls(t *testing.T) {
	const ttl = 1_000
	x := newReceiptIndex(ttl)
	const n = 100_000
	for i := range n {
		x.put(receiptKey{uint64(i)*0x9e3779b97f4a7c15 + 1, uint64(i)}, closedHold{charged: 1, expires: ttl})
		if i%4 == 0 {
			x.sweep(1) // a steady stream of requests, all at once
		}
	}
	assert.Equal(t, n, x.len())
	big := len(x.cur.tags)
	ops := 0
	for now := int64(2 * ttl); x.len() > 0 || len(x.cur.tags) > minReceiptSlots || x.old.tags != nil; now += ttl {
		x.sweep(now) // one request per TTL
		ops++
		require.Less(t, ops, 200, "drained within 200 operations")
		if ops%8 == 0 {
			checkReceiptIndex(t, &x)
		}
	}
	t.Logf("%d slots emptied and shrunk to %d in %d operations a TTL apart", big, len(x.cur.tags), ops)
}

// A request ID stays taken for the receipt TTL after its account is
// forgotten (a zero balance, nothing held), and a retried settlement is
// still a replay.
func TestReceiptOutlivesAccount(t *testing.T) {
	ctx := context.Background()
	t0 := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	l := MustMemoryLedger(WithReceiptTTL(time.Minute))
	h, err := l.Reserve(ctx, "free", 0, "r1", t0)
	require.NoError(t, err)
	_, err = l.Settle(ctx, h, 0, t0)
	require.NoError(t, err)
	s := &l.shards[shardOf("free", ledgerShards)]
	assert.NotContains(t, s.accounts, "free", "nothing of the account is left but its receipt")

	_, err = l.Reserve(ctx, "free", 0, "r1", t0.Add(time.Second))
	assert.ErrorIs(t, err, ErrDuplicateRequest)
	rc, err := l.Release(ctx, h, t0.Add(time.Second))
	require.NoError(t, err)
	assert.True(t, rc.Replayed)
	_, err = l.Reserve(ctx, "other", 0, "r1", t0.Add(time.Second))
	assert.NoError(t, err, "request IDs are per account")

	_, err = l.Reserve(ctx, "free", 0, "r1", t0.Add(time.Minute))
	assert.NoError(t, err, "free again once the receipt lapsed")
}

// The window store's receipts outlive its accounts too.
func TestWindowReceiptOutlivesAccount(t *testing.T) {
	ctx := context.Background()
	t0 := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	m := MustMemoryWindowStore(WithReceiptTTL(time.Minute))
	limits := []Limit{{Name: "h", Window: Rolling(time.Hour), Unit: Requests, Max: 10}}
	h, err := m.Reserve(ctx, "sub", limits, Amounts{Requests: 1}, "r1", t0)
	require.NoError(t, err)
	_, err = m.Release(ctx, h, t0)
	require.NoError(t, err)
	s := &m.shards[shardOf("sub", ledgerShards)]
	assert.NotContains(t, s.accounts, "sub", "released, nothing counted: only the receipt is left")

	_, err = m.Reserve(ctx, "sub", limits, Amounts{Requests: 1}, "r1", t0.Add(time.Second))
	assert.ErrorIs(t, err, ErrDuplicateRequest)
	replayed, err := m.Release(ctx, h, t0.Add(time.Second))
	require.NoError(t, err)
	assert.True(t, replayed)
	_, err = m.Reserve(ctx, "sub", limits, Amounts{Requests: 1}, "r1", t0.Add(time.Minute))
	assert.NoError(t, err, "free again once the receipt lapsed")
}

// Receipts hold no pointers and no request ID: an hour of traffic costs
// the garbage collector nothing to scan, and nothing but the slots.
func TestReceiptMemory(t *testing.T) {
	if testing.Short() {
		t.Skip("allocates 150,000 receipts")
	}
	ctx := context.Background()
	t0 := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	l := MustMemoryLedger()
	_, err := l.Credit(ctx, "acct", 1_000_000_000, "topup")
	require.NoError(t, err)
	const n = 150_000
	before := heapInUse()
	for i := range n {
		id := "req_" + strconv.Itoa(i) + "_0123456789abcdef0123456789abcdef" // a 50-byte ID
		h, err := l.Reserve(ctx, "acct", 1, id, t0)
		require.NoError(t, err)
		_, err = l.Settle(ctx, h, 1, t0)
		require.NoError(t, err)
	}
	grown := heapInUse() - before
	var slots int
	for i := range l.shards {
		slots += len(l.shards[i].receipts.cur.tags) + len(l.shards[i].receipts.old.tags)
	}
	perReceipt := float64(grown) / n
	t.Logf("%.1f bytes per receipt, %d slots of 33 bytes", perReceipt, slots)
	assert.Less(t, perReceipt, 64.0, "the table is 150,000 / 262,144 full")
	assert.Less(t, grown, int64(slots*33)*11/10, "nothing but the slots")
	f, err := l.Balance(ctx, "acct", t0)
	require.NoError(t, err)
	assert.Equal(t, int64(1_000_000_000-n), f.Balance)
	runtime.KeepAlive(l)
}

func heapInUse() int64 {
	runtime.GC()
	var m runtime.MemStats
	runtime.ReadMemStats(&m)
	return int64(m.HeapAlloc)
}
