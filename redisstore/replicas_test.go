package redisstore_test

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/tollgate/tollgate/quota"
	"github.com/tollgate/tollgate/ratelimit"
	"github.com/tollgate/tollgate/redisstore"
)

// Two independent go-redis clients stand for two gateway replicas: each
// has its own pool and its own Store, and they share only the server and
// the key prefix.

const replicas, workers = 2, 12

// replicaStores returns one Store per replica on a shared prefix.
func replicaStores(t *testing.T) []*redisstore.Store {
	addr := redisAddr(t)
	first := sharedClient(t)
	prefix := uniquePrefix(t, first)
	stores := make([]*redisstore.Store, replicas)
	for i := range stores {
		c := first
		if i > 0 {
			c = newClient(t, addr)
		}
		stores[i] = redisstore.MustNew(c, redisstore.WithPrefix(prefix), redisstore.WithTimeout(10*time.Second))
	}
	return stores
}

// hammer runs f on every replica from workers goroutines each, released
// together.
func hammer(stores []*redisstore.Store, f func(s *redisstore.Store, rng *rand.Rand)) {
	start := make(chan struct{})
	var wg sync.WaitGroup
	for r, s := range stores {
		for w := range workers {
			wg.Add(1)
			go func() {
				defer wg.Done()
				rng := rand.New(rand.NewPCG(uint64(r), uint64(w)))
				<-start
				f(s, rng)
			}()
		}
	}
	close(start)
	wg.Wait()
}

func TestReplicasShareOneBucket(t *testing.T) {
	stores := replicaStores(t)
	limit := ratelimit.Every(time.Hour, 100) // no refill within the test
	var allowed atomic.Int64
	started := time.Now()
	hammer(stores, func(s *redisstore.Store, _ *rand.Rand) {
		for range 20 {
			r, err := s.Buckets().Take(context.Background(), ratelimit.Charge{Prefix: "rpm:", Key: "key_1", Limit: limit, Cost: 1})
			if assert.NoError(t, err) && r.Allowed {
				allowed.Add(1)
			}
		}
	})
	refilled := int64(time.Since(started) / limit.Interval)
	assert.GreaterOrEqual(t, allowed.Load(), limit.Burst, "480 attempts drain the bucket")
	assert.LessOrEqual(t, allowed.Load(), limit.Burst+refilled, "two replicas together get what one bucket grants")
}

func TestReplicasTakeAllAtomically(t *testing.T) {
	stores := replicaStores(t)
	own, shared := ratelimit.Every(time.Hour, 20), ratelimit.Every(time.Hour, 60)
	var granted [replicas * workers]atomic.Int64
	var next atomic.Int64
	hammer(stores, func(s *redisstore.Store, rng *rand.Rand) {
		rs := make([]ratelimit.Result, 2)
		for range 15 {
			k := rng.IntN(len(granted))
			charges := []ratelimit.Charge{
				{Prefix: "key:", Key: fmt.Sprint(k), Limit: own, Cost: 1},
				{Prefix: "acct:", Key: "acme", Limit: shared, Cost: 1},
			}
			ok, err := s.Buckets().TakeAll(context.Background(), charges, rs)
			if assert.NoError(t, err) && ok {
				granted[k].Add(1)
				next.Add(1)
			}
		}
	})
	assert.Equal(t, shared.Burst, next.Load(), "the shared bucket granted exactly its burst")
	for k := range granted {
		r, err := stores[0].Buckets().Take(context.Background(), ratelimit.Charge{Prefix: "key:", Key: fmt.Sprint(k), Limit: own})
		require.NoError(t, err)
		assert.Equal(t, own.Burst-granted[k].Load(), r.Remaining, "key %d was charged only for its grants", k)
	}
}

func TestReplicasShareLeases(t *testing.T) {
	stores := replicaStores(t)
	const limit = 3
	var holding, peak, granted atomic.Int64
	hammer(stores, func(s *redisstore.Store, _ *rand.Rand) {
		for range 10 {
			l, err := s.Leases().Acquire(context.Background(), "conc:", "key_1", limit, time.Minute)
			if !assert.NoError(t, err) || !l.Acquired {
				continue
			}
			granted.Add(1)
			n := holding.Add(1)
			for p := peak.Load(); n > p && !peak.CompareAndSwap(p, n); p = peak.Load() {
			}
			holding.Add(-1)
			assert.NoError(t, s.Leases().Release(context.Background(), "conc:", "key_1", l.ID))
		}
	})
	assert.LessOrEqual(t, peak.Load(), int64(limit))
	assert.Positive(t, granted.Load())
	l, err := stores[1].Leases().Acquire(context.Background(), "conc:", "key_1", limit, time.Minute)
	require.NoError(t, err)
	assert.Equal(t, int64(1), l.Active, "every lease was released, whichever replica took it")
}

func TestReplicasLedgerInvariant(t *testing.T) {
	stores := replicaStores(t)
	ctx := context.Background()
	const account, credit = "acme", 5_000
	_, err := stores[0].Ledger().Credit(ctx, account, credit, "topup")
	require.NoError(t, err)
	var charged, granted, refused, minBalance atomic.Int64
	minBalance.Store(credit)
	var ids atomic.Int64
	hammer(stores, func(s *redisstore.Store, rng *rand.Rand) {
		other := stores[rng.IntN(len(stores))].Ledger() // settle on any replica
		for range 15 {
			now := time.Now()
			hold := 1 + rng.Int64N(100)
			h, err := s.Ledger().Reserve(ctx, account, hold, fmt.Sprint("r", ids.Add(1)), now)
			var refusal *quota.Refusal
			if errors.As(err, &refusal) {
				assert.ErrorIs(t, err, quota.ErrInsufficientBalance)
				refused.Add(1)
				continue
			}
			require.NoError(t, err)
			granted.Add(1)
			var rc quota.Receipt
			if rng.IntN(4) == 0 {
				rc, err = other.Release(ctx, h, now)
			} else {
				rc, err = other.Settle(ctx, h, rng.Int64N(hold+1), now)
			}
			require.NoError(t, err)
			require.False(t, rc.Replayed)
			charged.Add(rc.Amount)
			for b := minBalance.Load(); rc.Balance < b && !minBalance.CompareAndSwap(b, rc.Balance); b = minBalance.Load() {
			}
			again, err := s.Ledger().Settle(ctx, h, hold, now)
			require.NoError(t, err)
			assert.Equal(t, quota.Receipt{Amount: rc.Amount, Balance: again.Balance, Replayed: true}, again, "a second close is a replay")
		}
	})
	f, err := stores[1].Ledger().Balance(ctx, account, time.Now())
	require.NoError(t, err)
	assert.Equal(t, quota.Funds{Balance: credit - charged.Load()}, f, "balance = credits − charges, nothing held")
	assert.GreaterOrEqual(t, minBalance.Load(), int64(0), "never overspent")
	assert.Positive(t, refused.Load(), "the balance ran out")
	t.Logf("%d reservations granted, %d refused, %d charged", granted.Load(), refused.Load(), charged.Load())
}
