package auth_test

import (
	"context"
	"errors"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/tollgate/tollgate/auth"
	"github.com/tollgate/tollgate/tollgatetest"
)

// slowStore is a KeyStore that counts its calls and knows one key.
type slowStore struct {
	known   auth.KeyHash
	calls   atomic.Int64
	entered chan struct{} // receives once per call, when set
	release chan struct{} // each call waits for it, when set
	fail    atomic.Bool
}

func (s *slowStore) Lookup(ctx context.Context, h auth.KeyHash) (*auth.Principal, error) {
	s.calls.Add(1)
	if s.entered != nil {
		s.entered <- struct{}{}
	}
	if s.release != nil {
		select {
		case <-s.release:
		case <-ctx.Done():
			return nil, ctx.Err()
		}
	}
	if s.fail.Load() {
		return nil, errors.New("database is down")
	}
	if h == s.known {
		return &auth.Principal{KeyID: "k1"}, nil
	}
	return nil, auth.ErrKeyNotFound
}

func newCache(t *testing.T, s *slowStore, opts ...auth.CacheOption) (*auth.CachedStore, *tollgatetest.Clock) {
	t.Helper()
	clock := tollgatetest.NewClock(time.Time{})
	c, err := auth.NewCachedStore(s, append([]auth.CacheOption{auth.CacheClock(clock)}, opts...)...)
	require.NoError(t, err)
	return c, clock
}

func TestCachedStoreTTL(t *testing.T) {
	s := &slowStore{known: auth.HashKey("good")}
	c, clock := newCache(t, s, auth.CacheTTL(time.Minute), auth.NegativeCacheTTL(10*time.Second))
	ctx := context.Background()
	good, bad := auth.HashKey("good"), auth.HashKey("bad")

	steps := []struct {
		advance time.Duration
		hash    auth.KeyHash
		wantErr error
		calls   int64
	}{
		{0, good, nil, 1},
		{30 * time.Second, good, nil, 1},               // fresh
		{30 * time.Second, good, nil, 2},               // expired at exactly one minute
		{0, bad, auth.ErrKeyNotFound, 3},               // negative answer fetched
		{9 * time.Second, bad, auth.ErrKeyNotFound, 3}, // and remembered
		{time.Second, bad, auth.ErrKeyNotFound, 4},     // until the negative TTL
		{0, good, nil, 4},
	}
	for i, st := range steps {
		clock.Advance(st.advance)
		p, err := c.Lookup(ctx, st.hash)
		if st.wantErr != nil {
			assert.ErrorIs(t, err, st.wantErr, "step %d", i)
			assert.Nil(t, p)
		} else {
			require.NoError(t, err, "step %d", i)
			assert.Equal(t, "k1", p.KeyID)
		}
		assert.Equal(t, st.calls, s.calls.Load(), "step %d", i)
	}
}

func TestCachedStoreNegativeCachingOff(t *testing.T) {
	s := &slowStore{}
	c, _ := newCache(t, s, auth.NegativeCacheTTL(0))
	for range 3 {
		_, err := c.Lookup(context.Background(), auth.HashKey("bad"))
		assert.ErrorIs(t, err, auth.ErrKeyNotFound)
	}
	assert.Equal(t, int64(3), s.calls.Load())
}

func TestCachedStoreDoesNotCacheErrors(t *testing.T) {
	s := &slowStore{known: auth.HashKey("good")}
	s.fail.Store(true)
	c, _ := newCache(t, s)
	_, err := c.Lookup(context.Background(), auth.HashKey("good"))
	require.Error(t, err)
	assert.NotErrorIs(t, err, auth.ErrKeyNotFound)

	s.fail.Store(false)
	p, err := c.Lookup(context.Background(), auth.HashKey("good"))
	require.NoError(t, err)
	assert.Equal(t, "k1", p.KeyID)
	assert.Equal(t, int64(2), s.calls.Load())
}

func TestCachedStoreSingleFlight(t *testing.T) {
	s := &slowStore{known: auth.HashKey("good"), entered: make(chan struct{}, 100), release: make(chan struct{})}
	c, _ := newCache(t, s)
	const burst = 50
	var wg sync.WaitGroup
	results := make(chan string, burst)
	for range burst {
		wg.Go(func() {
			p, err := c.Lookup(context.Background(), auth.HashKey("good"))
			if assert.NoError(t, err) {
				results <- p.KeyID
			}
		})
	}
	<-s.entered // one lookup is in the store; the rest wait on it or find the cache
	close(s.release)
	wg.Wait()
	close(results)
	for id := range results {
		assert.Equal(t, "k1", id)
	}
	assert.Equal(t, int64(1), s.calls.Load(), "a burst of one new key makes one lookup")
}

