package main

import (
	"context"
	"fmt"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/tollgate/tollgate/redisstore"
)

// redisStores connects to Redis at url (redis://host:port/db) and returns
// the four stores backed by it, so that every replica of the gateway
// shares one set of limits, leases, balances and subscription counters.
func redisStores(ctx context.Context, url string, receiptTTL time.Duration) (Stores, error) {
	opts, err := redis.ParseURL(url)
	if err != nil {
		return Stores{}, fmt.Errorf("redis: %w", err)
	}
	opts.ContextTimeoutEnabled = true
	rdb := redis.NewClient(opts)
	pingCtx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	if err := rdb.Ping(pingCtx).Err(); err != nil {
		_ = rdb.Close()
		return Stores{}, fmt.Errorf("redis %s: %w", opts.Addr, err)
	}
	s, err := redisstore.New(rdb, redisstore.WithPrefix("tollgate-gateway:"), redisstore.WithReceiptTTL(receiptTTL),
		// Fund credits starting balances once per account, by reference, at
		// every start; the reference must outlive any restart, or a restart
		// after the default 90 days would credit them again.
		redisstore.WithCreditTTL(100*365*24*time.Hour))
	if err != nil {
		_ = rdb.Close()
		return Stores{}, err
	}
	return Stores{Limits: s.Buckets(), Leases: s.Leases(), Ledger: s.Ledger(), Windows: s.Windows(), Close: rdb.Close}, nil
}
