package tollgate_test

import (
	"bytes"
	"context"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/google/uuid"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/tollgate/tollgate"
)

func idOf(t *testing.T, mw tollgate.Middleware, header http.Header) (seen string, rec *httptest.ResponseRecorder) {
	t.Helper()
	h := mw(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		seen = tollgate.RequestIDFrom(r.Context())
		// The header is already set when the handler runs.
		assert.Equal(t, seen, w.Header().Get("X-Request-ID")+w.Header().Get("X-Zenmux-Requestid"))
	}))
	req := httptest.NewRequest("GET", "/", nil)
	req.Header = header
	rec = httptest.NewRecorder()
	h.ServeHTTP(rec, req)
	return seen, rec
}

func TestRequestIDKeepsValidIncoming(t *testing.T) {
	for _, id := range []string{"req_1234567890", "0190a6e2-7c4b-7def-8123-456789abcdef", "a", "Zm9v+Lw==", "a.b_c:d+e/f=g-h", strings.Repeat("x", 128)} {
		got, rec := idOf(t, tollgate.RequestID(), http.Header{"X-Request-Id": {id}})
		assert.Equal(t, id, got)
		assert.Equal(t, id, rec.Header().Get("X-Request-ID"))
	}
}

func TestRequestIDReplacesInvalidIncoming(t *testing.T) {
	for _, id := range []string{"", strings.Repeat("x", 129), "has space", "new\nline", "cr\rlf", "x\x00y", "<script>", "ünï", `"quoted"`, "a,b"} {
		got, rec := idOf(t, tollgate.RequestID(), http.Header{"X-Request-Id": {id}})
		require.NotEqual(t, id, got, "%q must not be kept", id)
		parsed, err := uuid.Parse(got)
		require.NoError(t, err)
		assert.Equal(t, uuid.Version(7), parsed.Version())
		assert.Equal(t, got, rec.Header().Get("X-Request-ID"))
	}
}

func TestRequestIDRejectsDuplicateHeaders(t *testing.T) {
	got, _ := idOf(t, tollgate.RequestID(), http.Header{"X-Request-Id": {"a", "b"}})
	assert.NotEqual(t, "a", got)
	assert.NotEqual(t, "b", got)
}

func TestRequestIDCustomHeaderAndDistrust(t *testing.T) {
	got, rec := idOf(t, tollgate.RequestID(tollgate.RequestIDHeader("X-ZenMux-RequestId")), http.Header{"X-Zenmux-Requestid": {"zm_1"}})
	assert.Equal(t, "zm_1", got)
	assert.Equal(t, "zm_1", rec.Header().Get("X-ZenMux-RequestId"))

	got, _ = idOf(t, tollgate.RequestID(tollgate.IgnoreIncomingRequestID()), http.Header{"X-Request-Id": {"client-chosen"}})
	assert.NotEqual(t, "client-chosen", got)

	got, _ = idOf(t, tollgate.RequestID(tollgate.RequestIDValidator(func(s string) bool { return strings.HasPrefix(s, "req_") })), http.Header{"X-Request-Id": {"abc"}})
	assert.NotEqual(t, "abc", got)
}

func TestRequestIDResponseHeaderOnly(t *testing.T) {
	mw := tollgate.RequestID(tollgate.RequestIDResponseHeader("X-ZenMux-RequestId"))
	got, rec := idOf(t, mw, http.Header{"X-Request-Id": {"in_1"}})
	assert.Equal(t, "in_1", got)
	assert.Equal(t, "in_1", rec.Header().Get("X-ZenMux-RequestId"))
	assert.Empty(t, rec.Header().Get("X-Request-ID"))
}

func TestRequestIDPanicsOnEmptyHeaderName(t *testing.T) {
	assert.Panics(t, func() { tollgate.RequestID(tollgate.RequestIDHeader("")) })
}

func TestRequestIDFromEmptyContext(t *testing.T) {
	assert.Empty(t, tollgate.RequestIDFrom(context.Background()))
}

func TestLogHandlerAddsRequestID(t *testing.T) {
	var buf bytes.Buffer
	logger := slog.New(tollgate.LogHandler(slog.NewJSONHandler(&buf, nil))).With("svc", "gw")
	h := tollgate.RequestID(tollgate.RequestIDGenerator(func() string { return "req_log" }))(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		logger.InfoContext(r.Context(), "hello")
	}))
	h.ServeHTTP(httptest.NewRecorder(), httptest.NewRequest("GET", "/", nil))
	logger.Info("outside")
	lines := strings.Split(strings.TrimSpace(buf.String()), "\n")
	require.Len(t, lines, 2)
	assert.Contains(t, lines[0], `"request_id":"req_log"`)
	assert.Contains(t, lines[0], `"svc":"gw"`)
	assert.NotContains(t, lines[1], "request_id")
}

func FuzzValidRequestID(f *testing.F) {
	for _, s := range []string{"req_1", "", "a b", "x\r\nSet-Cookie: a=b", strings.Repeat("z", 200), "0190a6e2-7c4b-7def-8123-456789abcdef"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		if !tollgate.ValidRequestID(s) {
			return
		}
		if len(s) == 0 || len(s) > tollgate.MaxRequestIDLength {
			t.Fatalf("accepted length %d", len(s))
		}
		if strings.ContainsAny(s, " \t\r\n\x00\",;<>\\") {
			t.Fatalf("accepted %q", s)
		}
		// Anything accepted is safe to echo in a header.
		h := http.Header{}
		h.Set("X-Request-ID", s)
		var b bytes.Buffer
		require.NoError(t, h.Write(&b))
		assert.Equal(t, "X-Request-Id: "+s+"\r\n", b.String())
	})
}
