package auth

import (
	"net/http"

	"github.com/tollgate/tollgate"
	apierrors "github.com/tollgate/tollgate/errors"
)

// ErrUnauthenticated is returned by the key functions, and written by
// RequireScopes, for a request that did not pass an Authenticator. It is a
// 401 missing_api_key, so a layer that hands it to apierrors.Write sends
// the right envelope. Compare with errors.Is.
var ErrUnauthenticated error = apierrors.New(apierrors.CodeMissingAPIKey).WithMessage(
	"This endpoint requires an API key")

// ByKeyID is a key function for ratelimit and quota: it returns the ID of
// the key that authenticated the request (from its tollgate.State), or
// ErrUnauthenticated. It allocates nothing.
func ByKeyID(r *http.Request) (string, error) {
	st := authenticated(r)
	if st == nil {
		return "", ErrUnauthenticated
	}
	return st.KeyID, nil
}

// ByAccount is a key function for ratelimit and quota: it returns the
// account of the key that authenticated the request, or
// ErrUnauthenticated. A key with no account yields its key ID, so that
// keys without an account never share one bucket.
func ByAccount(r *http.Request) (string, error) {
	st := authenticated(r)
	if st == nil {
		return "", ErrUnauthenticated
	}
	if st.Account == "" {
		return st.KeyID, nil
	}
	return st.Account, nil
}

// ByPlan is a key function for ratelimit and quota: it returns the plan of
// the key that authenticated the request, or ErrUnauthenticated. Keys with
// no plan all yield "", one shared bucket; give every key a plan before
// limiting by plan.
func ByPlan(r *http.Request) (string, error) {
	st := authenticated(r)
	if st == nil {
		return "", ErrUnauthenticated
	}
	return st.Plan, nil
}

func authenticated(r *http.Request) *tollgate.State {
	st := tollgate.StateFrom(r.Context())
	if st == nil || st.KeyID == "" {
		return nil
	}
	return st
}

// RequireScopes returns middleware, mounted below an Authenticator, that
// refuses requests whose key lacks any of scopes with a 403
// insufficient_permissions, and requests that were not authenticated with
// ErrUnauthenticated. It panics at start-up when given no scope or an
// empty one.
func RequireScopes(scopes ...string) tollgate.Middleware {
	if len(scopes) == 0 {
		panic("auth: RequireScopes needs at least one scope")
	}
	for _, s := range scopes {
		if s == "" {
			panic("auth: RequireScopes holds an empty scope")
		}
	}
	scopes = append([]string(nil), scopes...)
	rej := scopeError(scopes)
	return func(next http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			w, r, _ = tollgate.Begin(w, r)
			p := PrincipalFrom(r.Context())
			switch {
			case p == nil:
				apierrors.Write(w, r, ErrUnauthenticated)
			case !p.HasScopes(scopes...):
				apierrors.Write(w, r, rej)
			default:
				next.ServeHTTP(w, r)
			}
		})
	}
}
