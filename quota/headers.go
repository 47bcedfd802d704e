package quota

import (
	"math/bits"
	"net/http"
	"strconv"
	"time"
	"unsafe"
)

// The response headers the middleware sets before the handler runs (all
// with Set, never Add; WithoutHeaders turns them off). They describe the
// state right after the request's own reservation.
const (
	// HeaderBalanceRemaining is the available balance (balance minus open
	// holds, this request's included) of a pay-as-you-go request, as an
	// exact decimal number of currency units: "4.50", "0.001234", "-1.00".
	HeaderBalanceRemaining = "X-Balance-Remaining"
	// HeaderQuotaLimit is the size of the subscription limit with the
	// least room left, in its unit.
	HeaderQuotaLimit = "X-Quota-Limit"
	// HeaderQuotaRemaining is that limit's room left after this request's
	// hold, never below zero.
	HeaderQuotaRemaining = "X-Quota-Remaining"
	// HeaderQuotaReset is the number of seconds, rounded up, until that
	// limit's oldest settled usage leaves its window; 0 when none is
	// counted.
	HeaderQuotaReset = "X-Quota-Reset"
	// HeaderQuotaPolicy names that limit and says what it counts:
	// `"5h";unit=requests;window="rolling 5h0m0s"`.
	HeaderQuotaPolicy = "X-Quota-Policy"
)

// headerStorage holds one header value in place: its text and the slice
// that the header map refers to, so that setting it allocates nothing.
type headerStorage struct {
	text  [32]byte
	value [1]string
}

// decimal returns micros as FormatDecimal writes it, as a header value
// backed by s. It may be called once per headerStorage: the strings it
// hands out must never change.
func (s *headerStorage) decimal(micros int64) []string {
	b := appendDecimal(s.text[:0], micros, "") // 32 bytes hold any int64
	s.value[0] = unsafe.String(unsafe.SliceData(b), len(b))
	return s.value[:1:1]
}

func setHeaders(h http.Header, res *reservation, now time.Time) {
	if !res.window {
		if res.hold.Expires.IsZero() {
			return // FailOpen: nothing was reserved, so nothing is known
		}
		h[HeaderBalanceRemaining] = res.header.decimal(res.hold.Available)
		return
	}
	i := tightest(res.wHold.Usage)
	if i < 0 {
		return
	}
	u := res.wHold.Usage[i]
	var reset int64
	if !u.Resets.IsZero() && u.Resets.After(now) {
		d := u.Resets.Sub(now)
		reset = int64((d + time.Second - 1) / time.Second)
	}
	var window string
	for _, l := range res.wHold.Limits {
		if l.Name == u.Limit {
			window = l.Window.String()
		}
	}
	h.Set(HeaderQuotaLimit, strconv.FormatInt(u.Max, 10))
	h.Set(HeaderQuotaRemaining, strconv.FormatInt(u.Remaining(), 10))
	h.Set(HeaderQuotaReset, strconv.FormatInt(reset, 10))
	h.Set(HeaderQuotaPolicy, strconv.Quote(u.Limit)+";unit="+u.Unit.String()+";window="+strconv.Quote(window))
}

// tightest returns the index of the limit with the smallest share of room
// left (remaining ÷ max, compared exactly in 128 bits), or -1.
func tightest(us []LimitUsage) int {
	best := -1
	for i, u := range us {
		if u.Max <= 0 {
			continue
		}
		if best < 0 {
			best = i
			continue
		}
		b := us[best]
		// u.Remaining/u.Max < b.Remaining/b.Max ⇔ u.Remaining·b.Max < b.Remaining·u.Max
		lh, ll := bits.Mul64(uint64(u.Remaining()), uint64(b.Max))
		rh, rl := bits.Mul64(uint64(b.Remaining()), uint64(u.Max))
		if lh < rh || lh == rh && ll < rl {
			best = i
		}
	}
	return best
}
