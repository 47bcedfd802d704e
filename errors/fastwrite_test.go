package errors

import (
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// writeGeneral writes e the general way, through Encode, as WriteDialect
// did before the OpenAI fast path.
func writeGeneral(w http.ResponseWriter, e *Error) {
	out := Encode(OpenAI, e, Context{})
	h := w.Header()
	h.Set("Content-Type", out.ContentType)
	h.Set("X-Content-Type-Options", "nosniff")
	h.Del("Content-Length")
	if s := e.RetryAfterSeconds(); s > 0 {
		h.Set("Retry-After", strconv.FormatInt(s, 10))
	}
	w.WriteHeader(out.Status)
	_, _ = w.Write(out.Body)
}

// The fast path writes exactly what the general one does, for every code
// of the catalogue and for strings that need escaping; it declines what it
// cannot write the same way.
func TestWriteOpenAIMatchesEncode(t *testing.T) {
	var errs []*Error
	for _, c := range Codes() {
		errs = append(errs, New(c))
	}
	errs = append(errs,
		New(CodeRateLimitExceeded).WithRetryAfter(1500*time.Millisecond),
		New(CodeInvalidRequest).WithParam("messages[0].content", "required").WithMessage(`say "hi" \ there`),
		New(CodeInvalidRequest).WithMessage("a <tag> & more"),
		New(CodeInvalidRequest).WithMessage("tab\there, newline\n, and é, \u2028"),
		New(CodeInvalidRequest).WithMessage(strings.Repeat("long ", 100)),
		New(CodeInvalidRequest).WithMessage(""),
		&Error{Status: 42, Code: "made_up", Message: "odd status"},
	)
	fast := 0
	for _, e := range errs {
		want := httptest.NewRecorder()
		want.Header().Set("Content-Length", "9")
		writeGeneral(want, e)
		got := httptest.NewRecorder()
		got.Header().Set("Content-Length", "9")
		if !writeOpenAI(got, e) {
			assert.Empty(t, got.Header()["Content-Type"], "%s: declined, so nothing written", e.Code)
			assert.False(t, got.Flushed)
			continue
		}
		fast++
		assert.Equal(t, want.Code, got.Code, e.Code)
		assert.Equal(t, want.Body.String(), got.Body.String(), e.Code)
		assert.Equal(t, want.Header(), got.Header(), e.Code)
	}
	assert.GreaterOrEqual(t, fast, len(Codes()), "the catalogue's own messages take the fast path")
}

func TestWriteDialectOpenAIAllocations(t *testing.T) {
	r := httptest.NewRequest(http.MethodGet, "/", nil)
	e := New(CodeRateLimitExceeded).WithRetryAfter(3 * time.Second)
	w := &sinkWriter{h: http.Header{"X-Existing": {"1"}}}
	require.Equal(t, 1.0, testing.AllocsPerRun(500, func() { WriteDialect(w, r, OpenAI, e) }),
		"one allocation holds the body and the header values")
	assert.Equal(t, "3", w.h.Get("Retry-After"))
	var sink *Error
	assert.Zero(t, testing.AllocsPerRun(100, func() { sink = From(e) }), "From returns an *Error as it is")
	assert.Same(t, e, sink)
}

type sinkWriter struct{ h http.Header }

func (w *sinkWriter) Header() http.Header         { return w.h }
func (w *sinkWriter) Write(p []byte) (int, error) { return len(p), nil }
func (w *sinkWriter) WriteHeader(int)             {}

// FuzzWriteOpenAIMatchesEncode checks that whatever the message and param,
// the fast path either declines or writes exactly what Encode does.
func FuzzWriteOpenAIMatchesEncode(f *testing.F) {
	f.Add("Rate limit exceeded: 60 requests per minute (rpm)", "", int64(2))
	f.Add(`quote " and backslash \`, "messages", int64(0))
	f.Add("<html> & friends", "x", int64(0))
	f.Add("\x00\x1f\u2028é\xff", "", int64(1))
	f.Fuzz(func(t *testing.T, message, param string, retry int64) {
		e := New(CodeRateLimitExceeded).WithMessage(message)
		if param != "" {
			e = e.WithParam(param, "invalid")
		}
		if retry > 0 && retry < 1<<20 {
			e = e.WithRetryAfter(time.Duration(retry) * time.Second)
		}
		got := httptest.NewRecorder()
		if !writeOpenAI(got, e) {
			return
		}
		want := httptest.NewRecorder()
		writeGeneral(want, e)
		if got.Code != want.Code || got.Body.String() != want.Body.String() {
			t.Fatalf("fast %d %q, general %d %q", got.Code, got.Body, want.Code, want.Body)
		}
		for k, v := range want.Header() {
			if g := got.Header()[k]; len(g) != len(v) || (len(v) > 0 && g[0] != v[0]) {
				t.Fatalf("header %s: fast %q, general %q", k, g, v)
			}
		}
	})
}