func TestCachedStoreLeaderGivesUp(t *testing.T) {
	s := &slowStore{known: auth.HashKey("good"), entered: make(chan struct{}, 10), release: make(chan struct{})}
	c, _ := newCache(t, s)
	leaderCtx, cancel := context.WithCancel(context.Background())
	leaderErr := make(chan error, 1)
	go func() {
		_, err := c.Lookup(leaderCtx, auth.HashKey("good"))
		leaderErr <- err
	}()
	<-s.entered
	follower := make(chan *auth.Principal, 1)
	go func() {
		p, err := c.Lookup(context.Background(), auth.HashKey("good"))
		assert.NoError(t, err)
		follower <- p
	}()
	cancel()
	assert.ErrorIs(t, <-leaderErr, context.Canceled)
	// The follower either waited on the cancelled call and retried, or
	// arrived after it: both ways it makes the next call, which succeeds.
	<-s.entered
	close(s.release)
	p := <-follower
	require.NotNil(t, p)
	assert.Equal(t, "k1", p.KeyID)
}

func TestCachedStoreFollowerGivesUp(t *testing.T) {
	s := &slowStore{known: auth.HashKey("good"), entered: make(chan struct{}, 10), release: make(chan struct{})}
	c, _ := newCache(t, s)
	done := make(chan struct{})
	go func() {
		defer close(done)
		_, err := c.Lookup(context.Background(), auth.HashKey("good"))
		assert.NoError(t, err)
	}()
	<-s.entered
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	_, err := c.Lookup(ctx, auth.HashKey("good"))
	assert.ErrorIs(t, err, context.Canceled)
	close(s.release)
	<-done
}

func TestCachedStorePanickingStore(t *testing.T) {
	var calls atomic.Int64
	c := auth.MustCachedStore(auth.KeyStoreFunc(func(context.Context, auth.KeyHash) (*auth.Principal, error) {
		if calls.Add(1) == 1 {
			panic("store bug")
		}
		return &auth.Principal{KeyID: "k1"}, nil
	}))
	assert.PanicsWithValue(t, "store bug", func() { _, _ = c.Lookup(context.Background(), auth.HashKey("k")) })
	p, err := c.Lookup(context.Background(), auth.HashKey("k"))
	require.NoError(t, err, "the failed flight was cleaned up")
	assert.Equal(t, "k1", p.KeyID)
}

func TestCachedStoreNilPrincipalIsNotFound(t *testing.T) {
	c := auth.MustCachedStore(auth.KeyStoreFunc(func(context.Context, auth.KeyHash) (*auth.Principal, error) {
		return nil, nil
	}))
	_, err := c.Lookup(context.Background(), auth.HashKey("k"))
	assert.ErrorIs(t, err, auth.ErrKeyNotFound)
}

func TestCachedStoreInvalidate(t *testing.T) {
	s := &slowStore{known: auth.HashKey("good")}
	c, _ := newCache(t, s)
	ctx := context.Background()
	_, _ = c.Lookup(ctx, auth.HashKey("good"))
	_, _ = c.Lookup(ctx, auth.HashKey("bad"))
	found, unknown := c.Len()
	assert.Equal(t, 1, found)
	assert.Equal(t, 1, unknown)

	c.Invalidate(auth.HashKey("good"))
	_, _ = c.Lookup(ctx, auth.HashKey("good"))
	assert.Equal(t, int64(3), s.calls.Load())

	c.Purge()
	found, unknown = c.Len()
	assert.Zero(t, found+unknown)
}

func TestCachedStoreInvalidateDuringLookup(t *testing.T) {
	s := &slowStore{known: auth.HashKey("good"), entered: make(chan struct{}, 10), release: make(chan struct{})}
	c, _ := newCache(t, s)
	done := make(chan struct{})
	go func() {
		defer close(done)
		_, err := c.Lookup(context.Background(), auth.HashKey("good"))
		assert.NoError(t, err)
	}()
	<-s.entered
	c.Invalidate(auth.HashKey("good"))
	close(s.release)
	<-done
	found, _ := c.Len()
	assert.Zero(t, found, "an answer older than the invalidation is not kept")
}

func TestCachedStoreBoundsEachMap(t *testing.T) {
	s := &slowStore{known: auth.HashKey("good")}
	c, _ := newCache(t, s, auth.CacheMaxEntries(4))
	ctx := context.Background()
	_, err := c.Lookup(ctx, auth.HashKey("good"))
	require.NoError(t, err)
	for i := range 100 {
		_, _ = c.Lookup(ctx, auth.HashKey(string(rune('a'+i))))
	}
	found, unknown := c.Len()
	assert.Equal(t, 1, found, "unknown keys cannot push out found ones")
	assert.Equal(t, 4, unknown)
	calls := s.calls.Load()
	_, err = c.Lookup(ctx, auth.HashKey("good"))
	require.NoError(t, err)
	assert.Equal(t, calls, s.calls.Load(), "the valid key is still cached")
}

func TestNewCachedStoreValidates(t *testing.T) {
	s := &slowStore{}
	tests := []struct {
		name  string
		store auth.KeyStore
		opts  []auth.CacheOption
	}{
		{"nil store", nil, nil},
		{"zero ttl", s, []auth.CacheOption{auth.CacheTTL(0)}},
		{"negative negative ttl", s, []auth.CacheOption{auth.NegativeCacheTTL(-time.Second)}},
		{"zero size", s, []auth.CacheOption{auth.CacheMaxEntries(0)}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := auth.NewCachedStore(tt.store, tt.opts...)
			assert.Error(t, err)
			assert.Panics(t, func() { auth.MustCachedStore(tt.store, tt.opts...) })
		})
	}
}
