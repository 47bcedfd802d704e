package redisstore

import (
	"context"
	"math/rand/v2"
	"slices"
	"strconv"
	"testing"

	"github.com/redis/go-redis/v9"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// dryRun wraps a TAKE script so that it writes nothing: a local redis
// shadows the global one, reads the real buckets, answers TIME with the
// last two arguments, and logs every other command instead of running it.
// It returns the script's reply and the log.
func dryRun(names ...string) *redis.Script {
	src := `local real, log = redis, {}
local redis = {replicate_commands = function() end}
function redis.call(cmd, ...)
  if cmd == 'GET' then return real.call('GET', ...) end
  if cmd == 'TIME' then return {ARGV[#ARGV - 1], ARGV[#ARGV]} end
  log[#log + 1] = table.concat({cmd, ...}, ' ')
  return 'OK'
end
local function body()
`
	for _, n := range names {
		src += mustLua(n) + "\n"
	}
	return redis.NewScript(src + "end\nreturn {body(), log}\n")
}

var (
	dryTake  = dryRun("takefast", "int", "time", "take")
	dryExact = dryRun("int", "time", "take")
)

// takeCase is one TAKE call: the stored arrival times of its buckets
// ("" for none), its charges over those buckets, and its time.
type takeCase struct {
	tats    []string
	buckets []int      // charge i takes from bucket buckets[i]
	costs   [][2]int64 // cost × interval, window
	s, ns   int64      // the test clock's reading; s == 0 for TIME
	time    [2]int64   // what TIME answers: seconds, microseconds
	slack   int64
}

// takeReply is a TAKE reply with each offset as one number, whichever
// path produced it.
type takeReply struct {
	S, NS, All int64
	Offsets    []int64
}

// runTake runs tc through sc and reports whether the fast path answered.
func runTake(t *testing.T, c *redis.Client, sc *redis.Script, keys []string, tc takeCase) (takeReply, []any, bool) {
	t.Helper()
	args := []any{"", "", tc.slack}
	if tc.s != 0 {
		args[0], args[1] = tc.s, tc.ns
	}
	for _, cw := range tc.costs {
		args = append(args, cw[0], cw[1])
	}
	args = append(args, tc.time[0], tc.time[1])
	got, err := sc.Run(context.Background(), c, keys, args...).Slice()
	require.NoError(t, err)
	require.Len(t, got, 2)
	raw, log := got[0].([]any), got[1].([]any)
	v := make([]int64, len(raw))
	for i, x := range raw {
		v[i] = x.(int64)
	}
	n := len(keys)
	require.Contains(t, []int{3 + n, 3 + 2*n}, len(v))
	r := takeReply{S: v[0], NS: v[1], All: v[2]}
	for i := range n {
		r.Offsets = append(r.Offsets, takeOffset(v, i, n))
	}
	return r, log, len(v) == 3+n
}

// checkTake runs tc through the whole TAKE script and through its exact
// path alone, and compares their replies and the writes they would make.
func checkTake(t *testing.T, c *redis.Client, prefix string, tc takeCase) {
	t.Helper()
	ctx := context.Background()
	keys := make([]string, len(tc.buckets))
	for i, b := range tc.buckets {
		keys[i] = prefix + strconv.Itoa(b)
	}
	for b, tat := range tc.tats {
		k := prefix + strconv.Itoa(b)
		if tat == "" {
			require.NoError(t, c.Del(ctx, k).Err())
		} else {
			require.NoError(t, c.Set(ctx, k, tat, 0).Err())
		}
	}
	want, wantLog, exactFast := runTake(t, c, dryExact, keys, tc)
	got, gotLog, fast := runTake(t, c, dryTake, keys, tc)
	require.False(t, exactFast, "the exact path answers in limbs")
	assert.Equal(t, want, got, "%+v", tc)
	assert.Equal(t, wantLog, gotLog, "%+v", tc)
	assert.Equal(t, tc.fits(), fast, "fast path taken: %+v", tc)
}

// fastLimit is takefast.lua's FAST: the largest cost, window or offset
// it takes, in ns.
const fastLimit = 4e15

// fits reports whether takefast.lua should decide tc itself.
func (tc takeCase) fits() bool {
	s := tc.time[0]
	if tc.s != 0 {
		s = tc.s
		if tc.s < 1 || tc.ns < 0 {
			return false
		}
	}
	for _, cw := range tc.costs {
		if cw[0] > fastLimit || cw[1] > fastLimit {
			return false
		}
	}
	for i, b := range tc.buckets {
		if slices.Index(tc.buckets, b) != i || tc.tats[b] == "" {
			continue
		}
		tat := tc.tats[b]
		if len(tat) < 10 || tat[0] == '-' {
			return false
		}
		hi, err := strconv.ParseInt(tat[:len(tat)-9], 10, 64)
		if err != nil || hi-s > 4e6 {
			return false
		}
	}
	return true
}

func TestTakeFastPathEdges(t *testing.T) {
	c := probeClient(t)
	prefix := "tgtest:takefast:" + token() + ":"
	t.Cleanup(func() { cleanBuckets(c, prefix, 4) })
	const s, ns = 1_767_225_600, 123_456_789
	now := int64(s*1e9 + ns)
	at := func(off int64) string { return strconv.FormatInt(now+off, 10) }
	one := func(tat string, cost, window int64) takeCase {
		return takeCase{tats: []string{tat}, buckets: []int{0}, costs: [][2]int64{{cost, window}}, s: s, ns: ns, slack: 1000}
	}
	cases := map[string]takeCase{
		"new bucket":               one("", 60e6, 60e9),
		"cost zero":                one("", 0, 60e9),
		"cost zero, full":          one(at(-5), 0, 60e9),
		"past arrival":             one(at(-1e12), 60e6, 60e9),
		"arrival now":              one(at(0), 60e6, 60e9),
		"one ns ahead":             one(at(1), 60e6, 60e9),
		"whole ms":                 one(at(2e6), 1e6, 60e9),
		"exactly full":             one(at(60e9-60e6), 60e6, 60e9),
		"one ns over":              one(at(60e9-60e6+1), 60e6, 60e9),
		"cost beyond window":       one("", 60e9+1, 60e9),
		"fast limit":               one(at(fastLimit-1e6), 1e6, fastLimit),
		"cost over fast limit":     one("", fastLimit+1, fastLimit+1),
		"window over fast limit":   one("", 1, fastLimit+1),
		"arrival 4e6 s ahead":      one(strconv.FormatInt((s+4e6)*1e9+999_999_999, 10), 1, fastLimit),
		"arrival past 4e6 s ahead": one(strconv.FormatInt((s+4e6+1)*1e9, 10), 1, fastLimit),
		"debt of years":            one(at(1<<61), 1, 1<<60),
		"short arrival":            one("999999999", 1, 60e9),
		"negative arrival":         one("-1000000000000", 1, 60e9),
		"carry into seconds":       one(strconv.FormatInt(s*1e9+999_999_999, 10), 1e6, 60e9),
	}
	early := one("", 60e6, 60e9)
	early.s, early.ns = 1, 0
	cases["time one second"] = early
	before := one("", 60e6, 60e9)
	before.s, before.ns = 0, -5
	before.time = [2]int64{s, 999_999}
	cases["server time"] = before
	negative := one("", 60e6, 60e9)
	negative.s, negative.ns = -1, 999_999_999
	cases["before 1970"] = negative
	cases["repeated bucket"] = takeCase{tats: []string{at(30e9), ""}, buckets: []int{0, 1, 0, 0},
		costs: [][2]int64{{20e9, 60e9}, {1, 60e9}, {10e9, 60e9}, {1, 60e9}}, s: s, ns: ns, slack: 600_000}
	cases["repeated bucket, all taken"] = takeCase{tats: []string{at(10e9), ""}, buckets: []int{0, 1, 0},
		costs: [][2]int64{{20e9, 60e9}, {0, 60e9}, {10e9, 60e9}}, s: s, ns: ns, slack: 1000}
	cases["two buckets, exactly full"] = takeCase{tats: []string{at(60e9 - 60e6), ""}, buckets: []int{0, 1},
		costs: [][2]int64{{60e6, 60e9}, {1, 60e9}}, s: s, ns: ns, slack: 1000}
	cases["repeated bucket, exactly full"] = takeCase{tats: []string{at(30e9)}, buckets: []int{0, 0},
		costs: [][2]int64{{20e9, 60e9}, {10e9, 60e9}}, s: s, ns: ns, slack: 1000}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) { checkTake(t, c, prefix, tc) })
	}
}

