package auth_test

import (
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/tollgate/tollgate"
	"github.com/tollgate/tollgate/auth"
	apierrors "github.com/tollgate/tollgate/errors"
)

func TestKeyFunctions(t *testing.T) {
	keyFuncs := map[string]func(*http.Request) (string, error){
		"key": auth.ByKeyID, "account": auth.ByAccount, "plan": auth.ByPlan,
	}
	tests := []struct {
		name  string
		state *tollgate.State // nil: no tollgate layer ran
		want  map[string]string
	}{
		{"authenticated", &tollgate.State{KeyID: "k1", Account: "acme", Plan: "pro"},
			map[string]string{"key": "k1", "account": "acme", "plan": "pro"}},
		{"no account falls back to the key", &tollgate.State{KeyID: "k1"},
			map[string]string{"key": "k1", "account": "k1", "plan": ""}},
		{"state without a key", &tollgate.State{RequestID: "r"}, nil},
		{"no state", nil, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := httptest.NewRequest(http.MethodGet, "/", nil)
			if tt.state != nil {
				var st *tollgate.State
				_, r, st = tollgate.Begin(httptest.NewRecorder(), r)
				st.KeyID, st.Account, st.Plan = tt.state.KeyID, tt.state.Account, tt.state.Plan
			}
			for name, f := range keyFuncs {
				got, err := f(r)
				if tt.want == nil {
					assert.ErrorIs(t, err, auth.ErrUnauthenticated, name)
					continue
				}
				require.NoError(t, err, name)
				assert.Equal(t, tt.want[name], got, name)
			}
		})
	}
}

func TestKeyFunctionsDoNotAllocate(t *testing.T) {
	_, r, st := tollgate.Begin(httptest.NewRecorder(), httptest.NewRequest(http.MethodGet, "/", nil))
	st.KeyID, st.Account, st.Plan = "k1", "acme", "pro"
	assert.Zero(t, testing.AllocsPerRun(100, func() {
		_, _ = auth.ByKeyID(r)
		_, _ = auth.ByAccount(r)
		_, _ = auth.ByPlan(r)
	}))
}

func TestRequireScopes(t *testing.T) {
	store := auth.MustMemoryStore(
		auth.StaticKey{Key: "sk-admin", Principal: auth.Principal{KeyID: "admin", Scopes: []string{"admin", "chat"}}},
		auth.StaticKey{Key: "sk-chat", Principal: auth.Principal{KeyID: "chat", Scopes: []string{"chat"}}},
		auth.StaticKey{Key: "sk-root", Principal: auth.Principal{KeyID: "root", Scopes: []string{"*"}}},
	)
	ok := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {})
	authed := tollgate.Chain(auth.Middleware(store), auth.RequireScopes("admin")).Then(ok)
	bare := auth.RequireScopes("admin")(ok)
	tests := []struct {
		name    string
		handler http.Handler
		key     string
		status  int
		code    apierrors.Code
	}{
		{"has scope", authed, "sk-admin", 200, ""},
		{"wildcard scope", authed, "sk-root", 200, ""},
		{"lacks scope", authed, "sk-chat", 403, apierrors.CodeInsufficientPermissions},
		{"not authenticated", bare, "sk-admin", 401, apierrors.CodeMissingAPIKey},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := httptest.NewRequest(http.MethodGet, "/admin", nil)
			r.Header.Set("X-Api-Key", tt.key)
			rec := httptest.NewRecorder()
			tt.handler.ServeHTTP(rec, r)
			assert.Equal(t, tt.status, rec.Code)
			if tt.code != "" {
				code, _ := envelope(t, apierrors.OpenAI, rec.Body.Bytes())
				assert.Equal(t, string(tt.code), code)
			}
		})
	}
	assert.Panics(t, func() { auth.RequireScopes() })
	assert.Panics(t, func() { auth.RequireScopes("chat", "") })
}
