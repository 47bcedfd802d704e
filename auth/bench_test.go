package auth_test

import (
	"context"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/tollgate/tollgate"
	"github.com/tollgate/tollgate/auth"
)

// benchWriter is a ResponseWriter that keeps nothing, so that the
// benchmarks count the middleware's allocations only.
type benchWriter struct{ h http.Header }

func (w *benchWriter) Header() http.Header         { return w.h }
func (w *benchWriter) Write(p []byte) (int, error) { return len(p), nil }
func (w *benchWriter) WriteHeader(int)             {}

// rewindBody is a request body that can be rewound without allocating.
type rewindBody struct{ strings.Reader }

func (*rewindBody) Close() error { return nil }

func benchAuth(b *testing.B, opts ...auth.Option) *auth.Authenticator {
	b.Helper()
	store := auth.MustMemoryStore(auth.StaticKey{Key: validKey, Principal: auth.Principal{
		KeyID: "valid", Account: "acme", Plan: "pro", Models: []string{"gpt-4o"}, Scopes: []string{"chat"},
	}})
	return auth.MustNew(store, opts...)
}

func serveBench(b *testing.B, h http.Handler, r *http.Request, body *rewindBody, payload string) {
	b.Helper()
	w := &benchWriter{h: http.Header{}}
	b.ReportAllocs()
	for b.Loop() {
		if body != nil {
			body.Reset(payload)
			r.Body = body
		}
		h.ServeHTTP(w, r)
	}
}

// BenchmarkAuthenticated is the success path of the middleware alone: the
// State, the key extraction, the hash, the store lookup, the checks and the
// Principal in the context.
func BenchmarkAuthenticated(b *testing.B) {
	a := benchAuth(b, auth.RequiredScopes("chat"))
	h := a.Middleware(http.HandlerFunc(func(http.ResponseWriter, *http.Request) {}))
	r := httptest.NewRequest(http.MethodPost, "/v1/chat/completions", nil)
	r.Header.Set("Authorization", "Bearer "+validKey)
	serveBench(b, h, r, nil, "")
}

// BenchmarkAuthenticatedBehindRequestID is the same below RequestID, which
// creates the State first, as in a real stack.
func BenchmarkAuthenticatedBehindRequestID(b *testing.B) {
	a := benchAuth(b)
	h := tollgate.Chain(tollgate.RequestID(), a.Middleware).
		ThenFunc(func(http.ResponseWriter, *http.Request) {})
	r := httptest.NewRequest(http.MethodPost, "/v1/chat/completions", nil)
	r.Header.Set("Authorization", "Bearer "+validKey)
	r.Header.Set("X-Request-ID", "req-bench-1")
	serveBench(b, h, r, nil, "")
}

// BenchmarkAuthenticatedWithModelCheck adds reading the model from a JSON
// body and checking it against the key's list.
func BenchmarkAuthenticatedWithModelCheck(b *testing.B) {
	a := benchAuth(b, auth.CheckModel(auth.ModelFromJSON(0)))
	h := a.Middleware(http.HandlerFunc(func(http.ResponseWriter, *http.Request) {}))
	r := httptest.NewRequest(http.MethodPost, "/v1/chat/completions", nil)
	r.Header.Set("Authorization", "Bearer "+validKey)
	payload := `{"model":"gpt-4o","messages":[{"role":"user","content":"Hello!"}]}`
	serveBench(b, h, r, &rewindBody{}, payload)
}

// BenchmarkRejectedMissingKey is the cheapest rejection: no key at all.
func BenchmarkRejectedMissingKey(b *testing.B) {
	h := benchAuth(b).Middleware(http.NotFoundHandler())
	r := httptest.NewRequest(http.MethodPost, "/v1/chat/completions", nil)
	serveBench(b, h, r, nil, "")
}

func BenchmarkCachedStoreHit(b *testing.B) {
	c := auth.MustCachedStore(auth.MustMemoryStore(auth.StaticKey{Key: validKey, Principal: auth.Principal{KeyID: "valid"}}))
	h := auth.HashKey(validKey)
	ctx := context.Background()
	_, _ = c.Lookup(ctx, h)
	b.ReportAllocs()
	for b.Loop() {
		_, _ = c.Lookup(ctx, h)
	}
}

func BenchmarkHashKey(b *testing.B) {
	b.ReportAllocs()
	for b.Loop() {
		_ = auth.HashKey(validKey)
	}
}
