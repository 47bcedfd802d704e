package tollgate_test

import (
	"fmt"
	"net/http"
	"net/http/httptest"

	"github.com/tollgate/tollgate"
)

func ExampleChain() {
	logStep := func(name string) tollgate.Middleware {
		return func(next http.Handler) http.Handler {
			return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				fmt.Println("enter", name)
				next.ServeHTTP(w, r)
			})
		}
	}
	h := tollgate.Chain(logStep("a"), logStep("b")).ThenFunc(func(http.ResponseWriter, *http.Request) {
		fmt.Println("handler")
	})
	h.ServeHTTP(httptest.NewRecorder(), httptest.NewRequest("GET", "/", nil))
	// Output:
	// enter a
	// enter b
	// handler
}

func ExampleRequestID() {
	h := tollgate.RequestID(tollgate.RequestIDHeader("X-ZenMux-RequestId"))(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		fmt.Println("handler sees", tollgate.RequestIDFrom(r.Context()))
	}))
	req := httptest.NewRequest("GET", "/", nil)
	req.Header.Set("X-ZenMux-RequestId", "req_1234567890")
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, req)
	fmt.Println("client gets", rec.Header().Get("X-ZenMux-RequestId"))
	// Output:
	// handler sees req_1234567890
	// client gets req_1234567890
}

func ExampleReportUsage() {
	var st *tollgate.State
	outer := func(next http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			w, r, st = tollgate.Begin(w, r)
			next.ServeHTTP(w, r)
			u, _ := st.Usage()
			fmt.Println("tokens used:", u.Tokens())
		})
	}
	h := outer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		tollgate.ReportUsage(r.Context(), tollgate.Usage{InputTokens: 120, OutputTokens: 30})
	}))
	h.ServeHTTP(httptest.NewRecorder(), httptest.NewRequest("POST", "/", nil))
	// Output:
	// tokens used: 150
}

func ExampleState_ObserveUsage() {
	var st *tollgate.State
	h := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w, _, st = tollgate.Begin(w, r)
		st.ObserveUsage()
		w.Header().Set("Content-Type", "application/json")
		fmt.Fprint(w, `{"choices":[],"usage":{"prompt_tokens":9,"completion_tokens":3}}`)
	})
	h.ServeHTTP(httptest.NewRecorder(), httptest.NewRequest("POST", "/", nil))
	u, src := st.Usage()
	fmt.Println(u.InputTokens, u.OutputTokens, src == tollgate.UsageObserved)
	// Output:
	// 9 3 true
}
