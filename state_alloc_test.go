package tollgate_test

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/tollgate/tollgate"
)

// The per-request cost of the State: Begin makes one allocation for the
// State, the context that carries it and the request copy, and the layers
// that fill it in add none of their own.

type ctxKey string

func TestBeginIsOneAllocation(t *testing.T) {
	r := httptest.NewRequest(http.MethodGet, "/", nil)
	w := httptest.NewRecorder()
	assert.Equal(t, 1.0, testing.AllocsPerRun(1000, func() {
		_, _, st := tollgate.Begin(w, r)
		st.ObserveUsage() // the usage scanner lives in the State
	}))
}

func TestBeginContextKeepsTheParents(t *testing.T) {
	cause := errors.New("client went away")
	parent, cancel := context.WithCancelCause(context.WithValue(context.Background(), ctxKey("k"), "v"))
	r := httptest.NewRequest(http.MethodGet, "/", nil).WithContext(parent)
	_, r2, st := tollgate.Begin(httptest.NewRecorder(), r)
	ctx := r2.Context()

	assert.Same(t, st, tollgate.StateFrom(ctx))
	assert.Equal(t, "v", ctx.Value(ctxKey("k")), "parent values pass through")
	derived := context.WithValue(ctx, ctxKey("k2"), "v2")
	assert.Same(t, st, tollgate.StateFrom(derived), "found through derived contexts too")
	child, stop := context.WithCancel(derived)
	defer stop()
	_, hasDeadline := ctx.Deadline()
	assert.False(t, hasDeadline)

	require.NoError(t, ctx.Err())
	cancel(cause)
	<-child.Done()
	assert.ErrorIs(t, ctx.Err(), context.Canceled)
	assert.ErrorIs(t, child.Err(), context.Canceled)
	assert.Equal(t, cause, context.Cause(ctx))
	assert.Equal(t, cause, context.Cause(child))
	assert.Nil(t, tollgate.StateFrom(context.Background()))
}

func TestRequestIDHeaderValuesStayApart(t *testing.T) {
	outer := tollgate.RequestID(tollgate.RequestIDResponseHeader("X-Outer"))
	inner := tollgate.RequestID(tollgate.RequestIDResponseHeader("X-Inner"), tollgate.RequestIDGenerator(func() string { return "inner-1" }))
	var seen string
	h := tollgate.Chain(outer, inner).ThenFunc(func(_ http.ResponseWriter, r *http.Request) {
		seen = tollgate.RequestIDFrom(r.Context())
	})
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/", nil))
	outerID := rec.Header().Get("X-Outer")
	assert.True(t, tollgate.ValidRequestID(outerID))
	assert.NotEqual(t, "inner-1", outerID, "the inner layer must not overwrite the outer header")
	assert.Equal(t, []string{"inner-1"}, rec.Header()["X-Inner"])
	assert.Equal(t, "inner-1", seen)
}

func TestRequestIDNilGeneratorIsTheDefault(t *testing.T) {
	h := tollgate.Chain(tollgate.RequestID(tollgate.RequestIDGenerator(nil))).ThenFunc(func(http.ResponseWriter, *http.Request) {})
	rec := httptest.NewRecorder()
	assert.NotPanics(t, func() { h.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/", nil)) })
	assert.Len(t, rec.Header().Get(tollgate.DefaultRequestIDHeader), 36)
}

func TestRequestIDAllocatesOnlyTheStateAndTheID(t *testing.T) {
	h := tollgate.Chain(tollgate.RequestID()).ThenFunc(func(http.ResponseWriter, *http.Request) {})
	r := httptest.NewRequest(http.MethodGet, "/", nil)
	w := &headerOnly{h: http.Header{"X-Existing": {"1"}}} // a map that already has its storage
	assert.Equal(t, 2.0, testing.AllocsPerRun(1000, func() {
		delete(w.h, tollgate.DefaultRequestIDHeader)
		h.ServeHTTP(w, r)
	}))
}

// headerOnly is a ResponseWriter that keeps only its header map.
type headerOnly struct{ h http.Header }

func (w *headerOnly) Header() http.Header         { return w.h }
func (w *headerOnly) Write(p []byte) (int, error) { return len(p), nil }
func (w *headerOnly) WriteHeader(int)             {}
