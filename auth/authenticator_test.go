package auth_test

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/tollgate/tollgate"
	"github.com/tollgate/tollgate/auth"
	apierrors "github.com/tollgate/tollgate/errors"
	"github.com/tollgate/tollgate/tollgatetest"
)

const (
	requestID  = "req-auth-test-1"
	validKey   = "sk-test-valid-0123456789abcdef"
	failingKey = "sk-test-store-fails-0123456789"
)

var epoch = tollgatetest.Epoch

// testKeys covers every lifecycle state; each key is "sk-test-<id>-…".
func testKeys() []auth.StaticKey {
	return []auth.StaticKey{
		{Key: validKey, Principal: auth.Principal{
			KeyID: "valid", Account: "acme", Plan: "pro",
			Models: []string{"gpt-4o", "claude-*"}, Scopes: []string{"chat"},
		}},
		{Key: "sk-test-expired-0123456789abcdef", Principal: auth.Principal{
			KeyID: "expired", Account: "acme", Scopes: []string{"chat"}, ExpiresAt: epoch.Add(-time.Hour),
		}},
		{Key: "sk-test-revoked-0123456789abcdef", Principal: auth.Principal{
			KeyID: "revoked", Account: "acme", Scopes: []string{"chat"}, RevokedAt: epoch.Add(-time.Hour),
			ExpiresAt: epoch.Add(-2 * time.Hour),
		}},
		{Key: "sk-test-rotating-0123456789abcdef", Principal: auth.Principal{
			KeyID: "rotating", Account: "acme", Scopes: []string{"chat"}, RevokedAt: epoch.Add(time.Hour),
		}},
		{Key: "sk-test-suspended-0123456789abcdef", Principal: auth.Principal{
			KeyID: "suspended", Account: "bad-co", Scopes: []string{"chat"}, Suspended: true,
		}},
		{Key: "sk-test-noscope-0123456789abcdef", Principal: auth.Principal{
			KeyID: "noscope", Account: "acme", Scopes: []string{"embeddings"},
		}},
		{Key: "sk-test-office-0123456789abcdef", Principal: auth.Principal{
			KeyID: "office", Account: "acme", Scopes: []string{"*"},
			AllowedIPs: []netip.Prefix{netip.MustParsePrefix("203.0.113.0/24")},
		}},
	}
}

// newStack builds RequestID → dialect → auth → handler; the handler echoes
// what the layers above left for it.
func newStack(t *testing.T, d apierrors.Dialect, opts ...auth.Option) http.Handler {
	t.Helper()
	mem, err := auth.NewMemoryStore(testKeys()...)
	require.NoError(t, err)
	failing := auth.HashKey(failingKey)
	store := auth.KeyStoreFunc(func(ctx context.Context, h auth.KeyHash) (*auth.Principal, error) {
		if h == failing {
			return nil, errors.New("connection refused")
		}
		return mem.Lookup(ctx, h)
	})
	opts = append([]auth.Option{
		auth.WithClock(tollgatetest.NewClock(epoch)),
		auth.RequiredScopes("chat"),
		auth.CheckModel(auth.ModelFromJSON(0)),
	}, opts...)
	a, err := auth.New(store, opts...)
	require.NoError(t, err)
	return tollgate.Chain(tollgate.RequestID(), apierrors.WithDialect(d), a.Middleware).
		ThenFunc(func(w http.ResponseWriter, r *http.Request) {
			st := tollgate.StateFrom(r.Context())
			p := auth.PrincipalFrom(r.Context())
			body, _ := io.ReadAll(r.Body)
			_ = json.NewEncoder(w).Encode(map[string]string{
				"key_id": st.KeyID, "account": st.Account, "plan": st.Plan, "model": st.Model,
				"principal": p.KeyID, "body": string(body),
			})
		})
}

type authCase struct {
	name   string
	header http.Header
	remote string
	body   string
	status int
	code   apierrors.Code // empty on success
}

