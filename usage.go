package tollgate

import (
	"bytes"
	"encoding/json"
	"mime"
	"net/http"
	"sync"
)

// maxUsageCapture bounds the bytes the scanner keeps: one SSE line, or the
// value of one top-level "usage" member. Anything longer is skipped, never
// buffered.
const maxUsageCapture = 64 << 10

// usageScanner reads token usage out of a response body as it streams past,
// without buffering the body. For text/event-stream it looks at each data
// line; for anything else it tracks the JSON nesting byte by byte and keeps
// only the value of a top-level "usage" (or Gemini "usageMetadata") member.
type usageScanner struct {
	mu    sync.Mutex
	mode  uint8 // 0 undecided, 1 SSE, 2 JSON
	found bool
	usage Usage

	line     []byte // SSE: the current line
	overlong bool   // SSE: the current line passed maxUsageCapture

	// JSON state.
	depth     int
	inString  bool
	escaped   bool
	key       []byte // the last string at depth 1, up to 14 bytes
	capturing bool
	capDepth  int
	capture   []byte
}

func newUsageScanner() *usageScanner { return &usageScanner{} }

const (
	modeSSE  = 1
	modeJSON = 2
)

func (s *usageScanner) write(h http.Header, p []byte, st *State) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.mode == 0 {
		s.mode = modeJSON
		if mt, _, err := mime.ParseMediaType(h.Get("Content-Type")); err == nil && mt == "text/event-stream" {
			s.mode = modeSSE
		}
	}
	before := s.usage
	if s.mode == modeSSE {
		s.scanSSE(p)
	} else {
		s.scanJSON(p)
	}
	if s.found && s.usage != before {
		st.SetUsage(s.usage, UsageObserved)
	}
}

// finish handles an SSE line left without its newline at the end of the
// body, and returns the usage found, if any.
func (s *usageScanner) finish() (Usage, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.mode == modeSSE && len(s.line) > 0 && !s.overlong {
		s.sseLine(s.line)
		s.line = s.line[:0]
	}
	return s.usage, s.found
}

func (s *usageScanner) scanSSE(p []byte) {
	for len(p) > 0 {
		i := bytes.IndexAny(p, "\r\n")
		if i < 0 {
			s.appendLine(p)
			return
		}
		s.appendLine(p[:i])
		if !s.overlong {
			s.sseLine(s.line)
		}
		s.line, s.overlong = s.line[:0], false
		p = p[i+1:]
	}
}

func (s *usageScanner) appendLine(p []byte) {
	if s.overlong {
		return
	}
	if len(s.line)+len(p) > maxUsageCapture {
		s.overlong = true
		s.line = s.line[:0]
		return
	}
	s.line = append(s.line, p...)
}

var (
	dataPrefix = []byte("data:")
	usageWord  = []byte(`"usage`)
)

func (s *usageScanner) sseLine(line []byte) {
	if !bytes.HasPrefix(line, dataPrefix) || !bytes.Contains(line, usageWord) {
		return
	}
	var ev struct {
		Usage         *wireUsage   `json:"usage"`
		UsageMetadata *wireUsage   `json:"usageMetadata"`
		Message       *usageHolder `json:"message"`
		Response      *usageHolder `json:"response"`
	}
	if json.Unmarshal(line[len(dataPrefix):], &ev) != nil {
		return
	}
	for _, u := range []*wireUsage{ev.Usage, ev.UsageMetadata, messageUsage(ev.Message), messageUsage(ev.Response)} {
		if u != nil {
			s.merge(u.toUsage())
		}
	}
}

// usageHolder is an object that nests a usage member: Anthropic's
// message_start "message", the Responses API's "response".
type usageHolder struct {
	Usage *wireUsage `json:"usage"`
}

func messageUsage(m *usageHolder) *wireUsage {
	if m == nil {
		return nil
	}
	return m.Usage
}

