package quota_test

import (
	"math"
	"math/big"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/tollgate/tollgate"
	"github.com/tollgate/tollgate/quota"
)

func TestFormatDollars(t *testing.T) {
	cases := map[int64]string{
		0:              "$0.00",
		5_000_000:      "$5.00",
		10_000_000:     "$10.00",
		1_500_000:      "$1.50",
		1_234:          "$0.001234",
		1_000:          "$0.001",
		10:             "$0.00001",
		1:              "$0.000001",
		123_456_789:    "$123.456789",
		-2_500_000:     "-$2.50",
		-1:             "-$0.000001",
		math.MaxInt64:  "$9223372036854.775807",
		math.MinInt64:  "-$9223372036854.775808",
		99_999_999_990: "$99999.99999",
	}
	for micros, want := range cases {
		assert.Equal(t, want, quota.FormatDollars(micros), "%d", micros)
		assert.Equal(t, strings.Replace(want, "$", "", 1), quota.FormatDecimal(micros), "%d", micros)
	}
	assert.Equal(t, "4.50", quota.FormatDecimal(4_500_000))
	assert.Equal(t, "-1.00", quota.FormatDecimal(-1_000_000))
}

func TestPriceCost(t *testing.T) {
	gpt := quota.Price{Input: 2_500_000, CachedInput: 1_250_000, Output: 10_000_000, Request: 0}
	cases := []struct {
		name  string
		price quota.Price
		usage tollgate.Usage
		cost  int64
	}{
		{"free", quota.Price{}, tollgate.Usage{InputTokens: 1_000, OutputTokens: 1_000}, 0},
		{"a million of each", gpt, tollgate.Usage{InputTokens: 1_000_000, OutputTokens: 1_000_000}, 12_500_000},
		{"one token rounds up", gpt, tollgate.Usage{InputTokens: 1}, 3},
		{"rounded once, not per part", quota.Price{Input: 1, Output: 1}, tollgate.Usage{InputTokens: 1, OutputTokens: 1}, 1},
		{"cached tokens at the cached price", gpt, tollgate.Usage{InputTokens: 1_000_000, CachedInputTokens: 400_000}, 1_500_000 + 500_000},
		{"cached price zero means the input price", quota.Price{Input: 3_000_000}, tollgate.Usage{InputTokens: 1_000, CachedInputTokens: 1_000}, 3_000},
		{"cached beyond input is capped", gpt, tollgate.Usage{InputTokens: 10, CachedInputTokens: 50}, 13},
		{"per request", quota.Price{Request: 500}, tollgate.Usage{}, 500},
		{"reported cost wins", gpt, tollgate.Usage{InputTokens: 1_000_000, Cost: 42}, 42},
	}
	for _, c := range cases {
		got, err := c.price.Cost(c.usage)
		require.NoError(t, err, c.name)
		assert.Equal(t, c.cost, got, c.name)
	}
}

func TestPriceCostErrors(t *testing.T) {
	huge := quota.Price{Input: math.MaxInt64, Output: math.MaxInt64}
	_, err := huge.Cost(tollgate.Usage{InputTokens: math.MaxInt64, OutputTokens: math.MaxInt64})
	assert.ErrorIs(t, err, quota.ErrOverflow)
	_, err = quota.Price{Request: math.MaxInt64, Input: 1_000_000}.Cost(tollgate.Usage{InputTokens: 1})
	assert.ErrorIs(t, err, quota.ErrOverflow)
	_, err = quota.Price{Input: 1}.Cost(tollgate.Usage{InputTokens: -1})
	assert.ErrorIs(t, err, quota.ErrInvalidArgument)
	_, err = quota.Price{Input: -1}.Cost(tollgate.Usage{InputTokens: 1})
	assert.ErrorIs(t, err, quota.ErrInvalidArgument)
	// The largest cost that fits is exact.
	got, err := quota.Price{Input: quota.Micro}.Cost(tollgate.Usage{InputTokens: math.MaxInt64})
	require.NoError(t, err)
	assert.Equal(t, int64(math.MaxInt64), got)
}