func authCases() []authCase {
	chat := `{"model":"gpt-4o","messages":[]}`
	bearer := func(k string) http.Header { return http.Header{"Authorization": {"Bearer " + k}} }
	return []authCase{
		{name: "valid bearer", header: bearer(validKey), body: chat, status: 200},
		{name: "valid x-api-key", header: http.Header{"X-Api-Key": {validKey}}, body: chat, status: 200},
		{name: "valid pasted with spaces and newline", header: http.Header{"Authorization": {"  bearer   " + validKey + " \r\n"}}, body: chat, status: 200},
		{name: "valid same key twice", header: http.Header{"Authorization": {"Bearer " + validKey}, "X-Goog-Api-Key": {validKey}}, body: chat, status: 200},
		{name: "valid wildcard model", header: bearer(validKey), body: `{"model":"claude-sonnet-4"}`, status: 200},
		{name: "valid before scheduled revocation", header: bearer("sk-test-rotating-0123456789abcdef"), status: 200},
		{name: "valid from allowed ip", header: bearer("sk-test-office-0123456789abcdef"), remote: "203.0.113.9:5000", status: 200},
		{name: "missing key", header: nil, status: 401, code: apierrors.CodeMissingAPIKey},
		{name: "other auth scheme only", header: http.Header{"Authorization": {"Basic dXNlcjpwYXNz"}}, status: 401, code: apierrors.CodeMissingAPIKey},
		{name: "unknown key", header: bearer("sk-test-unknown-0123456789abcdef"), status: 401, code: apierrors.CodeInvalidAPIKey},
		{name: "empty bearer", header: http.Header{"Authorization": {"Bearer "}}, status: 401, code: apierrors.CodeInvalidAPIKey},
		{name: "bare key without scheme", header: http.Header{"Authorization": {validKey}}, status: 401, code: apierrors.CodeInvalidAPIKey},
		{name: "control character", header: bearer("sk-test\x01-valid"), status: 401, code: apierrors.CodeInvalidAPIKey},
		{name: "too long", header: bearer("sk-" + strings.Repeat("a", 300)), status: 401, code: apierrors.CodeInvalidAPIKey},
		{name: "two different keys", header: http.Header{"Authorization": {"Bearer " + validKey}, "X-Api-Key": {"sk-test-other-key-000000000000"}}, status: 401, code: apierrors.CodeInvalidAPIKey},
		{name: "expired", header: bearer("sk-test-expired-0123456789abcdef"), status: 401, code: apierrors.CodeExpiredAPIKey},
		{name: "revoked wins over expired", header: bearer("sk-test-revoked-0123456789abcdef"), status: 401, code: apierrors.CodeRevokedAPIKey},
		{name: "suspended account", header: bearer("sk-test-suspended-0123456789abcdef"), status: 403, code: apierrors.CodeAccountSuspended},
		{name: "missing scope", header: bearer("sk-test-noscope-0123456789abcdef"), status: 403, code: apierrors.CodeInsufficientPermissions},
		{name: "model not allowed", header: bearer(validKey), body: `{"model":"o3-pro","messages":[]}`, status: 403, code: apierrors.CodeModelNotAllowed},
		{name: "model unreadable for restricted key", header: bearer(validKey), body: `model=gpt-4o`, status: 403, code: apierrors.CodeModelNotAllowed},
		{name: "model named twice", header: bearer(validKey), body: `{"model":"gpt-4o","MODEL":"o3-pro"}`, status: 400, code: apierrors.CodeInvalidRequest},
		{name: "ip outside allow-list", header: bearer("sk-test-office-0123456789abcdef"), remote: "198.51.100.1:5000", status: 403, code: apierrors.CodeIPNotAllowed},
		{name: "store failure", header: bearer(failingKey), status: 503, code: apierrors.CodeServiceUnavailable},
	}
}

