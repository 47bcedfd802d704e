package demo_test

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"

	"github.com/tollgate/tollgate"
	apierrors "github.com/tollgate/tollgate/errors"
	"github.com/tollgate/tollgate/examples/internal/demo"
	"github.com/tollgate/tollgate/quota"
)

// Example mounts the demo stack on a ServeMux, as examples/stdlib does, and
// sends one chat completion through it.
func Example() {
	d := demo.MustNew(demo.Options{})
	mux := http.NewServeMux()
	mux.Handle("POST /v1/chat/completions", d.Quota(d.Chat()))
	h := tollgate.Chain(
		tollgate.RequestID(), apierrors.Recover(), apierrors.WithDialect(demo.Dialect),
		d.Auth, d.RateLimit,
	).Then(mux)

	req := httptest.NewRequest(http.MethodPost, "/v1/chat/completions",
		strings.NewReader(`{"model":"demo-1","messages":[{"role":"user","content":"hello tollgate"}]}`))
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Authorization", "Bearer "+demo.Key)
	req.Header.Set("X-Request-ID", "req_example")
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, req)

	var c demo.Completion
	_ = json.Unmarshal(rec.Body.Bytes(), &c)
	balance, _ := d.Balance(context.Background())
	fmt.Println(rec.Code, c.ID, c.Choices[0].Message.Content, c.Usage.TotalTokens)
	fmt.Println("remaining requests:", rec.Header().Get("X-RateLimit-Remaining"))
	fmt.Println("balance:", quota.FormatDollars(balance))
	// Output:
	// 200 chatcmpl-req_example hello tollgate 4
	// remaining requests: 59
	// balance: $4.998994
}
