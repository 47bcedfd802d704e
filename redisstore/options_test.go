package redisstore_test

import (
	"testing"
	"time"

	"github.com/redis/go-redis/v9"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/tollgate/tollgate/redisstore"
)

// offlineClient is a client that is never dialled: New only inspects it.
func offlineClient(t *testing.T, contextTimeouts bool) *redis.Client {
	c := redis.NewClient(&redis.Options{Addr: "127.0.0.1:1", ContextTimeoutEnabled: contextTimeouts})
	t.Cleanup(func() { _ = c.Close() })
	return c
}

func TestNewValidates(t *testing.T) {
	good := offlineClient(t, true)
	tests := []struct {
		name string
		rdb  redis.Scripter
		opts []redisstore.Option
		ok   bool
	}{
		{"defaults", good, nil, true},
		{"every option", good, []redisstore.Option{
			redisstore.WithPrefix("gw:"), redisstore.WithTimeout(time.Second), redisstore.WithHoldTTL(time.Minute),
			redisstore.WithReceiptTTL(time.Hour), redisstore.WithCreditTTL(time.Hour),
			redisstore.WithHashTag(func(string) string { return "x" }), redisstore.WithBreaker(redisstore.Breaker{Failures: 3}), nil,
		}, true},
		{"nil client", nil, nil, false},
		{"typed nil client", (*redis.Client)(nil), nil, false},
		{"client ignoring deadlines", offlineClient(t, false), nil, false},
		{"cluster ignoring deadlines", redis.NewClusterClient(&redis.ClusterOptions{Addrs: []string{"127.0.0.1:1"}}), nil, false},
		{"brace in prefix", good, []redisstore.Option{redisstore.WithPrefix("a{b")}, false},
		{"zero timeout", good, []redisstore.Option{redisstore.WithTimeout(0)}, false},
		{"negative hold TTL", good, []redisstore.Option{redisstore.WithHoldTTL(-time.Second)}, false},
		{"zero receipt TTL", good, []redisstore.Option{redisstore.WithReceiptTTL(0)}, false},
		{"zero credit TTL", good, []redisstore.Option{redisstore.WithCreditTTL(0)}, false},
		{"negative cool-down", good, []redisstore.Option{redisstore.WithBreaker(redisstore.Breaker{CoolDown: -1})}, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if c, ok := tt.rdb.(*redis.ClusterClient); ok {
				t.Cleanup(func() { _ = c.Close() })
			}
			s, err := redisstore.New(tt.rdb, tt.opts...)
			if tt.ok {
				require.NoError(t, err)
				assert.NotNil(t, s)
				assert.NotPanics(t, func() { redisstore.MustNew(tt.rdb, tt.opts...) })
				return
			}
			assert.Error(t, err)
			assert.Nil(t, s)
			assert.Panics(t, func() { redisstore.MustNew(tt.rdb, tt.opts...) })
		})
	}
}

func TestKeyLayout(t *testing.T) {
	c := offlineClient(t, true)
	plain := redisstore.MustNew(c, redisstore.WithPrefix("gw:"))
	byKey := redisstore.MustNew(c, redisstore.WithPrefix("gw:"), redisstore.WithHashTag(func(name string) string {
		for i := range len(name) {
			if name[i] == ':' {
				return name[i+1:]
			}
		}
		return name
	}))
	tests := []struct{ name, got, want string }{
		{"bucket", plain.Buckets().Key("rpm:", "key_1"), "gw:rl:{rpm:key_1}"},
		{"bucket, default prefix", redisstore.MustNew(c).Buckets().Key("rpm:", "k"), "tollgate:rl:{rpm:k}"},
		{"bucket tagged by key", byKey.Buckets().Key("rpm:", "key_1"), "gw:rl:{key_1}rpm:key_1"},
		{"another policy, same slot", byKey.Buckets().Key("tpm:", "key_1"), "gw:rl:{key_1}tpm:key_1"},
		{"tag cut at a brace", byKey.Buckets().Key("rpm:", "a}b"), "gw:rl:{a}rpm:a}b"},
		{"lease set", plain.Leases().Key("conc:", "key_1"), "gw:ls:{conc:key_1}"},
		{"lease set tagged", byKey.Leases().Key("conc:", "key_1"), "gw:ls:{key_1}conc:key_1"},
		{"ledger account", plain.Ledger().Key("acme"), "gw:qa:{acme}"},
		{"window usage", plain.Windows().Key("acme", "5h"), "gw:wu:{acme}:5h"},
	}
	for _, tt := range tests {
		assert.Equal(t, tt.want, tt.got, tt.name)
	}
}
