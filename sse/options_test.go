package sse

import (
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestKeepAliveConfig(t *testing.T) {
	tests := []struct {
		name string
		opts []Option
		want string
	}{
		{"zero interval", []Option{KeepAliveInterval(0)}, "not positive"},
		{"writer option", []Option{DoneData("x")}, "applies to NewStreams"},
		{"nil predicate", []Option{CommitEarly(nil)}, "nil"},
		{"bad comment", []Option{KeepAliveComment("a\rb")}, "one line"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			mw, err := KeepAlive(tt.opts...)
			require.ErrorIs(t, err, ErrConfig)
			assert.Contains(t, err.Error(), tt.want)
			assert.Nil(t, mw)
			assert.Panics(t, func() { MustKeepAlive(tt.opts...) })
		})
	}
}

func TestEventEndTrack(t *testing.T) {
	tests := []struct {
		writes   []string
		boundary bool
	}{
		{nil, true},
		{[]string{"\n"}, true},
		{[]string{"data: x"}, false},
		{[]string{"data: x\n"}, false},
		{[]string{"data: x\n\n"}, true},
		{[]string{"data: x\n", "\n"}, true},
		{[]string{"data: x\r\n"}, false},
		{[]string{"data: x\r\n\r\n"}, true},
		{[]string{"data: x\r", "\n"}, false},
		{[]string{"data: x\r", "\n", "\r\n"}, true},
		{[]string{"data: x\r\r"}, true},
		{[]string{"data: x\n\r\n"}, true},
		{[]string{"data: x\n\n", "data: y"}, false},
		{[]string{"data: x\n\n", ""}, true},
		{[]string{": c\n\nid: 1\n"}, false},
	}
	for _, tt := range tests {
		e := eventEnd{lineStart: true, boundary: true}
		for _, w := range tt.writes {
			e.track([]byte(w))
		}
		assert.Equal(t, tt.boundary, e.boundary, "writes %q", tt.writes)
		// The answer must agree with a parser: at a boundary, nothing is
		// pending, so one more blank line dispatches nothing new.
		events, _ := readAll(t, strings.NewReader(strings.Join(tt.writes, "")+"\n"))
		complete, _ := readAll(t, strings.NewReader(strings.Join(tt.writes, "")))
		if tt.boundary {
			assert.Len(t, events, len(complete), "writes %q", tt.writes)
		}
	}
}

func TestAcceptsEventStream(t *testing.T) {
	tests := []struct {
		accept []string
		want   bool
	}{
		{nil, false},
		{[]string{"application/json"}, false},
		{[]string{"text/event-stream"}, true},
		{[]string{"Text/Event-Stream"}, true},
		{[]string{"application/json, text/event-stream;q=0.5"}, true},
		{[]string{"application/json", "text/event-stream"}, true},
		{[]string{"text/event-stream;q=0"}, false},
		{[]string{"text/event-stream; q=0.000"}, false},
		{[]string{"text/event-stream; q=1"}, true},
		{[]string{"text/event-streams"}, false},
	}
	for _, tt := range tests {
		r := httptest.NewRequest(http.MethodGet, "/", nil)
		for _, v := range tt.accept {
			r.Header.Add("Accept", v)
		}
		assert.Equal(t, tt.want, AcceptsEventStream(r), "Accept %q", tt.accept)
	}
}
