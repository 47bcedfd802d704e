package sse

import (
	"errors"
	"io"
	"strings"
	"testing"
	"testing/iotest"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// readerCase is one stream and what the WHATWG algorithm makes of it.
type readerCase struct {
	name     string
	in       string
	events   []Event
	comments []string
	lastID   string
	retry    time.Duration
}

var readerCases = []readerCase{
	{name: "one event", in: "data: hello\n\n", events: []Event{{Data: "hello"}}},
	{name: "BOM stripped", in: "\xEF\xBB\xBFdata: a\n\n", events: []Event{{Data: "a"}}},
	{name: "only one BOM stripped", in: "\xEF\xBB\xBF\xEF\xBB\xBFdata: a\n\ndata: b\n\n", events: []Event{{Data: "b"}}},
	{name: "BOM later is data", in: "data: \xEF\xBB\xBFa\n\n", events: []Event{{Data: "\uFEFFa"}}},
	{name: "partial BOM", in: "\xEF\xBBdata: a\n\n", events: nil},
	{name: "CR line ends", in: "data: a\rdata: b\r\r", events: []Event{{Data: "a\nb"}}},
	{name: "CRLF line ends", in: "data: a\r\ndata: b\r\n\r\n", events: []Event{{Data: "a\nb"}}},
	{name: "mixed line ends", in: "data: a\n\rdata: b\r\n\n", events: []Event{{Data: "a"}, {Data: "b"}}},
	{name: "LF CR is two breaks", in: "data: a\n\r", events: []Event{{Data: "a"}}},
	{name: "comments ignored", in: ": hello\ndata: a\n:\n:  two\n\n", events: []Event{{Data: "a"}}, comments: []string{"hello", "", " two"}},
	{name: "one leading space stripped", in: "data:  a\n\ndata:a\n\ndata:\n\n", events: []Event{{Data: " a"}, {Data: "a"}, {Data: ""}}},
	{name: "tab kept", in: "data:\tx\n\n", events: []Event{{Data: "\tx"}}},
	{name: "field without colon", in: "data\n\n", events: []Event{{Data: ""}}},
	{name: "multi-line data", in: "data: a\ndata:\ndata: b\n\n", events: []Event{{Data: "a\n\nb"}}},
	{name: "colon in value", in: "data: a: b\n\n", events: []Event{{Data: "a: b"}}},
	{name: "event type, reset by a blank line", in: "event: add\ndata: 1\n\nevent: x\n\ndata: 2\n\n",
		events: []Event{{Type: "add", Data: "1"}, {Data: "2"}}},
	{name: "event type keeps inner space", in: "event:  x\ndata\n\n", events: []Event{{Type: " x"}}},
	{name: "id persists", in: "id: 1\ndata: a\n\ndata: b\n\n", events: []Event{{ID: "1", Data: "a"}, {ID: "1", Data: "b"}}, lastID: "1"},
	{name: "empty id resets", in: "id: 1\ndata: a\n\nid\ndata: b\n\n", events: []Event{{ID: "1", Data: "a"}, {Data: "b"}}},
	{name: "id with NUL ignored", in: "id: 1\n\nid: 2\x003\ndata: a\n\n", events: []Event{{ID: "1", Data: "a"}}, lastID: "1"},
	{name: "id set without dispatch", in: "id: 7\n\n", lastID: "7"},
	{name: "retry", in: "retry: 1500\n\n", retry: 1500 * time.Millisecond},
	{name: "retry on its event", in: "retry: 200\ndata: a\n\ndata: b\n\n",
		events: []Event{{Data: "a", Retry: 200 * time.Millisecond}, {Data: "b"}}, retry: 200 * time.Millisecond},
	{name: "retry digits only", in: "retry: 10\n\nretry: 15x\n\nretry:  20\n\nretry: -1\n\nretry:\n\nretry: +3\n\n", retry: 10 * time.Millisecond},
	{name: "retry too large ignored", in: "retry: 5\n\nretry: 99999999999999999999\n\n", retry: 5 * time.Millisecond},
	{name: "unknown field ignored", in: "foo: bar\ndata: a\n\n", events: []Event{{Data: "a"}}},
	{name: "field names are case-sensitive", in: "Data: a\n\n"},
	{name: "space before colon", in: "data : a\n\n"},
	{name: "no dispatch without data", in: "event: x\n\n\n\n"},
	{name: "incomplete event discarded", in: "data: a\n\ndata: b\n", events: []Event{{Data: "a"}}},
	{name: "unterminated line discarded", in: "data: a"},
	{name: "invalid UTF-8 replaced", in: "data: \xff\xfe\n\n", events: []Event{{Data: "\uFFFD\uFFFD"}}},
	{name: "truncated sequence is one U+FFFD", in: "data: \xe2\x82x\n\n", events: []Event{{Data: "\uFFFDx"}}},
	{name: "surrogate bytes", in: "data: \xed\xa0\x80\n\n", events: []Event{{Data: "\uFFFD\uFFFD\uFFFD"}}},
	{name: "NUL in data kept", in: "data: a\x00b\n\n", events: []Event{{Data: "a\x00b"}}},
	{name: "empty stream", in: ""},
}

func TestReader(t *testing.T) {
	for _, tt := range readerCases {
		t.Run(tt.name, func(t *testing.T) {
			var comments []string
			r := NewReader(strings.NewReader(tt.in), OnComment(func(c string) { comments = append(comments, c) }))
			var events []Event
			for {
				ev, err := r.Next()
				if err != nil {
					require.ErrorIs(t, err, io.EOF)
					break
				}
				events = append(events, ev)
			}
			assert.Equal(t, tt.events, events)
			assert.Equal(t, tt.comments, comments)
			assert.Equal(t, tt.lastID, r.LastEventID())
			assert.Equal(t, tt.retry, r.Retry())
			_, err := r.Next()
			assert.ErrorIs(t, err, io.EOF, "EOF is final")

			// The reference model agrees with the hand-written answers.
			ref := referenceParse([]byte(tt.in), DefaultMaxLineLength)
			assert.Equal(t, tt.events, ref.events, "reference model")
			assert.Equal(t, tt.comments, ref.comments, "reference model")
		})
	}
}

func TestReaderChunking(t *testing.T) {
	readers := map[string]func(io.Reader) io.Reader{
		"one byte": iotest.OneByteReader,
		"half":     iotest.HalfReader,
		"data+err": iotest.DataErrReader,
	}
	for _, tt := range readerCases {
		want, wantComments := readAll(t, strings.NewReader(tt.in))
		for name, wrap := range readers {
			got, gotComments := readAll(t, wrap(strings.NewReader(tt.in)))
			assert.Equal(t, want, got, "%s: %s", tt.name, name)
			assert.Equal(t, wantComments, gotComments, "%s: %s", tt.name, name)
		}
	}
}

func TestReaderLineTooLong(t *testing.T) {
	long := "data: " + strings.Repeat("x", 20)
	tests := []struct {
		name   string
		in     string
		events int
	}{
		{"terminated", "data: ok\n\n" + long + "\n\n", 1},
		{"unterminated at EOF", "data: ok\n\n" + long, 1},
		{"first line", long + "\r", 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			for _, src := range []io.Reader{strings.NewReader(tt.in), iotest.OneByteReader(strings.NewReader(tt.in))} {
				r := NewReader(src, MaxLineLength(16))
				for range tt.events {
					_, err := r.Next()
					require.NoError(t, err)
				}
				_, err := r.Next()
				require.ErrorIs(t, err, ErrLineTooLong)
				assert.Contains(t, err.Error(), "16")
				_, again := r.Next()
				assert.Equal(t, err, again, "the error is final")
			}
		})
	}
	t.Run("exactly the limit", func(t *testing.T) {
		line := "data: " + strings.Repeat("y", 10) // 16 bytes
		events, _ := readAll(t, iotest.OneByteReader(strings.NewReader(line+"\r\n\r\n")), MaxLineLength(16))
		require.Len(t, events, 1)
		assert.Equal(t, strings.Repeat("y", 10), events[0].Data)
	})
	t.Run("default limit", func(t *testing.T) {
		r := NewReader(strings.NewReader("data: x\n\n"), MaxLineLength(0))
		assert.Equal(t, DefaultMaxLineLength, r.max)
	})
}