// merge folds one usage report into the total. Streams report cumulative
// counts (Anthropic's message_start carries the input, message_delta the
// output so far), so a non-zero field replaces the one before.
func (s *usageScanner) merge(u Usage) {
	if u.IsZero() {
		return
	}
	s.found = true
	if u.InputTokens != 0 {
		s.usage.InputTokens = u.InputTokens
	}
	if u.OutputTokens != 0 {
		s.usage.OutputTokens = u.OutputTokens
	}
	if u.CachedInputTokens != 0 {
		s.usage.CachedInputTokens = u.CachedInputTokens
	}
}

func (s *usageScanner) scanJSON(p []byte) {
	for _, c := range p {
		if s.capturing {
			s.captureByte(c)
		}
		if s.inString {
			switch {
			case s.escaped:
				s.escaped = false
			case c == '\\':
				s.escaped = true
			case c == '"':
				s.inString = false
			default:
				if s.depth == 1 && !s.capturing && len(s.key) <= len("usageMetadata") {
					s.key = append(s.key, c)
				}
			}
			continue
		}
		switch c {
		case '"':
			s.inString = true
			if s.depth == 1 && !s.capturing {
				s.key = s.key[:0]
			}
		case ':':
			if s.depth == 1 && !s.capturing && (string(s.key) == "usage" || string(s.key) == "usageMetadata") {
				s.capturing, s.capDepth, s.capture = true, s.depth, s.capture[:0]
			}
		case '{', '[':
			s.depth++
		case '}', ']':
			s.depth--
		}
		// The captured value ends when the nesting is back where it began:
		// its own closing brace, or the comma or brace after a scalar.
		if s.capturing && s.depth <= s.capDepth && (c == ',' || c == '}' || c == ']') {
			s.endCapture()
		}
	}
}

func (s *usageScanner) captureByte(c byte) {
	if len(s.capture) >= maxUsageCapture {
		s.capturing, s.capture = false, s.capture[:0]
		return
	}
	s.capture = append(s.capture, c)
}

func (s *usageScanner) endCapture() {
	s.capturing = false
	v := bytes.TrimSpace(s.capture)
	var u wireUsage
	if len(v) > 0 && v[0] == '{' && json.Unmarshal(v, &u) == nil {
		s.merge(u.toUsage())
	}
	s.capture = s.capture[:0]
}

// wireUsage is the union of the usage objects that OpenAI (chat and
// responses), Anthropic and Gemini put in their bodies.
type wireUsage struct {
	PromptTokens        int64 `json:"prompt_tokens"`
	CompletionTokens    int64 `json:"completion_tokens"`
	PromptTokensDetails *struct {
		CachedTokens int64 `json:"cached_tokens"`
	} `json:"prompt_tokens_details"`
	InputTokens        int64 `json:"input_tokens"`
	OutputTokens       int64 `json:"output_tokens"`
	InputTokensDetails *struct {
		CachedTokens int64 `json:"cached_tokens"`
	} `json:"input_tokens_details"`
	CacheReadInputTokens     int64 `json:"cache_read_input_tokens"`
	CacheCreationInputTokens int64 `json:"cache_creation_input_tokens"`
	PromptTokenCount         int64 `json:"promptTokenCount"`
	CandidatesTokenCount     int64 `json:"candidatesTokenCount"`
	ThoughtsTokenCount       int64 `json:"thoughtsTokenCount"`
	CachedContentTokenCount  int64 `json:"cachedContentTokenCount"`
}

func (w wireUsage) toUsage() Usage {
	u := Usage{
		InputTokens:       w.PromptTokens + w.InputTokens + w.CacheReadInputTokens + w.CacheCreationInputTokens + w.PromptTokenCount,
		OutputTokens:      w.CompletionTokens + w.OutputTokens + w.CandidatesTokenCount + w.ThoughtsTokenCount,
		CachedInputTokens: w.CacheReadInputTokens + w.CachedContentTokenCount,
	}
	if w.PromptTokensDetails != nil {
		u.CachedInputTokens += w.PromptTokensDetails.CachedTokens
	}
	if w.InputTokensDetails != nil {
		u.CachedInputTokens += w.InputTokensDetails.CachedTokens
	}
	if u.InputTokens < 0 || u.OutputTokens < 0 || u.CachedInputTokens < 0 {
		return Usage{}
	}
	return u
}
