package auth_test

import (
	"crypto/sha256"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"runtime"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/tollgate/tollgate"
	"github.com/tollgate/tollgate/auth"
	apierrors "github.com/tollgate/tollgate/errors"
)

// countingBody counts the bytes read from it and whether it was closed.
type countingBody struct {
	r      io.Reader
	read   int
	closed bool
}

func (c *countingBody) Read(p []byte) (int, error) {
	n, err := c.r.Read(p)
	c.read += n
	return n, err
}

func (c *countingBody) Close() error { c.closed = true; return nil }

func postJSON(body string) (*http.Request, *countingBody) {
	cb := &countingBody{r: strings.NewReader(body)}
	r := httptest.NewRequest(http.MethodPost, "/v1/chat/completions", nil)
	r.Body = cb
	return r, cb
}

func TestModelFromJSONReplaysTheBody(t *testing.T) {
	big := strings.Repeat("lorem ipsum ", 20_000)
	tests := []struct {
		name  string
		body  string
		model string
		err   error
	}{
		{"model first", `{"model":"gpt-4o","messages":[{"content":"` + big + `"}]}`, "gpt-4o", nil},
		{"model last", `{"messages":[{"content":"hi"}],"model":"gpt-4o"}`, "gpt-4o", nil},
		{"no model", `{"input":"hi"}`, "", nil},
		{"empty body", ``, "", nil},
		{"blank body", " \n", "", nil},
		{"not json", `model=gpt-4o`, "", auth.ErrModelUnknown},
		{"model beyond the peek window", `{"messages":[{"content":"` + big + `"}],"model":"gpt-4o"}`, "", auth.ErrModelUnknown},
	}
	find := auth.ModelFromJSON(0)
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r, orig := postJSON(tt.body)
			model, err := find(r)
			if tt.err != nil {
				require.ErrorIs(t, err, tt.err)
			} else {
				require.NoError(t, err)
			}
			assert.Equal(t, tt.model, model)
			assert.LessOrEqual(t, orig.read, auth.DefaultModelPeek, "the peek is bounded")

			got, err := io.ReadAll(r.Body)
			require.NoError(t, err)
			assert.Equal(t, tt.body, string(got), "the handler sees the whole body")
			require.NoError(t, r.Body.Close())
			assert.True(t, orig.closed, "closing reaches the original body")
		})
	}
}

func TestModelFromJSONReadsOnlyWhatItNeeds(t *testing.T) {
	r, orig := postJSON(`{"model":"gpt-4o","messages":[{"content":"` + strings.Repeat("x", 100_000) + `"}]}`)
	model, err := auth.ModelFromJSON(0)(r)
	require.NoError(t, err)
	assert.Equal(t, "gpt-4o", model)
	assert.LessOrEqual(t, orig.read, 4096, "stops once the model is known")
}

// TestModelCheckStreamsLargeBody sends a 1 MiB body through the model check
// and checks that it is peeked, not buffered: few bytes are read before the
// handler runs, the handler streams the rest, and far less than 1 MiB is
// allocated on the way.
func TestModelCheckStreamsLargeBody(t *testing.T) {
	body := `{"model":"gpt-4o","messages":[{"role":"user","content":"` +
		strings.Repeat("0123456789abcdef", 1<<16) + `"}]}`
	require.Greater(t, len(body), 1<<20)
	want := sha256.Sum256([]byte(body))

	a, err := auth.New(auth.MustMemoryStore(auth.StaticKey{Key: validKey, Principal: auth.Principal{
		KeyID: "valid", Models: []string{"gpt-4o"},
	}}), auth.CheckModel(auth.ModelFromJSON(0)))
	require.NoError(t, err)
	var readBeforeHandler int
	var got [32]byte
	var orig *countingBody
	h := a.Middleware(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		readBeforeHandler = orig.read
		d := sha256.New()
		_, err := io.CopyBuffer(d, r.Body, make([]byte, 32<<10))
		assert.NoError(t, err)
		d.Sum(got[:0])
	}))

	r, cb := postJSON(body)
	orig = cb
	r.Header.Set("Authorization", "Bearer "+validKey)
	rec := httptest.NewRecorder()
	var before, after runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&before)
	h.ServeHTTP(rec, r)
	runtime.ReadMemStats(&after)

	require.Equal(t, http.StatusOK, rec.Code, rec.Body.String())
	assert.LessOrEqual(t, readBeforeHandler, 4096)
	assert.Equal(t, len(body), orig.read, "the body is read exactly once")
	assert.Equal(t, want, got, "the handler saw every byte, in order")
	assert.Less(t, after.TotalAlloc-before.TotalAlloc, uint64(256<<10), "the body was not buffered")
}

