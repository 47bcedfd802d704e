package tollgatetest_test

import (
	"fmt"
	"net/http"
	"net/http/httptest"

	"github.com/tollgate/tollgate"
	"github.com/tollgate/tollgate/auth"
	apierrors "github.com/tollgate/tollgate/errors"
	"github.com/tollgate/tollgate/tollgatetest"
)

// A handler test behind the real auth middleware, with keys written in one
// line each.
func ExampleKeys() {
	keys := tollgatetest.Keys("sk-test id=k1 account=acme models=gpt-4o")
	h := tollgate.Chain(tollgate.RequestID(), auth.Middleware(keys, auth.CheckModel(auth.ModelFromJSON(0)))).
		ThenFunc(func(w http.ResponseWriter, r *http.Request) {
			fmt.Fprint(w, "hello ", auth.PrincipalFrom(r.Context()).Account)
		})

	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, tollgatetest.Request("POST", "/v1/chat/completions", "sk-test", map[string]string{"model": "gpt-4o"}))
	fmt.Println(rec.Code, rec.Body.String())

	rec = httptest.NewRecorder()
	h.ServeHTTP(rec, tollgatetest.Request("POST", "/v1/chat/completions", "sk-test", map[string]string{"model": "o3"}))
	e, _ := apierrors.Parse(rec.Result()) // in a test: tollgatetest.AssertRecorderError(t, rec, 403, apierrors.CodeModelNotAllowed)
	fmt.Println(rec.Code, e.Code)
	// Output:
	// 200 hello acme
	// 403 model_not_allowed
}