func TestPricing(t *testing.T) {
	p, err := quota.NewPricing(map[string]quota.Price{"a": {Input: 1_000_000}}, quota.DefaultPrice(quota.Price{Request: 7}))
	require.NoError(t, err)
	got, err := p.Cost("a", tollgate.Usage{InputTokens: 3})
	require.NoError(t, err)
	assert.Equal(t, int64(3), got)
	got, err = p.Cost("other", tollgate.Usage{InputTokens: 3})
	require.NoError(t, err)
	assert.Equal(t, int64(7), got, "the default price")

	strict := quota.MustPricing(map[string]quota.Price{"a": {}})
	_, err = strict.Lookup("b")
	assert.ErrorIs(t, err, quota.ErrUnknownModel)
	got, err = strict.Cost("b", tollgate.Usage{Cost: 9})
	require.NoError(t, err)
	assert.Equal(t, int64(9), got, "a reported cost needs no price")

	var none *quota.Pricing
	price, err := none.Lookup("anything")
	require.NoError(t, err)
	assert.True(t, price.Free())

	_, err = quota.NewPricing(map[string]quota.Price{"": {}})
	assert.ErrorIs(t, err, quota.ErrInvalidArgument)
	_, err = quota.NewPricing(map[string]quota.Price{"x": {Output: -1}})
	assert.ErrorIs(t, err, quota.ErrInvalidArgument)
	_, err = quota.NewPricing(nil, quota.DefaultPrice(quota.Price{MaxOutput: -1}))
	assert.ErrorIs(t, err, quota.ErrInvalidArgument)
	assert.Panics(t, func() { quota.MustPricing(map[string]quota.Price{"": {}}) })
}

// FuzzPriceCost checks Cost against exact big-integer arithmetic: the
// result is the ceiling of the exact amount, or ErrOverflow exactly when
// that does not fit in an int64.
func FuzzPriceCost(f *testing.F) {
	f.Add(int64(2_500_000), int64(1_250_000), int64(10_000_000), int64(0), int64(1_000), int64(200), int64(50))
	f.Add(int64(1), int64(0), int64(1), int64(3), int64(1), int64(0), int64(1))
	f.Add(int64(math.MaxInt64), int64(0), int64(math.MaxInt64), int64(0), int64(math.MaxInt64), int64(0), int64(math.MaxInt64))
	f.Fuzz(func(t *testing.T, in, cached, out, req, inTok, cachedTok, outTok int64) {
		p := quota.Price{Input: in, CachedInput: cached, Output: out, Request: req}
		u := tollgate.Usage{InputTokens: inTok, CachedInputTokens: cachedTok, OutputTokens: outTok}
		got, err := p.Cost(u)
		if in < 0 || cached < 0 || out < 0 || req < 0 || inTok < 0 || cachedTok < 0 || outTok < 0 {
			assert.ErrorIs(t, err, quota.ErrInvalidArgument)
			return
		}
		c := min(cachedTok, inTok)
		cp := cached
		if cp == 0 {
			cp = in
		}
		sum := new(big.Int).Mul(big.NewInt(inTok-c), big.NewInt(in))
		sum.Add(sum, new(big.Int).Mul(big.NewInt(c), big.NewInt(cp)))
		sum.Add(sum, new(big.Int).Mul(big.NewInt(outTok), big.NewInt(out)))
		million := big.NewInt(1_000_000)
		q, r := new(big.Int).QuoRem(sum, million, new(big.Int))
		if r.Sign() != 0 {
			q.Add(q, big.NewInt(1))
		}
		q.Add(q, big.NewInt(req))
		if !q.IsInt64() {
			assert.ErrorIs(t, err, quota.ErrOverflow)
			return
		}
		require.NoError(t, err)
		assert.Equal(t, q.Int64(), got)
	})
}
