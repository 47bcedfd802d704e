package ratelimit

import (
	"hash/maphash"
	"math/rand/v2"
	"strings"
	"testing"
	"unsafe"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestTableMatchesMap drives the cuckoo table and a Go map with the same
// random operations, through growth, sweeps and shrinking.
func TestTableMatchesMap(t *testing.T) {
	rng := rand.New(rand.NewPCG(3, 4))
	runTableModel(t, func() int { return rng.IntN(1 << 20) }, 200_000)
}

// FuzzTable runs the table model on operations the fuzzer chooses.
func FuzzTable(f *testing.F) {
	f.Add([]byte{1, 2, 3, 4, 5, 6, 7, 8, 9, 10})
	f.Add([]byte(strings.Repeat("\x00\xff\x10\x80", 64)))
	f.Fuzz(func(t *testing.T, ops []byte) {
		i := 0
		runTableModel(t, func() int {
			if i >= len(ops) {
				return 0
			}
			i++
			return int(ops[i-1])<<4 | i&15
		}, len(ops)/2)
	})
}

func runTableModel(t *testing.T, next func() int, steps int) {
	var tb table
	model := map[uint64]int64{}
	for step := range steps {
		op, x := next(), next()
		h := uint64(x)*0x9e3779b97f4a7c15 | 1
		switch op % 8 {
		case 0, 1, 2, 3:
			tb.set(h, int64(x))
			model[h] = int64(x)
		case 4, 5:
			if bk, i := tb.find(h); bk != nil {
				tb.remove(bk, i)
			}
			delete(model, h)
		case 6:
			limit := int64(x)
			tb.sweep(limit, op%16)
			for k, v := range model {
				_ = k
				_ = v
			}
			syncSweep(&tb, model)
		case 7:
			bk, i := tb.find(h)
			want, ok := model[h]
			require.Equal(t, ok, bk != nil, "step %d", step)
			if ok {
				require.Equal(t, want, bk.v[i], "step %d", step)
			}
		}
		require.Equal(t, len(model), tb.n, "step %d", step)
	}
	for h, v := range model {
		bk, i := tb.find(h)
		require.NotNil(t, bk)
		require.Equal(t, v, bk.v[i])
	}
	if len(tb.b) > 0 {
		assert.LessOrEqual(t, tb.n*100, len(tb.b)*slots*maxLoadPct, "never over the load limit")
	}
}

// syncSweep drops from the model what a sweep dropped from the table.
func syncSweep(tb *table, model map[uint64]int64) {
	for h := range model {
		if bk, _ := tb.find(h); bk == nil {
			delete(model, h)
		}
	}
}

func TestTableEvict(t *testing.T) {
	var tb table
	for i := int64(1); i <= 100; i++ {
		tb.set(uint64(i)*0x9e3779b97f4a7c15|1, 1000+i)
	}
	tb.set(12345, 7)
	assert.True(t, tb.evict(0, 1000), "a live entry goes when none has expired")
	bk, _ := tb.find(12345)
	assert.Nil(t, bk, "the lowest value goes first")
	assert.Equal(t, 100, tb.n)
	assert.False(t, tb.evict(1050, 1000), "expired entries go before any live one")
	assert.Equal(t, 50, tb.n)
	var empty table
	empty.resize(8)
	assert.False(t, empty.evict(0, 4), "nothing to evict in an empty table")
	assert.Zero(t, empty.n)
}

func TestHashKeyIgnoresSplit(t *testing.T) {
	seed := maphash.MakeSeed()
	long := strings.Repeat("x", 200)
	assert.Equal(t, hashKey(seed, "", "rpm:key"), hashKey(seed, "rpm:", "key"))
	assert.Equal(t, hashKey(seed, "", "rpm:key"), hashKey(seed, "rpm", ":key"))
	assert.Equal(t, hashKey(seed, "", "p:"+long), hashKey(seed, "p:", long), "the streaming path for long keys")
	assert.NotEqual(t, hashKey(seed, "a:", "b"), hashKey(seed, "b:", "a"))
	assert.NotZero(t, hashKey(seed, "", ""))
}

func TestShardPadding(t *testing.T) {
	assert.Zero(t, unsafe.Sizeof(memShard{})%64, "memShard fills whole cache lines")
}

func TestGCRAExtremes(t *testing.T) {
	l := Every(1, 3)
	assert.Equal(t, int64(0), debited(5, l, -1<<62))
	assert.Equal(t, int64(3)+int64(MaxDebt), debited(0, l, 1<<62))
	over := int64(MaxDebt) * 2
	assert.Equal(t, over, debited(over, l, 1), "a debit never lowers an offset above the clamp")
	assert.Equal(t, int64(2), debited(5, l, -3))
}
