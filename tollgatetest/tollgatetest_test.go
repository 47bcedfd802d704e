package tollgatetest_test

import (
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/tollgate/tollgate"
	"github.com/tollgate/tollgate/auth"
	apierrors "github.com/tollgate/tollgate/errors"
	"github.com/tollgate/tollgate/tollgatetest"
)

func TestClockFiresTimersInOrder(t *testing.T) {
	c := tollgatetest.NewClock(time.Time{})
	assert.Equal(t, tollgatetest.Epoch, c.Now())
	a, b := c.NewTimer(2*time.Second), c.NewTimer(time.Second)
	assert.Equal(t, 2, c.Timers())
	c.Advance(1500 * time.Millisecond)
	select {
	case at := <-b.C():
		assert.Equal(t, tollgatetest.Epoch.Add(time.Second), at)
	default:
		t.Fatal("the 1s timer did not fire")
	}
	select {
	case <-a.C():
		t.Fatal("the 2s timer fired early")
	default:
	}
	assert.True(t, a.Stop())
	c.Advance(time.Hour)
	select {
	case <-a.C():
		t.Fatal("a stopped timer fired")
	default:
	}
	assert.False(t, a.Reset(time.Second))
	c.Advance(time.Second)
	<-a.C()
	c.Set(tollgatetest.Epoch) // never backwards
	assert.Equal(t, tollgatetest.Epoch.Add(time.Hour+2500*time.Millisecond), c.Now())
}

func TestKeysAndAssertError(t *testing.T) {
	store := tollgatetest.Keys(
		"sk-good id=k1 account=acme plan=pro models=gpt-*",
		"sk-old expired",
		"sk-gone revoked",
		"sk-bad suspended",
	)
	h := tollgate.Chain(tollgate.RequestID(), apierrors.WithDialect(apierrors.Meta), auth.Middleware(store)).
		ThenFunc(func(w http.ResponseWriter, r *http.Request) {
			p := auth.PrincipalFrom(r.Context())
			_, _ = w.Write([]byte(p.KeyID + "/" + p.Account + "/" + p.Plan))
		})
	cases := []struct {
		key    string
		status int
		code   apierrors.Code
	}{
		{"", 401, apierrors.CodeMissingAPIKey},
		{"sk-nope", 401, apierrors.CodeInvalidAPIKey},
		{"sk-old", 401, apierrors.CodeExpiredAPIKey},
		{"sk-gone", 401, apierrors.CodeRevokedAPIKey},
		{"sk-bad", 403, apierrors.CodeAccountSuspended},
	}
	for _, tc := range cases {
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, tollgatetest.Request("POST", "/v1/chat/completions", tc.key, map[string]any{"model": "gpt-4o"}))
		tollgatetest.AssertRecorderError(t, rec, tc.status, tc.code)
	}
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, tollgatetest.Request("GET", "/", "sk-good", nil))
	require.Equal(t, 200, rec.Code)
	assert.Equal(t, "k1/acme/pro", rec.Body.String())
}

func TestAssertErrorReportsMismatch(t *testing.T) {
	rec := httptest.NewRecorder()
	apierrors.WriteDialect(rec, httptest.NewRequest("GET", "/", nil), apierrors.ZenMux, apierrors.New(apierrors.CodeRateLimitExceeded))
	fake := &recordingTB{TB: t}
	tollgatetest.AssertRecorderError(fake, rec, 403, apierrors.CodeAccessDenied)
	assert.Len(t, fake.errors, 2)
}

type recordingTB struct {
	testing.TB
	errors []string
}

func (r *recordingTB) Helper() {}
func (r *recordingTB) Errorf(format string, args ...any) {
	r.errors = append(r.errors, format)
}

func TestRequestBodies(t *testing.T) {
	r := tollgatetest.Request("POST", "/", "k", map[string]int{"a": 1})
	assert.Equal(t, "application/json", r.Header.Get("Content-Type"))
	assert.Equal(t, "Bearer k", r.Header.Get("Authorization"))
	r = tollgatetest.Request("POST", "/", "", "raw")
	assert.Empty(t, r.Header.Get("Authorization"))
	assert.Panics(t, func() { tollgatetest.Keys("sk-x bogus=1") })
	assert.Panics(t, func() { tollgatetest.Keys("") })
}