func TestDuplicateModelAfterThePeekFailsTheRead(t *testing.T) {
	body := `{"model":"gpt-4o","messages":[{"content":"` + strings.Repeat("x", 200_000) + `"}],"Model":"o3-pro"}`
	r, _ := postJSON(body)
	model, err := auth.ModelFromJSON(0)(r)
	require.NoError(t, err)
	require.Equal(t, "gpt-4o", model)

	_, err = io.ReadAll(r.Body)
	var e *apierrors.Error
	require.ErrorAs(t, err, &e)
	assert.Equal(t, apierrors.CodeInvalidRequest, e.Code)
	assert.Equal(t, "model", e.Param)
}

func TestModelFromJSONBodyErrors(t *testing.T) {
	w := httptest.NewRecorder()
	r, _ := postJSON(`{"messages":"` + strings.Repeat("x", 1000) + `","model":"gpt-4o"}`)
	r.Body = http.MaxBytesReader(w, r.Body, 100)
	_, err := auth.ModelFromJSON(0)(r)
	var e *apierrors.Error
	require.ErrorAs(t, err, &e)
	assert.Equal(t, apierrors.CodeRequestTooLarge, e.Code)

	r, _ = postJSON("")
	r.Body = io.NopCloser(io.MultiReader(strings.NewReader(`{"mes`), errReader{}))
	_, err = auth.ModelFromJSON(0)(r)
	require.ErrorAs(t, err, &e)
	assert.Equal(t, apierrors.CodeReadRequestBodyFailed, e.Code)
	assert.ErrorIs(t, err, errBroken)
	_, err = io.ReadAll(r.Body)
	assert.ErrorIs(t, err, errBroken, "the handler sees the same failure")
}

var errBroken = errors.New("connection reset")

type errReader struct{}

func (errReader) Read([]byte) (int, error) { return 0, errBroken }

func TestModelFromPath(t *testing.T) {
	find := auth.ModelFromPath("models")
	tests := []struct{ path, want string }{
		{"/v1beta/models/gemini-2.0-flash:generateContent", "gemini-2.0-flash"},
		{"/v1beta/models/gemini-2.0-flash:streamGenerateContent", "gemini-2.0-flash"},
		{"/v1/models/gpt-4o", "gpt-4o"},
		{"/v1/models/gpt-4o/extra", "gpt-4o"},
		{"/v1/models", ""},
		{"/v1/chat/completions", ""},
	}
	for _, tt := range tests {
		t.Run(tt.path, func(t *testing.T) {
			got, err := find(httptest.NewRequest(http.MethodPost, tt.path, nil))
			require.NoError(t, err)
			assert.Equal(t, tt.want, got)
		})
	}
}

func TestFirstModel(t *testing.T) {
	find := auth.FirstModel(auth.ModelFromPath("/models/"), auth.ModelFromJSON(0))

	r, orig := postJSON(`{"model":"from-body"}`)
	r.URL.Path = "/v1beta/models/from-path:generateContent"
	got, err := find(r)
	require.NoError(t, err)
	assert.Equal(t, "from-path", got)
	assert.Zero(t, orig.read, "the body is not touched when the path names the model")

	r, _ = postJSON(`{"model":"from-body"}`)
	got, err = find(r)
	require.NoError(t, err)
	assert.Equal(t, "from-body", got)

	r, _ = postJSON(`not json`)
	_, err = find(r)
	assert.ErrorIs(t, err, auth.ErrModelUnknown)
}

func TestUnknownModelPassesUnrestrictedKeys(t *testing.T) {
	a := auth.MustNew(auth.MustMemoryStore(auth.StaticKey{Key: validKey, Principal: auth.Principal{KeyID: "open"}}),
		auth.CheckModel(auth.ModelFromJSON(16)))
	var model = "unset"
	h := a.Middleware(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		model = stateModel(r)
	}))
	r, _ := postJSON(`{"messages":[{"content":"long enough to pass the window"}],"model":"gpt-4o"}`)
	r.Header.Set("X-Api-Key", validKey)
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, r)
	assert.Equal(t, http.StatusOK, rec.Code)
	assert.Empty(t, model)
}

func stateModel(r *http.Request) string {
	return tollgate.StateFrom(r.Context()).Model
}
