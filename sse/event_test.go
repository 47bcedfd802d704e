package sse

import (
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestEventAppend(t *testing.T) {
	tests := []struct {
		name string
		ev   Event
		want string
	}{
		{"zero value still dispatches", Event{}, "data:\n\n"},
		{"plain data", Event{Data: "hello"}, "data: hello\n\n"},
		{"all fields", Event{Type: "delta", ID: "7", Data: "x", Retry: 1500 * time.Millisecond},
			"event: delta\nid: 7\nretry: 1500\ndata: x\n\n"},
		{"LF lines", Event{Data: "a\nb"}, "data: a\ndata: b\n\n"},
		{"CRLF lines", Event{Data: "a\r\nb"}, "data: a\ndata: b\n\n"},
		{"CR lines", Event{Data: "a\rb"}, "data: a\ndata: b\n\n"},
		{"CR CR is two breaks", Event{Data: "a\r\rb"}, "data: a\ndata:\ndata: b\n\n"},
		{"trailing break keeps an empty line", Event{Data: "a\n"}, "data: a\ndata:\n\n"},
		{"leading space survives the stripped one", Event{Data: " a"}, "data:  a\n\n"},
		{"colon in data", Event{Data: "k: v"}, "data: k: v\n\n"},
		{"retry rounds up to a millisecond", Event{Data: "x", Retry: time.Microsecond}, "retry: 1\ndata: x\n\n"},
		{"unicode", Event{Type: "ü", ID: "日本", Data: "🙂"}, "event: ü\nid: 日本\ndata: 🙂\n\n"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := tt.ev.Append([]byte("prefix|"))
			require.NoError(t, err)
			assert.Equal(t, "prefix|"+tt.want, string(got))
		})
	}
}

func TestEventValidate(t *testing.T) {
	tests := []struct {
		name string
		ev   Event
	}{
		{"LF in type", Event{Type: "a\nb"}},
		{"CR in type", Event{Type: "a\rb"}},
		{"LF in id", Event{ID: "1\n"}},
		{"CR in id", Event{ID: "\r1"}},
		{"NUL in id", Event{ID: "1\x002"}},
		{"negative retry", Event{Retry: -time.Second}},
		{"invalid UTF-8 data", Event{Data: "\xff"}},
		{"invalid UTF-8 type", Event{Type: "\xc3"}},
		{"invalid UTF-8 id", Event{ID: "\xed\xa0\x80"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := tt.ev.Validate()
			require.ErrorIs(t, err, ErrInvalidEvent)
			got, err := tt.ev.Append([]byte("kept"))
			require.ErrorIs(t, err, ErrInvalidEvent)
			assert.Equal(t, "kept", string(got), "nothing is appended on error")
		})
	}
	assert.NoError(t, Event{Type: "a b", ID: "x:y", Data: "\x00\n"}.Validate())
}

func TestCommentFrame(t *testing.T) {
	tests := []struct{ text, want string }{
		{"", ":\n\n"},
		{"keep-alive", ": keep-alive\n\n"},
		{"ZENMUX PROCESSING", ": ZENMUX PROCESSING\n\n"},
		{"two\nlines", ": two\n: lines\n\n"},
		{"cr\r\nlf", ": cr\n: lf\n\n"},
	}
	for _, tt := range tests {
		assert.Equal(t, tt.want, string(commentFrame(nil, tt.text)), "text %q", tt.text)
	}
}

func TestCutLine(t *testing.T) {
	tests := []struct {
		in, line, rest string
		found          bool
	}{
		{"", "", "", false},
		{"abc", "abc", "", false},
		{"a\nb", "a", "b", true},
		{"a\r\nb", "a", "b", true},
		{"a\rb", "a", "b", true},
		{"a\r", "a", "", true},
		{"\n\n", "", "\n", true},
	}
	for _, tt := range tests {
		line, rest, found := cutLine(tt.in)
		assert.Equal(t, []any{tt.line, tt.rest, tt.found}, []any{line, rest, found}, "input %q", tt.in)
		bl, br, bf := cutLine([]byte(tt.in))
		assert.Equal(t, []any{tt.line, tt.rest, tt.found}, []any{string(bl), string(br), bf}, "bytes %q", tt.in)
	}
}
