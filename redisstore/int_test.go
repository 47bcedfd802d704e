package redisstore

import (
	"context"
	"math"
	"math/big"
	"os"
	"strconv"
	"testing"

	"github.com/redis/go-redis/v9"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// intProbe runs int.lua's arithmetic on two decimal arguments and returns
// str(add), str(sub), cmp, str(satadd of their magnitudes), and the limbs
// of the first, so that the tests compare it with Go's exact integers.
var intProbe = redis.NewScript(mustLua("int") + mustLua("more") + `
local a, b = int(ARGV[1]), int(ARGV[2])
local ma, mb = a, b
if a[1] < 0 then ma = neg(a) end
if b[1] < 0 then mb = neg(b) end
return {str(add(a, b)), str(sub(a, b)), cmp(a, b), str(satadd(ma, mb)), a[1], a[2], str(max0(a)), iszero(a) and 1 or 0}
`)

func mustLua(name string) string {
	b, err := luaFiles.ReadFile("lua/" + name + ".lua")
	if err != nil {
		panic(err)
	}
	return string(b)
}

// probeClient connects to TOLLGATE_REDIS_ADDR, or skips (fails under
// CI=true).
func probeClient(t testing.TB) *redis.Client {
	t.Helper()
	addr := os.Getenv("TOLLGATE_REDIS_ADDR")
	if addr == "" {
		if os.Getenv("CI") == "true" {
			t.Fatal("TOLLGATE_REDIS_ADDR is not set (required under CI=true)")
		}
		t.Skip("TOLLGATE_REDIS_ADDR is not set: start a redis-server (scripts/test does) and export its host:port")
	}
	c := redis.NewClient(&redis.Options{Addr: addr, ContextTimeoutEnabled: true})
	t.Cleanup(func() { _ = c.Close() })
	return c
}

// checkInt compares the script's arithmetic on x and y with big.Int's.
func checkInt(t *testing.T, c *redis.Client, x, y int64) {
	t.Helper()
	got, err := intProbe.Run(context.Background(), c, nil, x, y).Slice()
	require.NoError(t, err)
	require.Len(t, got, 8)
	bx, by := big.NewInt(x), big.NewInt(y)
	where := strconv.FormatInt(x, 10) + ", " + strconv.FormatInt(y, 10)
	assert.Equal(t, new(big.Int).Add(bx, by).String(), got[0], "add "+where)
	assert.Equal(t, new(big.Int).Sub(bx, by).String(), got[1], "sub "+where)
	assert.Equal(t, int64(bx.Cmp(by)), got[2], "cmp "+where)
	sum := new(big.Int).Add(new(big.Int).Abs(bx), new(big.Int).Abs(by))
	if sum.Cmp(big.NewInt(math.MaxInt64)) > 0 {
		sum.SetInt64(math.MaxInt64)
	}
	assert.Equal(t, sum.String(), got[3], "satadd "+where)
	assert.Equal(t, x, limb(got[4].(int64), got[5].(int64)), "limbs "+where)
	assert.Equal(t, strconv.FormatInt(max(x, 0), 10), got[6], "max0 "+where)
	assert.Equal(t, map[bool]int64{true: 1, false: 0}[x == 0], got[7], "iszero "+where)
}

func TestLuaIntegers(t *testing.T) {
	c := probeClient(t)
	edges := []int64{0, 1, -1, 999_999_999, 1_000_000_000, -1_000_000_000, -999_999_999, 1 << 53, 1<<53 + 1,
		-(1<<53 + 1), 1_767_225_600_123_456_789, math.MaxInt64, math.MinInt64, math.MaxInt64 - 1, math.MinInt64 + 1}
	for _, x := range edges {
		for _, y := range edges {
			checkInt(t, c, x, y)
		}
	}
}

func FuzzLuaIntegers(f *testing.F) {
	for _, s := range [][2]int64{{0, 0}, {1, -1}, {math.MaxInt64, 1}, {math.MinInt64, -1}, {-1_000_000_001, 999_999_999}} {
		f.Add(s[0], s[1])
	}
	c := probeClient(f)
	f.Fuzz(func(t *testing.T, x, y int64) {
		checkInt(t, c, x, y)
	})
}
