package demo_test

import (
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	apierrors "github.com/tollgate/tollgate/errors"
	"github.com/tollgate/tollgate/examples/internal/demo"
	"github.com/tollgate/tollgate/tollgatetest"
)

// FuzzComplete checks that any body yields either a consistent completion
// or a 4xx *apierrors.Error: never a panic, never a 5xx.
func FuzzComplete(f *testing.F) {
	f.Add(`{"model":"demo-1","messages":[{"role":"user","content":"hello"}]}`)
	f.Add(`{"model":"demo-1","max_tokens":1,"messages":[{"role":"user","content":"a b c"}]}`)
	f.Add(`{"model":"demo-1","messages":[{"role":"user","content":null}]}`)
	f.Add(`{"model":"demo-1","messages":null}`)
	f.Add(`[]`)
	f.Add(``)
	d := demo.MustNew(demo.Options{Clock: tollgatetest.NewClock(tollgatetest.Epoch)})
	f.Fuzz(func(t *testing.T, body string) {
		c, err := d.Complete(httptest.NewRequest(http.MethodPost, "/", strings.NewReader(body)))
		if err != nil {
			e, ok := err.(*apierrors.Error)
			if !ok || e.Status < 400 || e.Status >= 500 {
				t.Fatalf("error %v is not a 4xx *apierrors.Error", err)
			}
			return
		}
		if len(c.Choices) != 1 {
			t.Fatalf("%d choices", len(c.Choices))
		}
		u := c.Usage
		words := int64(len(strings.Fields(c.Choices[0].Message.Content)))
		if u.CompletionTokens != words || u.TotalTokens != u.PromptTokens+u.CompletionTokens || u.PromptTokens < 0 {
			t.Fatalf("inconsistent usage %+v for reply %q", u, c.Choices[0].Message.Content)
		}
	})
}
