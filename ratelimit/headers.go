package ratelimit

import (
	"net/http"
	"strconv"
	"time"
	"unsafe"
)

// headerConfig is the resolved set of header families and names.
type headerConfig struct {
	x         bool
	xNames    [3]string
	xDelta    bool
	ietf      bool
	ietfNames [2]string
	openai    bool
	oaNames   [6]string
}

var openAISuffixes = [6]string{
	"limit-requests", "remaining-requests", "reset-requests",
	"limit-tokens", "remaining-tokens", "reset-tokens",
}

func defaultHeaders() headerConfig {
	return headerConfig{
		x:         true,
		xNames:    [3]string{"X-Ratelimit-Limit", "X-Ratelimit-Remaining", "X-Ratelimit-Reset"},
		ietfNames: [2]string{"Ratelimit-Policy", "Ratelimit"},
	}
}

// maxHeaders is the most header fields one response gets: 3 + 2 + 6.
const maxHeaders = 11

// headerValues records where each header's value ends in the buffer its
// values are appended to, so that a response's rate-limit headers cost one
// allocation (the default three X-RateLimit headers) or two however many
// there are: one string holding every value and one array backing every
// []string.
type headerValues struct {
	names [maxHeaders]string
	ends  [maxHeaders]int
	n     int
}

func (v *headerValues) end(name string, b []byte) {
	v.names[v.n], v.ends[v.n] = name, len(b)
	v.n++
}

// smallValues is the one allocation behind up to three short header
// values: their text and the array their []strings share.
type smallValues struct {
	vals [3]string
	text [64]byte
}

func (v *headerValues) set(h http.Header, b []byte) {
	if v.n == 0 {
		return
	}
	var s string
	var vals []string
	if v.n <= len(smallValues{}.vals) && len(b) <= len(smallValues{}.text) {
		sv := new(smallValues)
		copy(sv.text[:], b)
		// The text is never written again, so it may back a string.
		s, vals = unsafe.String(&sv.text[0], len(b)), sv.vals[:v.n]
	} else {
		s, vals = string(b), make([]string, v.n)
	}
	start := 0
	for i := range v.n {
		vals[i] = s[start:v.ends[i]]
		start = v.ends[i]
		h[v.names[i]] = vals[i : i+1 : i+1]
	}
}

// setHeaders sets the configured headers for the results of a request's
// charges; idx[j] is the policy of rs[j], or -1 for a charge that is not a
// policy's (the penalty box's).
func (l *limiter) setHeaders(h http.Header, rs []Result, idx []int8) {
	var buf [384]byte
	var v headerValues
	b := l.appendHeaders(buf[:0], &v, rs, idx)
	v.set(h, b)
}

func (l *limiter) appendHeaders(b []byte, v *headerValues, rs []Result, idx []int8) []byte {
	hc := &l.headers
	if hc.x {
		j := l.binding(rs, idx, false)
		if j < 0 {
			j = l.binding(rs, idx, true)
		}
		if j >= 0 {
			r := &rs[j]
			b = l.appendBurst(b, r, idx[j])
			v.end(hc.xNames[0], b)
			b = strconv.AppendInt(b, r.Remaining, 10)
			v.end(hc.xNames[1], b)
			if hc.xDelta {
				b = strconv.AppendInt(b, ceilSeconds(r.ResetAfter), 10)
			} else {
				b = strconv.AppendInt(b, ceilUnix(r.ResetAt), 10)
			}
			v.end(hc.xNames[2], b)
		}
	}
	if hc.ietf {
		b = l.appendIETF(b, v, rs, idx)
	}
	if hc.openai {
		for k, tokens := range [2]bool{false, true} {
			if j := l.binding(rs, idx, tokens); j >= 0 {
				r := &rs[j]
				b = strconv.AppendInt(b, r.Limit.Burst, 10)
				v.end(hc.oaNames[3*k], b)
				b = strconv.AppendInt(b, r.Remaining, 10)
				v.end(hc.oaNames[3*k+1], b)
				b = appendDuration(b, r.ResetAfter)
				v.end(hc.oaNames[3*k+2], b)
			}
		}
	}
	return b
}

