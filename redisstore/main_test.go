package redisstore_test

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"os"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"
	"github.com/stretchr/testify/require"
	"go.uber.org/goleak"

	"github.com/tollgate/tollgate/redisstore"
)

func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m)
}

// redisAddr returns the address of the test server, TOLLGATE_REDIS_ADDR.
// Without it the test is skipped, or fails under CI=true, where a missing
// Redis must not pass silently.
func redisAddr(t testing.TB) string {
	t.Helper()
	addr := os.Getenv("TOLLGATE_REDIS_ADDR")
	if addr == "" {
		msg := "TOLLGATE_REDIS_ADDR is not set: start a redis-server (scripts/test does) and export its host:port"
		if os.Getenv("CI") == "true" {
			t.Fatal(msg + " (required under CI=true)")
		}
		t.Skip(msg)
	}
	return addr
}

// newClient connects to addr the way the store requires (context
// deadlines honoured) and closes the client after the test.
func newClient(t testing.TB, addr string) *redis.Client {
	t.Helper()
	c := redis.NewClient(&redis.Options{
		Addr:                  addr,
		ContextTimeoutEnabled: true,
		PoolSize:              32,
		MaxRetries:            -1,
	})
	t.Cleanup(func() { _ = c.Close() })
	return c
}

// sharedClient connects to the test server, or skips.
func sharedClient(t testing.TB) *redis.Client {
	t.Helper()
	c := newClient(t, redisAddr(t))
	require.NoError(t, c.Ping(context.Background()).Err(), "TOLLGATE_REDIS_ADDR=%s does not answer", redisAddr(t))
	return c
}

// uniquePrefix returns a key prefix no other test uses, and deletes its
// keys after the test, so tests share a server without seeing each other.
func uniquePrefix(t testing.TB, c *redis.Client) string {
	t.Helper()
	var b [6]byte
	_, _ = rand.Read(b[:])
	prefix := "tgtest:" + hex.EncodeToString(b[:]) + ":"
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		iter := c.Scan(ctx, 0, prefix+"*", 1000).Iterator()
		for iter.Next(ctx) {
			_ = c.Del(ctx, iter.Val()).Err()
		}
	})
	return prefix
}

// newStore returns a store on c with a fresh prefix and a generous
// timeout (the race detector and 64 goroutines on two cores are slow).
func newStore(t testing.TB, c *redis.Client, opts ...redisstore.Option) *redisstore.Store {
	t.Helper()
	opts = append([]redisstore.Option{redisstore.WithPrefix(uniquePrefix(t, c)), redisstore.WithTimeout(10 * time.Second)}, opts...)
	s, err := redisstore.New(c, opts...)
	require.NoError(t, err)
	return s
}
