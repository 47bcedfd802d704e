package tollgate_test

import (
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"

	"github.com/tollgate/tollgate"
)

func tag(name string, trace *[]string) tollgate.Middleware {
	return func(next http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			*trace = append(*trace, name+">")
			next.ServeHTTP(w, r)
			*trace = append(*trace, "<"+name)
		})
	}
}

func TestChainOrder(t *testing.T) {
	var trace []string
	h := tollgate.Chain(tag("a", &trace), tag("b", &trace), tag("c", &trace)).ThenFunc(func(http.ResponseWriter, *http.Request) {
		trace = append(trace, "h")
	})
	h.ServeHTTP(httptest.NewRecorder(), httptest.NewRequest("GET", "/", nil))
	assert.Equal(t, "a> b> c> h <c <b <a", strings.Join(trace, " "))
}

func TestChainIsImmutable(t *testing.T) {
	var trace []string
	base := tollgate.Chain(tag("a", &trace))
	withB := base.Append(tag("b", &trace))
	withC := base.Append(tag("c", &trace))
	ext := base.Extend(tollgate.Chain(tag("x", &trace), tag("y", &trace)))
	assert.Equal(t, 1, base.Len())
	assert.Equal(t, 2, withB.Len())
	assert.Equal(t, 3, ext.Len())

	noop := http.HandlerFunc(func(http.ResponseWriter, *http.Request) {})
	withC.Then(noop).ServeHTTP(httptest.NewRecorder(), httptest.NewRequest("GET", "/", nil))
	assert.Equal(t, "a> c> <c <a", strings.Join(trace, " "))
	trace = nil
	ext.Then(noop).ServeHTTP(httptest.NewRecorder(), httptest.NewRequest("GET", "/", nil))
	assert.Equal(t, "a> x> y> <y <x <a", strings.Join(trace, " "))
}

func TestChainNilSafety(t *testing.T) {
	var zero tollgate.Stack
	h := zero.Then(nil)
	assert.Equal(t, http.DefaultServeMux, h)
	assert.Equal(t, 0, tollgate.Chain(nil, nil).Len())
	assert.Equal(t, http.DefaultServeMux, tollgate.Chain().ThenFunc(nil))
}
