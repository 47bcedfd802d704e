package sse

import (
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	apierrors "github.com/tollgate/tollgate/errors"
)

// pieces are the fragments random strings are made of: the characters
// that matter to the wire format, and some that merely look like they do.
var pieces = []string{"a", "Z", "0", " ", "  ", ":", "\n", "\r", "\r\n", "\t", "\x00", "é", "日本", "🙂",
	"\uFEFF", "data:", "id: ", "event:", "retry: 5", "[DONE]", "{\"k\":1}"}

func randomText(rng *rand.Rand, exclude string) string {
	var b strings.Builder
	for range rng.IntN(8) {
		p := pieces[rng.IntN(len(pieces))]
		if !strings.ContainsAny(p, exclude) {
			b.WriteString(p)
		}
	}
	return b.String()
}

// streamModel is what a reader must see: the events, the comments, in
// order, and the ID in force.
type streamModel struct {
	events   []Event
	comments []string
	lastID   string
}

// writeRandomStream drives a Writer with random calls and returns what a
// reader of its output must find.
func writeRandomStream(t *testing.T, rng *rand.Rand, sw *Writer) streamModel {
	var m streamModel
	for range rng.IntN(20) {
		switch rng.IntN(4) {
		case 0, 1:
			ev := Event{Type: randomText(rng, "\r\n"), ID: randomText(rng, "\r\n\x00"), Data: randomText(rng, "")}
			if rng.IntN(4) == 0 {
				ev.Retry = time.Duration(rng.IntN(100000)) * time.Millisecond
			}
			require.NoError(t, sw.Send(ev))
			if ev.ID != "" {
				m.lastID = ev.ID
			}
			m.events = append(m.events, Event{Type: ev.Type, ID: m.lastID, Data: normalizeBreaks(ev.Data), Retry: ev.Retry})
		case 2:
			v := map[string]string{randomText(rng, ""): randomText(rng, "")}
			typ := randomText(rng, "\r\n")
			require.NoError(t, sw.SendJSON(typ, v))
			b, err := json.Marshal(v)
			require.NoError(t, err)
			m.events = append(m.events, Event{Type: typ, ID: m.lastID, Data: string(b)})
		case 3:
			text := randomText(rng, "")
			require.NoError(t, sw.Comment(text))
			m.comments = append(m.comments, strings.Split(normalizeBreaks(text), "\n")...)
		}
	}
	require.NoError(t, sw.Done())
	m.events = append(m.events, Event{ID: m.lastID, Data: "[DONE]"})
	return m
}

// TestRoundTripProperty is the property test: for many seeded random
// streams, whatever the Writer emits, the Reader reads back identically,
// however the bytes are split into reads.
func TestRoundTripProperty(t *testing.T) {
	for seed := range uint64(300) {
		rng := rand.New(rand.NewPCG(seed, 0x55e))
		rec := newRecorder()
		sw, err := NewWriter(rec, dialectRequest(apierrors.OpenAI))
		require.NoError(t, err)
		want := writeRandomStream(t, rng, sw)

		src := &chunkReader{data: []byte(rec.String()), size: 1 + rng.IntN(64)}
		var comments []string
		r := NewReader(src, OnComment(func(c string) { comments = append(comments, c) }))
		var events []Event
		for {
			ev, err := r.Next()
			if err != nil {
				break
			}
			// JSON events compare by value: the Writer does not escape HTML.
			events = append(events, ev)
		}
		msg := fmt.Sprintf("seed %d, stream %q", seed, rec.String())
		require.Len(t, events, len(want.events), msg)
		for i := range events {
			if json.Valid([]byte(want.events[i].Data)) && strings.HasPrefix(want.events[i].Data, "{") {
				assert.JSONEq(t, want.events[i].Data, events[i].Data, msg)
				events[i].Data = want.events[i].Data
			}
			assert.Equal(t, want.events[i], events[i], msg)
		}
		assert.Equal(t, want.comments, comments, msg)
		assert.Equal(t, want.lastID, r.LastEventID(), msg)
	}
}
