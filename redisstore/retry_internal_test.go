package redisstore

import (
	"context"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/tollgate/tollgate/quota"
)

// A reservation whose reply was lost is sent again by go-redis with the
// same arguments: the scripts recognise the call by its token and succeed
// again, holding once. Another call with the same request ID is refused.
func TestReserveRetriedByTheClient(t *testing.T) {
	c := probeClient(t)
	s := MustNew(c, WithPrefix("tgtest:retry:"+token()+":"), WithTimeout(10*time.Second))
	ctx, now := context.Background(), time.Now()
	_, err := s.Ledger().Credit(ctx, "acme", 100, "topup")
	require.NoError(t, err)
	keys := s.Ledger().keys("acme")
	args := []any{now.UnixMicro(), 40, "req", now.Add(time.Minute).UnixMicro(), "tok1", micros(time.Hour), s.keyTTL()}
	for range 2 {
		v, err := s.run(ctx, "reserve", reserveScript, keys, args...)
		require.NoError(t, err)
		assert.Equal(t, []int64{0, 0, 60}, v, "held once, 60 left")
	}
	args[4] = "tok2"
	v, err := s.run(ctx, "reserve", reserveScript, keys, args...)
	require.NoError(t, err)
	assert.Equal(t, int64(1), v[0], "another call with the request ID is a duplicate")
	f, err := s.Ledger().Balance(ctx, "acme", now)
	require.NoError(t, err)
	assert.Equal(t, quota.Funds{Balance: 100, Held: 40, Holds: 1}, f)

	ls := []quota.Limit{{Name: "day", Window: quota.Daily(nil), Unit: quota.Requests, Max: 5}}
	w := s.Windows()
	wargs := []any{now.UnixMicro(), "req", now.Add(time.Minute).UnixMicro(), "tok1", micros(time.Hour), s.keyTTL(), "day", 5, 1}
	for range 2 {
		v, err := s.run(ctx, "window reserve", wreserveScript, w.keys("acme", ls), wargs...)
		require.NoError(t, err)
		assert.Equal(t, []int64{0, 0, 1, 0}, v, "held once: one request used")
	}
	us, err := w.Usage(ctx, "acme", ls, now)
	require.NoError(t, err)
	assert.Equal(t, int64(1), us[0].Used)
}