// appendBurst appends a result's burst, precomputed for a fixed limit.
func (l *limiter) appendBurst(b []byte, r *Result, policy int8) []byte {
	if p := &l.policies[policy]; p.burst != "" && p.Limit == r.Limit {
		return append(b, p.burst...)
	}
	return strconv.AppendInt(b, r.Limit.Burst, 10)
}

// appendIETF writes RateLimit-Policy and RateLimit, one list member per
// policy: "name";q=<burst>;w=<window s> and "name";r=<remaining>;t=<s until full>.
func (l *limiter) appendIETF(b []byte, v *headerValues, rs []Result, idx []int8) []byte {
	for field := range 2 {
		first := true
		for j := range rs {
			if idx[j] < 0 {
				continue
			}
			if !first {
				b = append(b, ", "...)
			}
			first = false
			r := &rs[j]
			b = append(b, '"')
			b = append(b, l.policies[idx[j]].Name...)
			if field == 0 {
				b = append(b, `";q=`...)
				b = strconv.AppendInt(b, r.Limit.Burst, 10)
				b = append(b, ";w="...)
				b = strconv.AppendInt(b, max(ceilSeconds(r.Limit.Window()), 1), 10)
			} else {
				b = append(b, `";r=`...)
				b = strconv.AppendInt(b, r.Remaining, 10)
				b = append(b, ";t="...)
				b = strconv.AppendInt(b, ceilSeconds(r.ResetAfter), 10)
			}
		}
		if !first {
			v.end(l.headers.ietfNames[field], b)
		}
	}
	return b
}

// binding returns the index of the result that binds the request among the
// request policies (tokens false) or the token policies: the denied one
// that asks for the longest wait, else the one with the fewest tokens
// left, else -1.
func (l *limiter) binding(rs []Result, idx []int8, tokens bool) int {
	best := -1
	for j := range rs {
		if idx[j] < 0 || l.policies[idx[j]].Tokens != tokens {
			continue
		}
		if best < 0 || tighter(&rs[j], &rs[best]) {
			best = j
		}
	}
	return best
}

func tighter(a, b *Result) bool {
	switch {
	case a.Allowed != b.Allowed:
		return !a.Allowed
	case !a.Allowed:
		return a.RetryAfter > b.RetryAfter
	case a.Remaining != b.Remaining:
		return a.Remaining < b.Remaining
	default:
		return a.ResetAfter > b.ResetAfter
	}
}

// ceilSeconds returns d in whole seconds, rounded up; 0 for d ≤ 0.
func ceilSeconds(d time.Duration) int64 {
	if d <= 0 {
		return 0
	}
	return int64((d + time.Second - 1) / time.Second)
}

// ceilUnix returns t as Unix seconds, rounded up.
func ceilUnix(t time.Time) int64 {
	s := t.Unix()
	if t.Nanosecond() > 0 {
		s++
	}
	return s
}

// appendDuration appends d, rounded up to the millisecond, as
// time.Duration's String writes it: "0s", "20ms", "1.5s", "6m0s", "1h0m1s".
func appendDuration(b []byte, d time.Duration) []byte {
	if d <= 0 {
		return append(b, "0s"...)
	}
	ms := int64((d + time.Millisecond - 1) / time.Millisecond)
	if ms < 1000 {
		b = strconv.AppendInt(b, ms, 10)
		return append(b, "ms"...)
	}
	secs, frac := ms/1000, ms%1000
	if h := secs / 3600; h > 0 {
		b = strconv.AppendInt(b, h, 10)
		b = append(b, 'h')
	}
	if secs >= 60 {
		b = strconv.AppendInt(b, secs/60%60, 10)
		b = append(b, 'm')
	}
	b = strconv.AppendInt(b, secs%60, 10)
	if frac > 0 {
		b = append(b, '.')
		digits := [3]byte{byte('0' + frac/100), byte('0' + frac/10%10), byte('0' + frac%10)}
		n := 3
		for digits[n-1] == '0' {
			n--
		}
		b = append(b, digits[:n]...)
	}
	return append(b, 's')
}
