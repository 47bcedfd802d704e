package redisstore_test

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/tollgate/tollgate/ratelimit"
	"github.com/tollgate/tollgate/redisstore"
	"github.com/tollgate/tollgate/tollgatetest"
)

// New insists on a client that honours context deadlines, so that every
// call's timeout can interrupt a hung server.
func ExampleNew() {
	rdb := redis.NewClient(&redis.Options{Addr: "127.0.0.1:6379"})
	defer rdb.Close()
	_, err := redisstore.New(rdb)
	fmt.Println(err != nil)

	rdb = redis.NewClient(&redis.Options{Addr: "127.0.0.1:6379", ContextTimeoutEnabled: true, MaxRetries: -1})
	defer rdb.Close()
	rs, err := redisstore.New(rdb, redisstore.WithPrefix("gw:"), redisstore.WithTimeout(200*time.Millisecond))
	fmt.Println(err)
	fmt.Println(rs.Buckets().Key("rpm:", "key_1"))
	fmt.Println(rs.Ledger().Key("acme"))
	// Output:
	// true
	// <nil>
	// gw:rl:{rpm:key_1}
	// gw:qa:{acme}
}

// WithHashTag puts the buckets one TakeAll takes together in one Redis
// Cluster slot: here every policy's bucket of an API key is tagged by the
// key, whatever the policy.
func ExampleWithHashTag() {
	rdb := redis.NewClusterClient(&redis.ClusterOptions{Addrs: []string{"127.0.0.1:7000"}, ContextTimeoutEnabled: true})
	defer rdb.Close()
	byKey := func(bucket string) string {
		for i := range len(bucket) {
			if bucket[i] == ':' {
				return bucket[i+1:] // bucket names are "<policy>:<key>"
			}
		}
		return bucket
	}
	rs := redisstore.MustNew(rdb, redisstore.WithHashTag(byKey))
	fmt.Println(rs.Buckets().Key("rpm:", "key_1"))
	fmt.Println(rs.Buckets().Key("tpm:", "key_1"))
	// Output:
	// tollgate:rl:{key_1}rpm:key_1
	// tollgate:rl:{key_1}tpm:key_1
}

// The circuit breaker stops calling a Redis that keeps failing and says so
// through its hook; the middlewares then fail open or closed as they are
// configured.
func ExampleBreaker() {
	rdb := redis.NewClient(&redis.Options{Addr: "127.0.0.1:1", ContextTimeoutEnabled: true, MaxRetries: -1, DialerRetries: 1})
	defer rdb.Close()
	clock := tollgatetest.NewClock(time.Time{})
	rs := redisstore.MustNew(rdb, redisstore.WithBreaker(redisstore.Breaker{
		Failures: 2,
		CoolDown: 10 * time.Second,
		Clock:    clock,
		OnChange: func(from, to redisstore.CircuitState, _ error) { fmt.Println("circuit", from, "→", to) },
	}))
	charge := ratelimit.Charge{Prefix: "rpm:", Key: "key_1", Limit: ratelimit.PerMinute(60), Cost: 1}
	for range 3 {
		_, err := rs.Buckets().Take(context.Background(), charge)
		fmt.Println(errors.Is(err, redisstore.ErrCircuitOpen))
	}
	clock.Advance(10 * time.Second)
	_, err := rs.Buckets().Take(context.Background(), charge)
	fmt.Println(errors.Is(err, redisstore.ErrCircuitOpen), rs.Circuit())
	// Output:
	// false
	// circuit closed → open
	// false
	// true
	// circuit open → half-open
	// circuit half-open → open
	// false open
}
