package sse

import (
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// chunkReader hands out data in reads of 1, 2, … size bytes, cycling, so a
// stream's line breaks, BOM and CRLF pairs fall across reads in every way.
type chunkReader struct {
	data []byte
	size int
	next int
}

func (c *chunkReader) Read(p []byte) (int, error) {
	if len(c.data) == 0 {
		return 0, io.EOF
	}
	c.next = c.next%c.size + 1
	n := copy(p[:min(len(p), c.next)], c.data)
	c.data = c.data[n:]
	return n, nil
}

// FuzzReader holds Reader to the reference model: same events, comments,
// last event ID and reconnection time, and the same verdict on overlong
// lines, however the input is split into reads.
func FuzzReader(f *testing.F) {
	for _, tt := range readerCases {
		f.Add([]byte(tt.in), uint8(0), uint16(0))
		f.Add([]byte(tt.in), uint8(3), uint16(8))
	}
	f.Add([]byte("\xEF\xBB\xBF: c\r\nid: x\r\nretry: 7\r\ndata: a\r\n\r\n"), uint8(1), uint16(0))
	f.Fuzz(func(t *testing.T, in []byte, chunk uint8, maxLine uint16) {
		limit := DefaultMaxLineLength
		if maxLine > 0 {
			limit = int(maxLine)
		}
		var src io.Reader = strings.NewReader(string(in))
		if chunk > 0 {
			src = &chunkReader{data: in, size: int(chunk)}
		}
		var comments []string
		r := NewReader(src, MaxLineLength(limit), OnComment(func(c string) { comments = append(comments, c) }))
		var events []Event
		var err error
		for {
			var ev Event
			if ev, err = r.Next(); err != nil {
				break
			}
			events = append(events, ev)
		}
		want := referenceParse(in, limit)
		if want.tooLong {
			require.ErrorIs(t, err, ErrLineTooLong)
		} else {
			require.ErrorIs(t, err, io.EOF)
		}
		assert.Equal(t, want.events, events)
		assert.Equal(t, want.comments, comments)
		assert.Equal(t, want.lastID, r.LastEventID())
		assert.Equal(t, want.retry, r.Retry())
	})
}

// FuzzRoundTrip checks that whatever a Writer accepts, a Reader reads back
// as it was sent: data line breaks come back as LF, retry in whole
// milliseconds, the ID stays in force for the next event.
func FuzzRoundTrip(f *testing.F) {
	f.Add("delta", "42", "hello\nworld", uint32(1500), "ZENMUX PROCESSING")
	f.Add("", "", "", uint32(0), "")
	f.Add(" sp", ":", "\r\n\r \n", uint32(1), "a\r\nb")
	f.Add("message", "日本", "data: [DONE]\n", uint32(0), ": nested")
	f.Fuzz(func(t *testing.T, typ, id, data string, retryMS uint32, comment string) {
		ev := Event{Type: typ, ID: id, Data: data, Retry: time.Duration(retryMS) * time.Millisecond}
		rec := newRecorder()
		sw, err := NewWriter(rec, httptest.NewRequest(http.MethodGet, "/", nil))
		require.NoError(t, err)
		commentErr := sw.Comment(comment)
		sendErr := sw.Send(ev)
		require.NoError(t, sw.Send(Event{Data: "next"}))
		if sendErr != nil {
			require.True(t, errors.Is(sendErr, ErrInvalidEvent))
			return
		}
		events, comments := readAll(t, strings.NewReader(rec.String()))
		require.Len(t, events, 2)
		want := ev
		want.Data = normalizeBreaks(data)
		assert.Equal(t, want, events[0])
		assert.Equal(t, Event{ID: id, Data: "next"}, events[1])
		if commentErr == nil {
			assert.Equal(t, strings.Split(normalizeBreaks(comment), "\n"), comments)
		}
	})
}

// normalizeBreaks turns CRLF and CR into LF, as a reader sees them.
func normalizeBreaks(s string) string {
	return strings.ReplaceAll(strings.ReplaceAll(s, "\r\n", "\n"), "\r", "\n")
}
