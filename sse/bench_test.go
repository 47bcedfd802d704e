package sse

import (
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"
)

// discard is a flushable ResponseWriter that throws the body away.
type discard struct{ h http.Header }

func (d *discard) Header() http.Header         { return d.h }
func (d *discard) WriteHeader(int)             {}
func (d *discard) Write(p []byte) (int, error) { return len(p), nil }
func (d *discard) Flush()                      {}

var chunk = `{"id":"chatcmpl-1","object":"chat.completion.chunk","choices":[{"index":0,"delta":{"content":"Hello"}}]}`

func benchWriter(b *testing.B, s *Streams) *Writer {
	b.Helper()
	sw, err := s.Writer(&discard{h: http.Header{}}, httptest.NewRequest(http.MethodGet, "/", nil))
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { _ = sw.Close() })
	return sw
}

func BenchmarkWriterSend(b *testing.B) {
	sw := benchWriter(b, plain)
	ev := Event{Data: chunk}
	b.ReportAllocs()
	b.SetBytes(int64(len(chunk)))
	for b.Loop() {
		if err := sw.Send(ev); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkWriterSendKeepAlive(b *testing.B) {
	sw := benchWriter(b, MustStreams(KeepAliveInterval(time.Hour)))
	ev := Event{Data: chunk}
	b.ReportAllocs()
	b.SetBytes(int64(len(chunk)))
	for b.Loop() {
		if err := sw.Send(ev); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkWriterSendJSON(b *testing.B) {
	sw := benchWriter(b, plain)
	v := struct {
		ID      string `json:"id"`
		Content string `json:"content"`
	}{"chatcmpl-1", "Hello"}
	b.ReportAllocs()
	for b.Loop() {
		if err := sw.SendJSON("", v); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkEventAppend(b *testing.B) {
	ev := Event{Type: "delta", ID: "42", Data: chunk + "\n" + chunk}
	buf := make([]byte, 0, 512)
	b.ReportAllocs()
	for b.Loop() {
		buf, _ = ev.Append(buf[:0])
	}
}

func BenchmarkReader(b *testing.B) {
	var sb strings.Builder
	for i := range 1000 {
		if i%10 == 0 {
			sb.WriteString(": keep-alive\n\n")
		}
		sb.WriteString("data: " + chunk + "\n\n")
	}
	stream := sb.String()
	b.ReportAllocs()
	b.SetBytes(int64(len(stream)))
	for b.Loop() {
		r := NewReader(strings.NewReader(stream))
		for {
			if _, err := r.Next(); err != nil {
				if err != io.EOF {
					b.Fatal(err)
				}
				break
			}
		}
	}
}

// BenchmarkKeepAliveWrite is the cost the middleware adds to each write of
// a stream it keeps alive.
func BenchmarkKeepAliveWrite(b *testing.B) {
	frame := []byte("data: " + chunk + "\n\n")
	h := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/event-stream")
		w.WriteHeader(http.StatusOK)
		b.ReportAllocs()
		b.SetBytes(int64(len(frame)))
		for b.Loop() {
			_, _ = w.Write(frame)
		}
	})
	MustKeepAlive(KeepAliveInterval(time.Hour))(h).ServeHTTP(&discard{h: http.Header{}}, httptest.NewRequest(http.MethodGet, "/", nil))
}

// BenchmarkKeepAliveRequest is the per-request cost of the middleware for
// a response that is not a stream.
func BenchmarkKeepAliveRequest(b *testing.B) {
	h := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		_, _ = w.Write([]byte(`{}`))
	})
	mw := MustKeepAlive()(h)
	req := httptest.NewRequest(http.MethodGet, "/", nil)
	w := &discard{h: http.Header{}}
	b.ReportAllocs()
	for b.Loop() {
		mw.ServeHTTP(w, req)
	}
}

// BenchmarkNewWriter is the per-request cost of starting a stream.
func BenchmarkNewWriter(b *testing.B) {
	w := &discard{h: http.Header{}}
	req := httptest.NewRequest(http.MethodGet, "/", nil)
	b.ReportAllocs()
	for b.Loop() {
		sw, err := NewWriter(w, req)
		if err != nil {
			b.Fatal(err)
		}
		_ = sw.Close()
	}
}
