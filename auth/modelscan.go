package auth

import (
	"bytes"
	"encoding/json"
	"strings"
)

// maxModelCapture bounds the raw bytes kept of a top-level key or of the
// model's value. A longer key cannot be "model", however escaped; a longer
// value is not a model name anyone serves.
const maxModelCapture = 256

// modelStatus is what a modelScanner has learnt so far.
type modelStatus uint8

const (
	modelPending   modelStatus = iota // no model yet, object not finished
	modelFound                        // a string model was read
	modelAbsent                       // the object ended with no model member
	modelInvalid                      // not a JSON object, or a model that is not a string
	modelDuplicate                    // the model member appears twice
)

// modelScanner finds the top-level "model" member of a JSON object as the
// bytes stream past, keeping nothing but a small capture buffer. It checks
// only as much syntax as it needs: the handler's own decoder judges the
// rest.
//
// Keys are compared after unescaping and without regard to ASCII case,
// because that is how encoding/json matches struct fields, and a second
// member that decodes to "model" is reported: a body whose model check and
// handler could disagree about the model is refused, not guessed at.
type modelScanner struct {
	started, ended bool
	depth          int
	inString       bool
	escaped        bool
	expectKey      bool // at depth 1 the next string is a member name
	modelKey       bool // the member name just read decodes to "model"
	awaitValue     bool // after `"model":`, before its value
	seenModelKey   bool

	capturing  bool // capturing the current depth-1 string
	captureKey bool
	overflow   bool
	n          int
	raw        [maxModelCapture]byte

	status modelStatus
	model  string
}

// feed scans the next bytes of the body.
func (s *modelScanner) feed(p []byte) {
	for i := 0; i < len(p); i++ {
		if s.ended || s.status == modelInvalid || s.status == modelDuplicate {
			return
		}
		if s.inString {
			if !s.escaped {
				j := bytes.IndexAny(p[i:], `"\`)
				if j < 0 {
					s.capture(p[i:])
					return
				}
				s.capture(p[i : i+j])
				i += j
			}
			s.stringByte(p[i])
			continue
		}
		s.structural(p[i])
	}
}

func (s *modelScanner) stringByte(c byte) {
	switch {
	case s.escaped:
		s.escaped = false
	case c == '\\':
		s.escaped = true
	default: // the closing quote
		s.inString = false
		if s.capturing {
			s.capturing = false
			s.endString()
		}
		return
	}
	s.capture([]byte{c})
}

func (s *modelScanner) structural(c byte) {
	switch c {
	case ' ', '\t', '\r', '\n':
		return
	}
	if !s.started {
		s.started = true
		if c != '{' {
			s.status = modelInvalid
			return
		}
		s.depth, s.expectKey = 1, true
		return
	}
	if s.awaitValue {
		s.awaitValue = false
		if c != '"' {
			s.status = modelInvalid // null, a number, an object…
			return
		}
		s.beginCapture(false)
		return
	}
	switch c {
	case '"':
		s.inString = true
		if s.depth == 1 && s.expectKey {
			s.beginCapture(true)
		}
	case ':':
		if s.depth == 1 {
			s.expectKey = false
			s.awaitValue, s.modelKey = s.modelKey, false
		}
	case ',':
		if s.depth == 1 {
			s.expectKey = true
		}
	case '{', '[':
		s.depth++
	case '}', ']':
		s.depth--
		if s.depth == 0 {
			s.ended = true
			if s.status == modelPending {
				s.status = modelAbsent
			}
		}
	}
}

func (s *modelScanner) beginCapture(key bool) {
	s.inString, s.capturing, s.captureKey = true, true, key
	s.n, s.overflow = 0, false
}

func (s *modelScanner) capture(p []byte) {
	if !s.capturing || s.overflow {
		return
	}
	if s.n+len(p) > len(s.raw) {
		s.overflow = true
		return
	}
	s.n += copy(s.raw[s.n:], p)
}

func (s *modelScanner) endString() {
	raw := s.raw[:s.n]
	if s.captureKey {
		if s.overflow || !isModelName(raw) {
			return
		}
		if s.seenModelKey {
			s.status = modelDuplicate
			return
		}
		s.seenModelKey, s.modelKey = true, true
		return
	}
	model, ok := unescape(raw)
	if s.overflow || !ok {
		s.status = modelInvalid
		return
	}
	s.model, s.status = model, modelFound
}

// isModelName reports whether the raw (still escaped) member name decodes
// to "model" in any ASCII case.
func isModelName(raw []byte) bool {
	if bytes.IndexByte(raw, '\\') < 0 {
		return len(raw) == len("model") && strings.EqualFold(string(raw), "model")
	}
	name, ok := unescape(raw)
	return ok && strings.EqualFold(name, "model")
}

// unescape decodes the body of a JSON string.
func unescape(raw []byte) (string, bool) {
	if bytes.IndexByte(raw, '\\') < 0 {
		return string(raw), true
	}
	quoted := make([]byte, 0, len(raw)+2)
	quoted = append(append(append(quoted, '"'), raw...), '"')
	var out string
	if json.Unmarshal(quoted, &out) != nil {
		return "", false
	}
	return out, true
}
