package redisstore_test

import (
	"context"
	"net"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/tollgate/tollgate"
	"github.com/tollgate/tollgate/quota"
	"github.com/tollgate/tollgate/quota/quotatest"
	"github.com/tollgate/tollgate/ratelimit"
	"github.com/tollgate/tollgate/ratelimit/ratelimittest"
	"github.com/tollgate/tollgate/redisstore"
)

// startCluster starts a three-node Redis Cluster of private servers, each
// serving a third of the slots, and returns a client for it.
func startCluster(t *testing.T) *redis.ClusterClient {
	const nodes = 3
	ctx := context.Background()
	addrs := make([]string, nodes)
	for i := range nodes {
		srv := startPrivateRedis(t, "--cluster-enabled", "yes", "--cluster-config-file", "nodes.conf")
		addrs[i] = srv.addr
		c := newClient(t, srv.addr)
		first, last := i*16384/nodes, (i+1)*16384/nodes-1
		require.NoError(t, c.Do(ctx, "CLUSTER", "ADDSLOTSRANGE", first, last).Err())
		if i > 0 {
			host, port, _ := net.SplitHostPort(addrs[0])
			require.NoError(t, c.ClusterMeet(ctx, host, port).Err())
		}
	}
	for _, addr := range addrs {
		waitClusterOK(t, newClient(t, addr), nodes)
	}
	cc := redis.NewClusterClient(&redis.ClusterOptions{Addrs: addrs, ContextTimeoutEnabled: true, MaxRetries: -1, PoolSize: 16})
	t.Cleanup(func() { _ = cc.Close() })
	require.NoError(t, cc.ForEachShard(ctx, func(ctx context.Context, c *redis.Client) error { return c.Ping(ctx).Err() }))
	return cc
}

// waitClusterOK polls a node until it sees every node and every slot.
func waitClusterOK(t *testing.T, c *redis.Client, nodes int) {
	tick := time.NewTicker(20 * time.Millisecond)
	defer tick.Stop()
	deadline := time.After(20 * time.Second)
	for {
		info, err := c.ClusterInfo(context.Background()).Result()
		require.NoError(t, err)
		if strings.Contains(info, "cluster_state:ok") && strings.Contains(info, "cluster_known_nodes:"+strconv.Itoa(nodes)) {
			return
		}
		select {
		case <-tick.C:
		case <-deadline:
			t.Fatalf("the cluster did not converge:\n%s", info)
		}
	}
}

// clusterStore returns a store on the cluster with a fresh prefix.
func clusterStore(t *testing.T, cc *redis.ClusterClient, opts ...redisstore.Option) *redisstore.Store {
	opts = append([]redisstore.Option{redisstore.WithPrefix(t.Name() + ":"), redisstore.WithTimeout(10 * time.Second)}, opts...)
	return redisstore.MustNew(cc, opts...)
}

// TestCluster runs the conformance suites on a three-node cluster: the
// ledger and window stores as they are (their keys are tagged by account),
// the buckets with every bucket of a test in one slot, as WithHashTag
// arranges in production.
func TestCluster(t *testing.T) {
	if testing.Short() {
		t.Skip("starts three redis-servers")
	}
	cc := startCluster(t)
	sameSlot := redisstore.WithHashTag(func(string) string { return "one" })
	t.Run("Buckets", func(t *testing.T) {
		ratelimittest.Run(t, func(t *testing.T, clock tollgate.Clock) ratelimit.Store {
			return clusterStore(t, cc, redisstore.WithClock(clock), sameSlot).Buckets()
		})
	})
	t.Run("Leases", func(t *testing.T) {
		ratelimittest.RunLeases(t, func(t *testing.T, clock tollgate.Clock) ratelimit.LeaseStore {
			return clusterStore(t, cc, redisstore.WithClock(clock)).Leases()
		})
	})
	t.Run("Ledger", func(t *testing.T) {
		quotatest.Run(t, func(t *testing.T) quota.Ledger { return clusterStore(t, cc).Ledger() })
	})
	t.Run("Windows", func(t *testing.T) {
		quotatest.RunWindows(t, func(t *testing.T) quota.WindowStore { return clusterStore(t, cc).Windows() })
	})
	t.Run("CrossSlotTakeAll", func(t *testing.T) {
		s := clusterStore(t, cc)
		lim := ratelimit.PerMinute(10)
		charges := []ratelimit.Charge{{Prefix: "rpm:", Key: "a", Limit: lim, Cost: 1}, {Prefix: "rpm:", Key: "b", Limit: lim, Cost: 1}}
		_, err := s.Buckets().TakeAll(context.Background(), charges, make([]ratelimit.Result, 2))
		require.Error(t, err, "buckets in two slots")
		assert.ErrorIs(t, err, redisstore.ErrCrossSlot)
		assert.Equal(t, redisstore.CircuitClosed, s.Circuit(), "a refusal of a server that is up is no outage")
		r, err := s.Buckets().Take(context.Background(), charges[0])
		require.NoError(t, err)
		assert.Equal(t, int64(9), r.Remaining, "the failed TakeAll took nothing")
	})
}
