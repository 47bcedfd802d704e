package loadtest_test

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strconv"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.uber.org/goleak"

	"github.com/tollgate/tollgate/examples/gateway/loadtest"
)

func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m)
}

// server answers with the status named by the request's path and sleeps
// for nothing: the latencies are the loopback round trip.
func server(t testing.TB) *httptest.Server {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		code, err := strconv.Atoi(r.URL.Path[1:])
		if err != nil {
			code = http.StatusNotFound
		}
		if r.Header.Get("Authorization") != "Bearer k" {
			code = http.StatusUnauthorized
		}
		w.WriteHeader(code)
	}))
	t.Cleanup(srv.Close)
	return srv
}

func TestRunCountsEveryResponse(t *testing.T) {
	srv := server(t)
	rep, err := loadtest.Run(context.Background(), loadtest.Config{
		URL: srv.URL, Workers: 4, MaxRequests: 300,
		Next: func(n int64) loadtest.Request {
			path := "/200"
			if n%3 == 0 {
				path = "/503"
			}
			return loadtest.Request{Path: path, Key: "k", Body: []byte(`{}`)}
		},
	})
	require.NoError(t, err)
	assert.Equal(t, int64(300), rep.Requests)
	assert.Zero(t, rep.Failed)
	assert.Equal(t, map[int]int64{200: 200, 503: 100}, rep.Status)
	assert.Equal(t, int64(100), rep.ServerErrors())
	assert.Positive(t, rep.P50)
	assert.LessOrEqual(t, rep.P50, rep.P99)
	assert.LessOrEqual(t, rep.P99, rep.Max)
	assert.Contains(t, rep.String(), "300 requests")
}

func TestRunStopsAtItsDuration(t *testing.T) {
	srv := server(t)
	start := time.Now()
	rep, err := loadtest.Run(context.Background(), loadtest.Config{
		URL: srv.URL, Workers: 2, Duration: 200 * time.Millisecond,
		Next: func(int64) loadtest.Request { return loadtest.Request{Path: "/204", Key: "k"} },
	})
	require.NoError(t, err)
	assert.Less(t, time.Since(start), 5*time.Second)
	assert.Positive(t, rep.Requests)
	assert.Zero(t, rep.Failed, "requests cut by the deadline are not failures: %v", rep.Errors)
}

func TestRunRefusesOtherHostsAndBadConfigs(t *testing.T) {
	next := func(int64) loadtest.Request { return loadtest.Request{} }
	for _, u := range []string{"http://192.0.2.1:80", "http://example.com", "http://10.0.0.1:8080", "ftp://127.0.0.1"} {
		_, err := loadtest.Run(context.Background(), loadtest.Config{URL: u, MaxRequests: 1, Next: next})
		assert.Error(t, err, u)
	}
	_, err := loadtest.Run(context.Background(), loadtest.Config{URL: "http://10.1.1.1", MaxRequests: 1, Next: next})
	assert.ErrorIs(t, err, loadtest.ErrNotLoopback)
	for _, cfg := range []loadtest.Config{
		{URL: "http://127.0.0.1:1", Next: next},     // no bound
		{URL: "http://127.0.0.1:1", MaxRequests: 1}, // no Next
		{URL: "http://127.0.0.1:1", MaxRequests: 1, Next: next, Workers: -1},
	} {
		_, err := loadtest.Run(context.Background(), cfg)
		assert.Error(t, err)
	}
	for _, u := range []string{"http://localhost:1", "http://[::1]:1", "http://127.8.9.10:1"} {
		rep, err := loadtest.Run(context.Background(), loadtest.Config{URL: u, MaxRequests: 1, Workers: 1, Next: next})
		require.NoError(t, err, u)
		assert.Equal(t, int64(1), rep.Failed, "%s: nothing listens there", u)
	}
}

func ExampleRun() {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		w.WriteHeader(http.StatusNoContent)
	}))
	defer srv.Close()
	rep, err := loadtest.Run(context.Background(), loadtest.Config{
		URL: srv.URL, Workers: 2, MaxRequests: 50,
		Next: func(int64) loadtest.Request { return loadtest.Request{Path: "/v1/chat/completions", Key: "sk-test"} },
	})
	if err != nil {
		panic(err)
	}
	fmt.Println(rep.Requests, rep.Status[http.StatusNoContent], rep.ServerErrors())
	// Output: 50 50 0
}
