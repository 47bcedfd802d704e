package demotest

import (
	"net/http"
	"testing"

	"github.com/stretchr/testify/assert"

	apierrors "github.com/tollgate/tollgate/errors"
	"github.com/tollgate/tollgate/examples/internal/demo"
	"github.com/tollgate/tollgate/tollgatetest"
)

// RouterErrors checks a router whose middleware wraps its routing: an
// unknown route is a 404 and a wrong method a 405, both in the demo's
// dialect, and both pass through the stack (authentication first, so a
// request without a key is a 401, and the rate limiter, whose headers they
// carry). why says how the router manages that, for the failure message.
func RouterErrors(t *testing.T, build Router, why string) {
	tests := []struct {
		name   string
		method string
		path   string
		key    string
		status int
		code   apierrors.Code
	}{
		{"unknown route", http.MethodGet, "/v1/nowhere", demo.Key, http.StatusNotFound, apierrors.CodeEndpointNotFound},
		{"wrong method", http.MethodGet, "/v1/chat/completions", demo.Key, http.StatusMethodNotAllowed, apierrors.CodeMethodNotAllowed},
		{"unknown route without a key", http.MethodGet, "/v1/nowhere", "", http.StatusUnauthorized, apierrors.CodeMissingAPIKey},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			env := NewEnv(t, build, demo.Options{})
			resp := env.Do(tollgatetest.Request(tt.method, tt.path, tt.key, nil))
			AssertEnvelope(t, resp, tt.status, tt.code)
			if tt.key != "" {
				assert.NotEmpty(t, resp.Header.Get("X-RateLimit-Limit"), why)
			}
		})
	}
}
