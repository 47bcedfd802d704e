package auth_test

import (
	"net/http"
	"net/http/httptest"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"

	"github.com/tollgate/tollgate"
	"github.com/tollgate/tollgate/auth"
	"github.com/tollgate/tollgate/tollgatetest"
)

// countingClock is a manual clock that counts how often it is read.
type countingClock struct {
	*tollgatetest.Clock
	reads atomic.Int64
}

func (c *countingClock) Now() time.Time {
	c.reads.Add(1)
	return c.Clock.Now()
}

// Only keys with an expiry or revocation date need the time, so only
// they read the clock: the common key costs no clock reading.
func TestAuthenticatorReadsTheClockOnlyForDatedKeys(t *testing.T) {
	t0 := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	tests := []struct {
		name      string
		principal auth.Principal
		reads     int64
		status    int
	}{
		{"no dates", auth.Principal{KeyID: "k"}, 0, http.StatusOK},
		{"expires later", auth.Principal{KeyID: "k", ExpiresAt: t0.Add(time.Hour)}, 1, http.StatusOK},
		{"expired", auth.Principal{KeyID: "k", ExpiresAt: t0}, 1, http.StatusUnauthorized},
		{"revoked", auth.Principal{KeyID: "k", RevokedAt: t0.Add(-time.Second)}, 1, http.StatusUnauthorized},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			clock := &countingClock{Clock: tollgatetest.NewClock(t0)}
			store := auth.MustMemoryStore(auth.StaticKey{Key: validKey, Principal: tt.principal})
			h := auth.MustNew(store, auth.WithClock(clock)).Middleware(http.HandlerFunc(func(http.ResponseWriter, *http.Request) {}))
			r := httptest.NewRequest(http.MethodPost, "/v1/chat/completions", nil)
			r.Header.Set("Authorization", "Bearer "+validKey)
			rec := httptest.NewRecorder()
			h.ServeHTTP(rec, r)
			assert.Equal(t, tt.status, rec.Code)
			assert.Equal(t, tt.reads, clock.reads.Load())
		})
	}
	var _ tollgate.Clock = (*countingClock)(nil)
}
