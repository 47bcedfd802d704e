package tollgate_test

import (
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"

	"github.com/tollgate/tollgate"
)

// observe writes body through the State's writer in chunks of size n and
// returns what the scanner found.
func observe(contentType, body string, n int) (tollgate.Usage, tollgate.UsageSource) {
	var st *tollgate.State
	h := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w, _, st = tollgate.Begin(w, r)
		st.ObserveUsage()
		w.Header().Set("Content-Type", contentType)
		for i := 0; i < len(body); i += n {
			_, _ = w.Write([]byte(body[i:min(i+n, len(body))]))
		}
	})
	h.ServeHTTP(httptest.NewRecorder(), httptest.NewRequest("GET", "/", nil))
	return st.Usage()
}

func TestUsageScanner(t *testing.T) {
	openAIStream := "data: {\"choices\":[{\"delta\":{\"content\":\"hi\"}}],\"usage\":null}\n\n" +
		"data: {\"choices\":[],\"usage\":{\"prompt_tokens\":12,\"completion_tokens\":34,\"total_tokens\":46,\"prompt_tokens_details\":{\"cached_tokens\":2}}}\n\n" +
		"data: [DONE]\n\n"
	anthropicStream := "event: message_start\ndata: {\"type\":\"message_start\",\"message\":{\"id\":\"m\",\"usage\":{\"input_tokens\":25,\"cache_read_input_tokens\":5,\"output_tokens\":1}}}\n\n" +
		"event: content_block_delta\ndata: {\"type\":\"content_block_delta\",\"delta\":{\"text\":\"usage\"}}\n\n" +
		"event: message_delta\ndata: {\"type\":\"message_delta\",\"usage\":{\"output_tokens\":15}}\n\n"
	cases := []struct {
		name        string
		contentType string
		body        string
		want        tollgate.Usage
		found       bool
	}{
		{"openai json", "application/json", `{"id":"x","choices":[{"message":{"content":"{\"usage\":{\"prompt_tokens\":999}}"}}],"usage":{"prompt_tokens":10,"completion_tokens":20,"total_tokens":30}}`, tollgate.Usage{InputTokens: 10, OutputTokens: 20}, true},
		{"usage first", "application/json; charset=utf-8", `{"usage":{"prompt_tokens":1,"completion_tokens":2},"id":"x"}`, tollgate.Usage{InputTokens: 1, OutputTokens: 2}, true},
		{"nested usage ignored", "application/json", `{"data":{"usage":{"prompt_tokens":5}}}`, tollgate.Usage{}, false},
		{"usage null", "application/json", `{"usage":null}`, tollgate.Usage{}, false},
		{"responses api", "application/json", `{"object":"response","usage":{"input_tokens":7,"output_tokens":8,"input_tokens_details":{"cached_tokens":3}}}`, tollgate.Usage{InputTokens: 7, OutputTokens: 8, CachedInputTokens: 3}, true},
		{"gemini", "application/json", `{"candidates":[],"usageMetadata":{"promptTokenCount":4,"candidatesTokenCount":6,"thoughtsTokenCount":1}}`, tollgate.Usage{InputTokens: 4, OutputTokens: 7}, true},
		{"openai stream", "text/event-stream", openAIStream, tollgate.Usage{InputTokens: 12, OutputTokens: 34, CachedInputTokens: 2}, true},
		{"anthropic stream", "text/event-stream", anthropicStream, tollgate.Usage{InputTokens: 30, OutputTokens: 15, CachedInputTokens: 5}, true},
		{"crlf stream without final newline", "text/event-stream", "data: {\"usage\":{\"prompt_tokens\":3,\"completion_tokens\":4}}", tollgate.Usage{InputTokens: 3, OutputTokens: 4}, true},
		{"negative counts ignored", "application/json", `{"usage":{"prompt_tokens":-5}}`, tollgate.Usage{}, false},
		{"not json", "text/plain", `hello "usage": {`, tollgate.Usage{}, false},
	}
	for _, tc := range cases {
		for _, n := range []int{1, 3, 7, 1 << 20} {
			u, src := observe(tc.contentType, tc.body, n)
			assert.Equal(t, tc.want, u, "%s (chunks of %d)", tc.name, n)
			if tc.found {
				assert.Equal(t, tollgate.UsageObserved, src, tc.name)
			} else {
				assert.Equal(t, tollgate.UsageUnknown, src, tc.name)
			}
		}
	}
}

func TestUsageScannerSkipsOverlongLines(t *testing.T) {
	long := "data: {\"usage\":{\"prompt_tokens\":1},\"pad\":\"" + strings.Repeat("x", 100<<10) + "\"}\n\n"
	u, src := observe("text/event-stream", long+"data: {\"usage\":{\"prompt_tokens\":2,\"completion_tokens\":1}}\n\n", 4096)
	assert.Equal(t, tollgate.UsageObserved, src)
	assert.Equal(t, tollgate.Usage{InputTokens: 2, OutputTokens: 1}, u)
}

func FuzzUsageScanner(f *testing.F) {
	f.Add("application/json", `{"usage":{"prompt_tokens":1,"completion_tokens":2}}`, 3)
	f.Add("text/event-stream", "data: {\"usage\":{\"input_tokens\":1}}\r\n\r\n", 1)
	f.Add("application/json", `{"usage":{"a":[}}}}]]]`, 2)
	f.Fuzz(func(t *testing.T, ct, body string, n int) {
		if n <= 0 || n > 1<<16 {
			n = 1
		}
		u, _ := observe(ct, body, n)
		if u.InputTokens < 0 || u.OutputTokens < 0 || u.CachedInputTokens < 0 {
			t.Fatalf("negative usage %+v", u)
		}
	})
}