func (c authCase) request() *http.Request {
	var body io.Reader
	method := http.MethodGet
	if c.body != "" {
		body, method = strings.NewReader(c.body), http.MethodPost
	}
	r := httptest.NewRequest(method, "/v1/chat/completions", body)
	for k, v := range c.header {
		r.Header[k] = v
	}
	r.Header.Set("X-Request-ID", requestID)
	if c.remote != "" {
		r.RemoteAddr = c.remote
	}
	return r
}

// envelope pulls the code and request ID out of a body in dialect d.
func envelope(t *testing.T, d apierrors.Dialect, body []byte) (code, reqID string) {
	t.Helper()
	var v struct {
		Code      string `json:"code"`
		RequestID string `json:"request_id"`
		Error     struct {
			Code      json.RawMessage `json:"code"`
			RequestID string          `json:"request_id"`
			Details   json.RawMessage `json:"details"`
		} `json:"error"`
		Meta struct {
			RequestID string `json:"request_id"`
		} `json:"meta"`
	}
	require.NoError(t, json.Unmarshal(body, &v), "body %s", body)
	var errCode string
	_ = json.Unmarshal(v.Error.Code, &errCode)
	switch d {
	case apierrors.Problem:
		return v.Code, v.RequestID
	case apierrors.Meta:
		return errCode, v.Meta.RequestID
	case apierrors.Typed:
		return errCode, v.Error.RequestID
	case apierrors.Google:
		var details []map[string]any
		require.NoError(t, json.Unmarshal(v.Error.Details, &details))
		for _, det := range details {
			if r, ok := det["reason"].(string); ok {
				code = r
			}
			if id, ok := det["requestId"].(string); ok {
				reqID = id
			}
		}
		return code, reqID
	}
	return errCode, ""
}

func dialectCode(d apierrors.Dialect, c apierrors.Code) string {
	if d == apierrors.Meta || d == apierrors.Google {
		return strings.ToUpper(string(c))
	}
	return string(c)
}

func TestMiddlewareStatesInDialects(t *testing.T) {
	for _, d := range []apierrors.Dialect{apierrors.Typed, apierrors.Meta, apierrors.Google, apierrors.Problem} {
		h := newStack(t, d)
		for _, c := range authCases() {
			t.Run(d.String()+"/"+c.name, func(t *testing.T) {
				rec := httptest.NewRecorder()
				h.ServeHTTP(rec, c.request())
				body := rec.Body.Bytes()
				assert.Equal(t, c.status, rec.Code, "body %s", body)
				assert.NotContains(t, string(body), "0123456789abcdef", "the key must not be echoed")
				if c.code == "" {
					return
				}
				code, id := envelope(t, d, body)
				assert.Equal(t, dialectCode(d, c.code), code)
				assert.Equal(t, requestID, id)
				if c.status == 401 {
					assert.Equal(t, "Bearer", rec.Header().Get("WWW-Authenticate"))
				}
			})
		}
	}
}

func TestMiddlewareFillsStateAndContext(t *testing.T) {
	h := newStack(t, apierrors.OpenAI)
	body := `{"messages":[{"role":"user","content":"hi"}],"model":"gpt-4o"}`
	c := authCase{header: http.Header{"X-Api-Key": {validKey}}, body: body}
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, c.request())
	require.Equal(t, http.StatusOK, rec.Code, rec.Body.String())

	var got map[string]string
	require.NoError(t, json.Unmarshal(rec.Body.Bytes(), &got))
	assert.Equal(t, map[string]string{
		"key_id": "valid", "account": "acme", "plan": "pro", "model": "gpt-4o",
		"principal": "valid", "body": body,
	}, got)
}

func TestOpenAIDialectCodes(t *testing.T) {
	h := newStack(t, apierrors.OpenAI)
	for _, c := range authCases() {
		if c.code == "" {
			continue
		}
		t.Run(c.name, func(t *testing.T) {
			rec := httptest.NewRecorder()
			h.ServeHTTP(rec, c.request())
			assert.Equal(t, c.status, rec.Code)
			code, _ := envelope(t, apierrors.OpenAI, rec.Body.Bytes())
			assert.Equal(t, string(c.code), code)
		})
	}
}