func TestTakeFastPathRandom(t *testing.T) {
	c := probeClient(t)
	prefix := "tgtest:takefast:" + token() + ":"
	t.Cleanup(func() { cleanBuckets(c, prefix, 4) })
	rng := rand.New(rand.NewPCG(7, 9))
	for range 400 {
		checkTake(t, c, prefix, randomTake(rng))
	}
}

// randomTake draws a call around the fast path's limits.
func randomTake(rng *rand.Rand) takeCase {
	scales := []int64{1e3, 1e9, 60e9, 3600e9, fastLimit / 2, fastLimit, fastLimit + 1e9, 1 << 60}
	pick := func() int64 {
		sc := scales[rng.IntN(len(scales))]
		if rng.IntN(4) == 0 {
			return sc
		}
		return rng.Int64N(sc + 1)
	}
	tc := takeCase{s: 1_700_000_000 + rng.Int64N(1e8), ns: rng.Int64N(1e9), slack: []int64{1000, 600_000}[rng.IntN(2)]}
	if rng.IntN(4) == 0 {
		tc.time, tc.s, tc.ns = [2]int64{tc.s, tc.ns / 1000}, 0, 0
	}
	now := tc.s*1e9 + tc.ns
	if tc.s == 0 {
		now = tc.time[0]*1e9 + tc.time[1]*1000
	}
	nb := 1 + rng.IntN(3)
	for range nb {
		switch rng.IntN(4) {
		case 0:
			tc.tats = append(tc.tats, "")
		case 1:
			tc.tats = append(tc.tats, strconv.FormatInt(now-pick(), 10))
		default:
			tc.tats = append(tc.tats, strconv.FormatInt(now+pick(), 10))
		}
	}
	for range 1 + rng.IntN(4) {
		window := max(pick(), 1)
		cost := rng.Int64N(window + 1)
		if rng.IntN(8) == 0 {
			cost = 0
		}
		tc.buckets = append(tc.buckets, rng.IntN(nb))
		tc.costs = append(tc.costs, [2]int64{cost, window})
	}
	return tc
}

// cleanBuckets deletes the buckets prefix+0 … prefix+n-1.
func cleanBuckets(c *redis.Client, prefix string, n int) {
	for b := range n {
		_ = c.Del(context.Background(), prefix+strconv.Itoa(b)).Err()
	}
}