func TestReaderReadErrors(t *testing.T) {
	boom := errors.New("boom")
	r := NewReader(io.MultiReader(strings.NewReader("data: a\n\ndata: b\n"), iotest.ErrReader(boom)))
	ev, err := r.Next()
	require.NoError(t, err)
	assert.Equal(t, "a", ev.Data)
	_, err = r.Next()
	assert.ErrorIs(t, err, boom)
	_, err = r.Next()
	assert.ErrorIs(t, err, boom, "the error is final")

	r = NewReader(&dataAndError{data: "data: a\n\ndata: b", err: boom})
	ev, err = r.Next()
	require.NoError(t, err, "bytes that come with an error are parsed first")
	assert.Equal(t, "a", ev.Data)
	_, err = r.Next()
	assert.ErrorIs(t, err, boom)

	_, err = NewReader(stuck{}).Next()
	assert.ErrorIs(t, err, io.ErrNoProgress)
}

type stuck struct{}

func (stuck) Read([]byte) (int, error) { return 0, nil }

// dataAndError returns all its data and its error from one Read.
type dataAndError struct {
	data string
	err  error
}

func (d *dataAndError) Read(p []byte) (int, error) {
	n := copy(p, d.data)
	d.data = d.data[n:]
	return n, d.err
}

// TestReaderDoesNotWaitAfterCR checks that an event ended by CR CR is
// dispatched at once, without waiting for a byte that might be an LF.
func TestReaderDoesNotWaitAfterCR(t *testing.T) {
	pr, pw := io.Pipe()
	defer pw.Close()
	go func() { _, _ = io.WriteString(pw, "data: now\r\r") }()
	got := make(chan Event, 1)
	go func() {
		ev, err := NewReader(pr).Next()
		assert.NoError(t, err)
		got <- ev
	}()
	select {
	case ev := <-got:
		assert.Equal(t, "now", ev.Data)
	case <-time.After(10 * time.Second):
		t.Fatal("the reader waited for more input after CR")
	}
}

func TestDecode(t *testing.T) {
	tests := []struct{ in, want string }{
		{"", ""},
		{"abc", "abc"},
		{"é日🙂", "é日🙂"},
		{"\x80", "\uFFFD"},
		{"\xc0\xaf", "\uFFFD\uFFFD"},
		{"\xe0\x80\xaf", "\uFFFD\uFFFD\uFFFD"},
		{"\xe2\x82", "\uFFFD"},
		{"\xe2\x82\xe2\x82\xac", "\uFFFD€"},
		{"\xf0\x9f\x99", "\uFFFD"},
		{"\xf0\x9f\x99x", "\uFFFDx"},
		{"\xf4\x90\x80\x80", "\uFFFD\uFFFD\uFFFD\uFFFD"},
		{"\xf5", "\uFFFD"},
		{"a\xffb", "a\uFFFDb"},
	}
	for _, tt := range tests {
		assert.Equal(t, tt.want, decode([]byte(tt.in)), "input %q", tt.in)
		assert.Equal(t, tt.want, referenceDecode([]byte(tt.in)), "reference, input %q", tt.in)
	}
}
