package sse

import (
	"strconv"
	"strings"
	"time"
)

// This file is a second, deliberately naive implementation of the WHATWG
// event-stream interpretation, written straight from the standard's prose
// and sharing no code with Reader: it decodes the whole input at once,
// splits it into lines in one pass, and keeps the data buffer as a string
// exactly as the standard words it. The fuzz test holds Reader to it.

// refResult is everything the reference model observes.
type refResult struct {
	events   []Event
	comments []string
	lastID   string
	retry    time.Duration
	tooLong  bool // the model stopped at a line longer than the limit
}

// referenceParse interprets in as a complete stream, refusing lines longer
// than maxLine bytes (measured before decoding, without the line break).
func referenceParse(in []byte, maxLine int) refResult {
	if len(in) >= 3 && in[0] == 0xEF && in[1] == 0xBB && in[2] == 0xBF {
		in = in[3:]
	}
	var res refResult
	var data, eventType string
	var blockRetry time.Duration
	start := 0
	for i := 0; i < len(in); i++ {
		if in[i] != '\r' && in[i] != '\n' {
			continue
		}
		raw := in[start:i]
		if in[i] == '\r' && i+1 < len(in) && in[i+1] == '\n' {
			i++
		}
		start = i + 1
		if len(raw) > maxLine {
			res.tooLong = true
			return res
		}
		line := referenceDecode(raw)
		if line == "" { // dispatch
			if data == "" {
				data, eventType, blockRetry = "", "", 0
				continue
			}
			data = strings.TrimSuffix(data, "\n")
			res.events = append(res.events, Event{Type: eventType, ID: res.lastID, Data: data, Retry: blockRetry})
			data, eventType, blockRetry = "", "", 0
			continue
		}
		if line[0] == ':' {
			res.comments = append(res.comments, strings.TrimPrefix(line[1:], " "))
			continue
		}
		name, value := line, ""
		if j := strings.Index(line, ":"); j >= 0 {
			name, value = line[:j], strings.TrimPrefix(line[j+1:], " ")
		}
		switch name {
		case "event":
			eventType = value
		case "data":
			data += value + "\n"
		case "id":
			if !strings.Contains(value, "\x00") {
				res.lastID = value
			}
		case "retry":
			if ms, ok := referenceRetry(value); ok {
				res.retry, blockRetry = ms, ms
			}
		}
	}
	if len(in)-start > maxLine { // the unterminated tail is discarded, unless too long
		res.tooLong = true
	}
	return res
}

func referenceRetry(value string) (time.Duration, bool) {
	if value == "" || strings.TrimLeft(value, "0123456789") != "" {
		return 0, false
	}
	n, err := strconv.ParseInt(value, 10, 64)
	if err != nil || n > int64(time.Duration(1<<63-1)/time.Millisecond) {
		return 0, false
	}
	return time.Duration(n) * time.Millisecond, true
}

// referenceDecode is the Encoding standard's UTF-8 decoder, step by step:
// bytes needed, bytes seen, and the lower and upper boundaries, with an
// offending byte pushed back onto the stream.
func referenceDecode(b []byte) string {
	var out []rune
	var cp rune
	needed, seen := 0, 0
	lower, upper := byte(0x80), byte(0xBF)
	for i := 0; i < len(b); i++ {
		c := b[i]
		if needed == 0 {
			switch {
			case c <= 0x7F:
				out = append(out, rune(c))
			case c >= 0xC2 && c <= 0xDF:
				needed, cp = 1, rune(c&0x1F)
			case c >= 0xE0 && c <= 0xEF:
				if c == 0xE0 {
					lower = 0xA0
				}
				if c == 0xED {
					upper = 0x9F
				}
				needed, cp = 2, rune(c&0x0F)
			case c >= 0xF0 && c <= 0xF4:
				if c == 0xF0 {
					lower = 0x90
				}
				if c == 0xF4 {
					upper = 0x8F
				}
				needed, cp = 3, rune(c&0x07)
			default:
				out = append(out, 0xFFFD)
			}
			continue
		}
		if c < lower || c > upper {
			cp, needed, seen, lower, upper = 0, 0, 0, 0x80, 0xBF
			out = append(out, 0xFFFD)
			i-- // the byte starts over
			continue
		}
		lower, upper = 0x80, 0xBF
		cp = cp<<6 | rune(c&0x3F)
		seen++
		if seen == needed {
			out = append(out, cp)
			cp, needed, seen = 0, 0, 0
		}
	}
	if needed != 0 {
		out = append(out, 0xFFFD)
	}
	return string(out)
}
