package tollgate

import (
	"bytes"
	"encoding/json"
	"mime"
	"net/http"
	"strings"
	"sync"
)

// maxUsageCapture bounds the bytes the scanner keeps: the data of one SSE
// event, or the value of one "usage" member. Anything longer is skipped,
// never buffered.
const maxUsageCapture = 64 << 10

// usageScanner reads token usage out of a response body as it streams past,
// without buffering the body. For text/event-stream it joins each event's
// data lines and looks at the result; for anything else it tracks the JSON
// nesting byte by byte and keeps only the value of a "usage" (or Gemini
// "usageMetadata") member of the top-level object, or of the objects of a
// top-level array (Gemini's streamGenerateContent without alt=sse).
// Compressed bodies (any Content-Encoding but identity) are not read.
type usageScanner struct {
	mu    sync.Mutex
	mode  uint8
	found bool
	usage Usage
	// partial says the last usage read is provisional: Anthropic's
	// message_start counts the input and only the first output tokens
	// (the message_delta events after it carry the output so far), and a
	// Gemini chunk without a finishReason counts the output so far.
	partial bool

	// SSE state: the current line and the current event's data.
	line      []byte
	data      []byte
	hasData   bool
	lineLong  bool
	eventLong bool
	afterCR   bool

	// JSON state.
	depth     int
	keyDepth  int // the depth of the objects whose members are read
	inString  bool
	escaped   bool
	key       []byte // the last string at keyDepth, up to 14 bytes
	capturing bool
	capDepth  int
	capture   []byte
}

const (
	modeSSE  = 1
	modeJSON = 2
	modeSkip = 3
)

func (s *usageScanner) write(h http.Header, p []byte, st *State) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.mode == 0 {
		s.mode = scanMode(h)
	}
	before, beforeSrc := s.usage, s.source()
	switch s.mode {
	case modeSSE:
		s.scanSSE(p)
	case modeJSON:
		s.scanJSON(p)
	}
	if src := s.source(); s.found && (s.usage != before || src != beforeSrc) {
		st.SetUsage(s.usage, src)
	}
}

// source is UsagePartial while the usage read is provisional.
func (s *usageScanner) source() UsageSource {
	if s.partial {
		return UsagePartial
	}
	return UsageObserved
}

func scanMode(h http.Header) uint8 {
	if enc := h.Get("Content-Encoding"); enc != "" && !strings.EqualFold(enc, "identity") {
		return modeSkip
	}
	if mt, _, err := mime.ParseMediaType(h.Get("Content-Type")); err == nil && mt == "text/event-stream" {
		return modeSSE
	}
	return modeJSON
}

// finish handles what the end of the body leaves pending: an SSE line
// without its newline, an event without its blank line. The spec discards
// such an event; the usage it carries is still what the request consumed.
func (s *usageScanner) finish() (Usage, UsageSource, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.mode == modeSSE {
		if len(s.line) > 0 || s.lineLong {
			s.sseLine()
		}
		s.dispatch()
	}
	return s.usage, s.source(), s.found
}

func (s *usageScanner) scanSSE(p []byte) {
	for len(p) > 0 {
		// The LF of a CRLF pair whose CR ended the previous line.
		if s.afterCR && p[0] == '\n' {
			p = p[1:]
		}
		s.afterCR = false
		i := bytes.IndexAny(p, "\r\n")
		if i < 0 {
			s.appendLine(p)
			return
		}
		s.appendLine(p[:i])
		s.sseLine()
		s.afterCR = p[i] == '\r'
		p = p[i+1:]
	}
}

func (s *usageScanner) appendLine(p []byte) {
	if s.lineLong {
		return
	}
	if len(s.line)+len(p) > maxUsageCapture {
		s.lineLong, s.line = true, s.line[:0]
		return
	}
	s.line = append(s.line, p...)
}

var (
	dataField = []byte("data:")
	usageWord = []byte(`"usage`)
)

// sseLine handles one complete line: a data line adds to the event, an
// empty line ends it.
func (s *usageScanner) sseLine() {
	line, long := s.line, s.lineLong
	s.line, s.lineLong = s.line[:0], false
	switch {
	case long:
		s.eventLong = true
	case len(line) == 0:
		s.dispatch()
	case bytes.HasPrefix(line, dataField):
		v := line[len(dataField):]
		if len(v) > 0 && v[0] == ' ' {
			v = v[1:]
		}
		if s.hasData {
			s.data = append(s.data, '\n')
		}
		if len(s.data)+len(v) > maxUsageCapture {
			s.eventLong = true
			return
		}
		s.data, s.hasData = append(s.data, v...), true
	}
}