func TestUsageScannerFixes(t *testing.T) {
	cases := []struct {
		name, ct, enc, body string
		want                tollgate.Usage
	}{
		{"two spellings count once", "application/json", "", `{"usage":{"prompt_tokens":10,"completion_tokens":5,"input_tokens":10,"output_tokens":5}}`, tollgate.Usage{InputTokens: 10, OutputTokens: 5}},
		{"gemini array", "application/json", "", `[{"candidates":[]},{"candidates":[],"usageMetadata":{"promptTokenCount":10,"candidatesTokenCount":5}}]`, tollgate.Usage{InputTokens: 10, OutputTokens: 5}},
		{"gzip skipped", "application/json", "gzip", `{"usage":{"prompt_tokens":10}}`, tollgate.Usage{}},
		{"multi-line data", "text/event-stream", "", "data: {\"usage\":\r\ndata: {\"prompt_tokens\":4,\r\ndata: \"completion_tokens\":6}}\r\n\r\n", tollgate.Usage{InputTokens: 4, OutputTokens: 6}},
		{"cr line ends", "text/event-stream", "", "data: {\"usage\":\rdata: {\"prompt_tokens\":1,\"completion_tokens\":2}}\r\r", tollgate.Usage{InputTokens: 1, OutputTokens: 2}},
	}
	for _, tc := range cases {
		for _, n := range []int{1, 2, 5, 1 << 20} {
			var st *tollgate.State
			h := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				w, _, st = tollgate.Begin(w, r)
				st.ObserveUsage()
				w.Header().Set("Content-Type", tc.ct)
				if tc.enc != "" {
					w.Header().Set("Content-Encoding", tc.enc)
				}
				for i := 0; i < len(tc.body); i += n {
					_, _ = w.Write([]byte(tc.body[i:min(i+n, len(tc.body))]))
				}
			})
			h.ServeHTTP(httptest.NewRecorder(), httptest.NewRequest("GET", "/", nil))
			u, _ := st.Usage()
			assert.Equal(t, tc.want, u, "%s (chunks of %d)", tc.name, n)
		}
	}
}

// Anthropic's message_start reports the input and a provisional output
// count: until a message_delta replaces it, the usage is partial. A
// reported usage outranks both; observed and partial replace each other.
func TestUsagePartial(t *testing.T) {
	start := "event: message_start\ndata: {\"type\":\"message_start\",\"message\":{\"usage\":{\"input_tokens\":25,\"output_tokens\":1}}}\n\n"
	delta := "event: message_delta\ndata: {\"type\":\"message_delta\",\"usage\":{\"output_tokens\":15}}\n\n"
	for _, n := range []int{1, 5, 1 << 20} {
		u, src := observe("text/event-stream", start, n)
		assert.Equal(t, tollgate.UsagePartial, src)
		assert.Equal(t, tollgate.Usage{InputTokens: 25, OutputTokens: 1}, u)

		u, src = observe("text/event-stream", start+delta, n)
		assert.Equal(t, tollgate.UsageObserved, src)
		assert.Equal(t, tollgate.Usage{InputTokens: 25, OutputTokens: 15}, u)
	}

	// A one-token answer: message_delta repeats message_start's count.
	u, src := observe("text/event-stream", start+strings.Replace(delta, "15", "1", 1), 7)
	assert.Equal(t, tollgate.UsageObserved, src)
	assert.Equal(t, tollgate.Usage{InputTokens: 25, OutputTokens: 1}, u)

	// Gemini's chunks carry the counts so far; the one with a
	// finishReason carries the final ones.
	gemini := func(out int, finish string) string {
		return fmt.Sprintf("data: {\"candidates\":[{\"content\":{\"parts\":[{\"text\":\"x\"}]}%s}],\"usageMetadata\":{\"promptTokenCount\":9,\"candidatesTokenCount\":%d}}\n\n", finish, out)
	}
	u, src = observe("text/event-stream", gemini(3, "")+gemini(6, ""), 5)
	assert.Equal(t, tollgate.UsagePartial, src, "cut before the finishReason")
	assert.Equal(t, tollgate.Usage{InputTokens: 9, OutputTokens: 6}, u)
	u, src = observe("text/event-stream", gemini(3, "")+gemini(8, `,"finishReason":"STOP"`), 5)
	assert.Equal(t, tollgate.UsageObserved, src)
	assert.Equal(t, tollgate.Usage{InputTokens: 9, OutputTokens: 8}, u)

	var st tollgate.State
	st.SetUsage(tollgate.Usage{InputTokens: 9}, tollgate.UsageUnknown)
	st.SetUsage(tollgate.Usage{InputTokens: 1}, tollgate.UsagePartial)
	st.SetUsage(tollgate.Usage{InputTokens: 7}, tollgate.UsageUnknown)
	u, src = st.Usage()
	assert.Equal(t, tollgate.UsagePartial, src, "an unknown usage replaces no known one")
	assert.Equal(t, int64(1), u.InputTokens)
	st.SetUsage(tollgate.Usage{InputTokens: 2}, tollgate.UsageObserved)
	u, src = st.Usage()
	assert.Equal(t, tollgate.UsageObserved, src)
	assert.Equal(t, int64(2), u.InputTokens)
	st.SetUsage(tollgate.Usage{InputTokens: 3}, tollgate.UsageReported)
	st.SetUsage(tollgate.Usage{InputTokens: 4}, tollgate.UsagePartial)
	st.SetUsage(tollgate.Usage{InputTokens: 5}, tollgate.UsageObserved)
	u, src = st.Usage()
	assert.Equal(t, tollgate.UsageReported, src)
	assert.Equal(t, int64(3), u.InputTokens)
}
