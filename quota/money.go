package quota

import (
	"errors"
	"math"
	"math/bits"
	"strconv"
)

// Micro is the number of micro-units in one unit of currency: amounts are
// int64 micro-units everywhere in this package, so 1_500_000 is $1.50.
const Micro = 1_000_000

// perMillion is the token count that prices are quoted for.
const perMillion = 1_000_000

// ErrOverflow reports an amount that does not fit in an int64: a cost, a
// balance or a window total. Nothing is changed when it is returned.
var ErrOverflow = errors.New("quota: amount overflows int64")

// FormatDollars renders micro-units as a dollar amount, exactly and without
// floating point: two decimals at least, more only when the amount has them.
// FormatDollars(5_000_000) is "$5.00", FormatDollars(1_234) is "$0.001234"
// and FormatDollars(-2_500_000) is "-$2.50".
func FormatDollars(micros int64) string {
	return string(appendDecimal(nil, micros, "$"))
}

// FormatDecimal renders micro-units as a plain decimal number of currency
// units, exactly as FormatDollars does but without the sign of a currency:
// FormatDecimal(4_500_000) is "4.50". Response headers use it.
func FormatDecimal(micros int64) string {
	var buf [32]byte
	return string(appendDecimal(buf[:0], micros, ""))
}

func appendDecimal(b []byte, micros int64, symbol string) []byte {
	// Work in uint64 so that math.MinInt64 has a magnitude.
	mag := uint64(micros)
	if micros < 0 {
		b = append(b, '-')
		mag = -mag
	}
	b = append(b, symbol...)
	b = strconv.AppendUint(b, mag/Micro, 10)
	// Six fraction digits, then drop trailing zeros down to two.
	frac := mag % Micro
	var digits [6]byte
	for i := len(digits) - 1; i >= 0; i-- {
		digits[i] = byte('0' + frac%10)
		frac /= 10
	}
	n := len(digits)
	for n > 2 && digits[n-1] == '0' {
		n--
	}
	b = append(b, '.')
	return append(b, digits[:n]...)
}

// mulDivCeil returns ⌈(a·x + b·y + c·z) ÷ d⌉ for non-negative operands,
// computed in 128 bits so that no intermediate product can overflow, and
// ErrOverflow when the result does not fit in an int64.
func mulDivCeil(a, x, b, y, c, z int64, d uint64) (int64, error) {
	if a < 0 || x < 0 || b < 0 || y < 0 || c < 0 || z < 0 || d == 0 {
		return 0, ErrInvalidArgument
	}
	hi, lo := bits.Mul64(uint64(a), uint64(x))
	var carry uint64
	for _, p := range [2][2]int64{{b, y}, {c, z}} {
		h, l := bits.Mul64(uint64(p[0]), uint64(p[1]))
		lo, carry = bits.Add64(lo, l, 0)
		hi, _ = bits.Add64(hi, h, carry)
	}
	// Each product is below 2^126, so three of them fit in 128 bits; the
	// quotient fits in 64 bits exactly when hi < d.
	if hi >= d {
		return 0, ErrOverflow
	}
	q, rem := bits.Div64(hi, lo, d)
	if rem != 0 {
		q++
	}
	if q > math.MaxInt64 || q == 0 && rem != 0 {
		return 0, ErrOverflow
	}
	return int64(q), nil
}

// addChecked returns a + b, or ErrOverflow.
func addChecked(a, b int64) (int64, error) {
	s := a + b
	if (b > 0 && s < a) || (b < 0 && s > a) {
		return 0, ErrOverflow
	}
	return s, nil
}

// subChecked returns a - b, or ErrOverflow.
func subChecked(a, b int64) (int64, error) {
	s := a - b
	if (b > 0 && s > a) || (b < 0 && s < a) {
		return 0, ErrOverflow
	}
	return s, nil
}