func (s *usageScanner) dispatch() {
	data, skip := s.data, s.eventLong || !s.hasData
	s.data, s.hasData, s.eventLong = s.data[:0], false, false
	if skip || !bytes.Contains(data, usageWord) {
		return
	}
	var ev struct {
		Usage         *wireUsage   `json:"usage"`
		UsageMetadata *wireUsage   `json:"usageMetadata"`
		Message       *usageHolder `json:"message"`
		Response      *usageHolder `json:"response"`
		Candidates    []struct {
			FinishReason string `json:"finishReason"`
		} `json:"candidates"`
	}
	if json.Unmarshal(data, &ev) != nil {
		return
	}
	for _, u := range []*wireUsage{ev.Usage, messageUsage(ev.Response)} {
		if u != nil && s.merge(u.toUsage()) {
			s.partial = false
		}
	}
	// Gemini repeats the counts so far in every chunk; the last one, with
	// its finishReason, has the final ones.
	if ev.UsageMetadata != nil && s.merge(ev.UsageMetadata.toUsage()) {
		s.partial = true
		for _, c := range ev.Candidates {
			if c.FinishReason != "" {
				s.partial = false
			}
		}
	}
	// Anthropic's message_start: the input, and a provisional output
	// count that the message_delta events replace.
	if u := messageUsage(ev.Message); u != nil && s.merge(u.toUsage()) {
		s.partial = true
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
// output so far; Gemini repeats the totals in every chunk), so a non-zero
// field replaces the one before. It reports whether u counted anything.
func (s *usageScanner) merge(u Usage) bool {
	if u.IsZero() {
		return false
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
	return true
}

func (s *usageScanner) scanJSON(p []byte) {
	for _, c := range p {
		if s.capturing {
			s.captureByte(c)
		}
		if s.inString {
			s.stringByte(c)
			continue
		}
		switch c {
		case '"':
			s.inString = true
			if s.depth == s.keyDepth && !s.capturing {
				s.key = s.key[:0]
			}
		case ':':
			if s.depth == s.keyDepth && !s.capturing && (string(s.key) == "usage" || string(s.key) == "usageMetadata") {
				s.capturing, s.capDepth, s.capture = true, s.depth, s.capture[:0]
			}
		case '{', '[':
			if s.depth == 0 && s.keyDepth == 0 {
				s.keyDepth = 1
				if c == '[' {
					s.keyDepth = 2
				}
			}
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

func (s *usageScanner) stringByte(c byte) {
	switch {
	case s.escaped:
		s.escaped = false
	case c == '\\':
		s.escaped = true
	case c == '"':
		s.inString = false
	default:
		if s.depth == s.keyDepth && !s.capturing && len(s.key) <= len("usageMetadata") {
			s.key = append(s.key, c)
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

// toUsage picks one family of spellings, the first present of OpenAI chat
// (prompt/completion), OpenAI responses and Anthropic (input/output, with
// Anthropic's cache counts added to the input) and Gemini, so a body that
// carries two spellings of the same count is not counted twice.
func (w wireUsage) toUsage() Usage {
	var u Usage
	switch {
	case w.PromptTokens != 0 || w.CompletionTokens != 0:
		u.InputTokens, u.OutputTokens = w.PromptTokens, w.CompletionTokens
		if w.PromptTokensDetails != nil {
			u.CachedInputTokens = w.PromptTokensDetails.CachedTokens
		}
	case w.InputTokens != 0 || w.OutputTokens != 0 || w.CacheReadInputTokens != 0 || w.CacheCreationInputTokens != 0:
		u.InputTokens = w.InputTokens + w.CacheReadInputTokens + w.CacheCreationInputTokens
		u.OutputTokens = w.OutputTokens
		u.CachedInputTokens = w.CacheReadInputTokens
		if w.InputTokensDetails != nil {
			u.CachedInputTokens += w.InputTokensDetails.CachedTokens
		}
	default:
		u.InputTokens = w.PromptTokenCount
		u.OutputTokens = w.CandidatesTokenCount + w.ThoughtsTokenCount
		u.CachedInputTokens = w.CachedContentTokenCount
	}
	if u.InputTokens < 0 || u.OutputTokens < 0 || u.CachedInputTokens < 0 {
		return Usage{}
	}
	return u
}
