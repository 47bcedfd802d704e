package sse_test

import (
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"time"

	apierrors "github.com/tollgate/tollgate/errors"
	"github.com/tollgate/tollgate/sse"
)

func ExampleNewWriter() {
	handler := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		sw, err := sse.NewWriter(w, r)
		if err != nil {
			apierrors.Write(w, r, err)
			return
		}
		defer sw.Close()
		_ = sw.SendJSON("", map[string]string{"content": "Hello"})
		_ = sw.Send(sse.Event{ID: "2", Data: "two\nlines"})
		_ = sw.Done()
	})
	rec := httptest.NewRecorder()
	handler.ServeHTTP(rec, httptest.NewRequest(http.MethodPost, "/v1/chat/completions", nil))
	fmt.Println(rec.Header().Get("Content-Type"), rec.Header().Get("X-Accel-Buffering"))
	fmt.Print(rec.Body.String())
	// Output:
	// text/event-stream no
	// data: {"content":"Hello"}
	//
	// id: 2
	// data: two
	// data: lines
	//
	// data: [DONE]
}

func ExampleWriter_Error() {
	handler := apierrors.WithDialect(apierrors.Anthropic)(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		sw, err := sse.NewWriter(w, r)
		if err != nil {
			apierrors.Write(w, r, err)
			return
		}
		defer sw.Close()
		_ = sw.Send(sse.Event{Type: "message_start", Data: `{"type":"message_start"}`})
		_ = sw.Error(apierrors.New(apierrors.CodeOverloaded).WithMessage("Overloaded"))
	}))
	rec := httptest.NewRecorder()
	handler.ServeHTTP(rec, httptest.NewRequest(http.MethodPost, "/v1/messages", nil))
	fmt.Print(rec.Body.String())
	// Output:
	// event: message_start
	// data: {"type":"message_start"}
	//
	// event: error
	// data: {"type":"error","error":{"type":"overloaded_error","message":"Overloaded"}}
}

func ExampleStreams() {
	// Chosen once at start-up; every handler makes its Writers from it.
	streams := sse.MustStreams(
		sse.KeepAliveInterval(10*time.Second),
		sse.KeepAliveComment("ZENMUX PROCESSING"),
	)
	handler := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		sw, err := streams.Writer(w, r)
		if err != nil {
			apierrors.Write(w, r, err)
			return
		}
		defer sw.Close() // stops the keep-alive goroutine
		_ = sw.Send(sse.Event{Data: "first"})
	})
	rec := httptest.NewRecorder()
	handler.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/", nil))
	fmt.Print(rec.Body.String())
	// Output:
	// data: first
}

func ExampleKeepAlive() {
	// Any streaming handler, a reverse proxy included, gets keep-alive
	// comments without knowing; requests that ask for a stream are answered
	// early when the upstream is slow to start.
	keepAlive := sse.MustKeepAlive(
		sse.KeepAliveComment("ZENMUX PROCESSING"),
		sse.CommitEarly(sse.AcceptsEventStream),
	)
	upstream := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/event-stream")
		_, _ = io.WriteString(w, "data: fast\n\n")
	})
	rec := httptest.NewRecorder()
	req := httptest.NewRequest(http.MethodPost, "/v1/chat/completions", nil)
	req.Header.Set("Accept", "text/event-stream")
	keepAlive(upstream).ServeHTTP(rec, req)
	fmt.Print(rec.Code, " ", rec.Body.String())
	// Output:
	// 200 data: fast
}

func ExampleReader() {
	stream := "\xEF\xBB\xBF: ZENMUX PROCESSING\r\n\r\n" +
		"event: delta\r\nid: 1\r\ndata: Hel\r\ndata: lo\r\n\r\n" +
		"data: [DONE]\n\n" +
		"data: cut off"
	r := sse.NewReader(strings.NewReader(stream))
	for {
		ev, err := r.Next()
		if err == io.EOF {
			break
		}
		if err != nil {
			fmt.Println("error:", err)
			return
		}
		fmt.Printf("%q %q %q\n", ev.Type, ev.ID, ev.Data)
	}
	// Output:
	// "delta" "1" "Hel\nlo"
	// "" "1" "[DONE]"
}

func ExampleEvent_Append() {
	b, err := sse.Event{Type: "ping", Retry: 3 * time.Second, Data: "a\r\nb"}.Append(nil)
	fmt.Printf("%q %v\n", b, err)
	_, err = sse.Event{ID: "1\n2"}.Append(nil)
	fmt.Println(err)
	// Output:
	// "event: ping\nretry: 3000\ndata: a\ndata: b\n\n" <nil>
	// sse: invalid event: id "1\n2" contains a line break or NUL
}
