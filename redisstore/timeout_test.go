package redisstore_test

import (
	"context"
	"errors"
	"io"
	"net"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/tollgate/tollgate/quota"
	"github.com/tollgate/tollgate/ratelimit"
	"github.com/tollgate/tollgate/redisstore"
)

// silentServer accepts connections and reads from them but never
// answers: a hung Redis. It stops with the test.
func silentServer(t *testing.T) string {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	var wg sync.WaitGroup
	var mu sync.Mutex
	var conns []net.Conn
	wg.Add(1)
	go func() {
		defer wg.Done()
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			mu.Lock()
			conns = append(conns, c)
			mu.Unlock()
			wg.Add(1)
			go func() {
				defer wg.Done()
				_, _ = io.Copy(io.Discard, c)
			}()
		}
	}()
	t.Cleanup(func() {
		_ = ln.Close()
		mu.Lock()
		for _, c := range conns {
			_ = c.Close()
		}
		mu.Unlock()
		wg.Wait()
	})
	return ln.Addr().String()
}

func TestTimeoutBoundsEveryCall(t *testing.T) {
	c := newClient(t, silentServer(t))
	s, err := redisstore.New(c, redisstore.WithTimeout(50*time.Millisecond), redisstore.WithBreaker(redisstore.Breaker{Failures: -1}))
	require.NoError(t, err)
	ctx := context.Background()
	now := time.Now()
	calls := map[string]func() error{
		"take": func() error {
			_, err := s.Buckets().Take(ctx, ratelimit.Charge{Key: "k", Limit: ratelimit.PerSecond(1), Cost: 1})
			return err
		},
		"acquire": func() error { _, err := s.Leases().Acquire(ctx, "", "k", 1, time.Second); return err },
		"reserve": func() error { _, err := s.Ledger().Reserve(ctx, "a", 1, "r", now); return err },
		"usage":   func() error { _, err := s.Windows().Usage(ctx, "a", nil, now); return err },
	}
	for name, call := range calls {
		start := time.Now()
		err := call()
		elapsed := time.Since(start)
		require.Error(t, err, name)
		var se *redisstore.Error
		assert.ErrorAs(t, err, &se, name)
		var ne net.Error
		timedOut := errors.Is(err, context.DeadlineExceeded) || errors.As(err, &ne) && ne.Timeout()
		assert.True(t, timedOut, "%s: %v is a timeout", name, err)
		assert.Less(t, elapsed, 2*time.Second, "%s: bounded by the timeout, not the client's", name)
	}
}

func TestCallerDeadlineWins(t *testing.T) {
	c := newClient(t, silentServer(t))
	s, err := redisstore.New(c, redisstore.WithTimeout(time.Hour), redisstore.WithBreaker(redisstore.Breaker{Failures: 1}))
	require.NoError(t, err)
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Millisecond)
	defer cancel()
	_, err = s.Ledger().Balance(ctx, "a", time.Now())
	require.Error(t, err)
	assert.Equal(t, redisstore.CircuitClosed, s.Circuit(), "a caller that gave up says nothing about Redis")
	_, err = s.Ledger().Balance(context.Background(), "", time.Now())
	assert.ErrorIs(t, err, quota.ErrInvalidArgument, "validation needs no server")
}
