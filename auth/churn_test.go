package auth_test

import (
	"context"
	"errors"
	"math/rand/v2"
	"net/http"
	"net/http/httptest"
	"os"
	"runtime"
	"strconv"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/tollgate/tollgate/auth"
	apierrors "github.com/tollgate/tollgate/errors"
	"github.com/tollgate/tollgate/tollgatetest"
)

// churnKeys is how many random keys a key-churn test sends: a million by
// default, and ten million with TOLLGATE_SOAK=1 (the figures in
// docs/reliability.md).
func churnKeys() int {
	if os.Getenv("TOLLGATE_SOAK") == "1" {
		return 10_000_000
	}
	return 1_000_000
}

func heapInUse() uint64 {
	runtime.GC()
	runtime.GC()
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	return ms.HeapAlloc
}

// countingStore is a backing KeyStore that counts lookups of its own keys
// apart from unknown ones, so a test can tell whether the cache kept them.
type countingStore struct {
	keys    *auth.MemoryStore
	known   atomic.Int64
	unknown atomic.Int64
}

func (s *countingStore) Lookup(ctx context.Context, h auth.KeyHash) (*auth.Principal, error) {
	p, err := s.keys.Lookup(ctx, h)
	if err == nil {
		s.known.Add(1)
	} else {
		s.unknown.Add(1)
	}
	return p, err
}

// TestCachedStoreKeyChurn sprays random keys at a CachedStore, as a client
// guessing keys would: every one reaches the backing store (nothing is
// cached wrongly), the cache never holds more entries than its bound, the
// heap stays within that bound's budget, and the legitimate keys stay
// cached throughout, so the flood never pushes them back onto the store.
func TestCachedStoreKeyChurn(t *testing.T) {
	const (
		maxEntries = 20_000
		legit      = 20
		workers    = 4
		rounds     = 10
	)
	total := churnKeys()
	legitKey := func(i int) string { return "sk-legit-" + strconv.Itoa(i) + "-0123456789abcdef" }
	var keys []auth.StaticKey
	for i := range legit {
		keys = append(keys, auth.StaticKey{Key: legitKey(i), Principal: auth.Principal{KeyID: "k" + strconv.Itoa(i), Account: "acme"}})
	}
	backing := &countingStore{keys: auth.MustMemoryStore(keys...)}

	before := heapInUse()
	clock := tollgatetest.NewClock(time.Time{})
	cache, err := auth.NewCachedStore(backing, auth.CacheClock(clock), auth.CacheMaxEntries(maxEntries),
		auth.CacheTTL(time.Hour), auth.NegativeCacheTTL(10*time.Second))
	require.NoError(t, err)
	ctx := context.Background()
	checkLegit := func(round int) {
		for i := range legit {
			p, err := cache.Lookup(ctx, auth.HashKey(legitKey(i)))
			require.NoError(t, err, "round %d key %d", round, i)
			require.Equal(t, "k"+strconv.Itoa(i), p.KeyID)
		}
	}
	checkLegit(-1)

	start := time.Now()
	perRound := total / rounds / workers
	for round := range rounds {
		var wg sync.WaitGroup
		for w := range workers {
			wg.Add(1)
			go func() {
				defer wg.Done()
				rng := rand.New(rand.NewPCG(uint64(round), uint64(w)))
				buf := make([]byte, 0, 40)
				for range perRound {
					buf = strconv.AppendUint(append(buf[:0], "sk-guess-"...), rng.Uint64(), 36)
					_, err := cache.Lookup(ctx, auth.HashKey(string(buf)))
					if !errors.Is(err, auth.ErrKeyNotFound) {
						t.Errorf("a random key: %v", err)
						return
					}
				}
			}()
		}
		wg.Wait()
		clock.Advance(time.Second)
		found, unknown := cache.Len()
		require.LessOrEqual(t, found, maxEntries)
		require.LessOrEqual(t, unknown, maxEntries, "round %d", round)
		checkLegit(round)
	}
	elapsed := time.Since(start)

	after := heapInUse()
	grown := int64(after) - int64(before)
	runtime.KeepAlive(cache)
	found, unknown := cache.Len()
	t.Logf("%d random keys in %v (%.0f ns/key); cache holds %d found, %d unknown; heap grew %d bytes (%.0f B per capped entry)",
		total, elapsed.Round(time.Millisecond), float64(elapsed.Nanoseconds())/float64(total),
		found, unknown, grown, float64(grown)/maxEntries)
	assert.Equal(t, int64(legit), backing.known.Load(), "each legitimate key reached the store once: the flood never evicted one")
	assert.Equal(t, int64(rounds*workers*perRound), backing.unknown.Load(), "every guess was looked up, none answered from a wrong entry")
	// A 32-byte hash and a 32-byte entry per slot, in a map that is at most
	// half empty after growing: 256 bytes an entry is a generous ceiling.
	assert.Less(t, grown, int64(256*maxEntries), "the heap is bounded by the cache size, not by the flood")
}

// TestAuthenticatorUnderKeyChurn sends a flood of random keys through the
// middleware itself, interleaved with legitimate requests: every guess is a
// 401 invalid_api_key, every legitimate request passes, and the cache's
// bound holds.
func TestAuthenticatorUnderKeyChurn(t *testing.T) {
	const maxEntries = 1_000
	good := "sk-legit-0123456789abcdefghij"
	backing := &countingStore{keys: auth.MustMemoryStore(auth.StaticKey{Key: good, Principal: auth.Principal{KeyID: "good", Account: "acme"}})}
	clock := tollgatetest.NewClock(time.Time{})
	cache := auth.MustCachedStore(backing, auth.CacheClock(clock), auth.CacheMaxEntries(maxEntries))
	h := auth.MustNew(cache, auth.WithClock(clock)).Middleware(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		w.WriteHeader(http.StatusNoContent)
	}))
	rng := rand.New(rand.NewPCG(1, 2))
	serve := func(key string) *httptest.ResponseRecorder {
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, tollgatetest.Request(http.MethodPost, "/v1/chat/completions", key, nil))
		return rec
	}
	for i := range 20 * maxEntries {
		rec := serve("sk-guess-" + strconv.FormatUint(rng.Uint64(), 36))
		if !assert.Equal(t, http.StatusUnauthorized, rec.Code) {
			return
		}
		if i%1000 == 0 {
			tollgatetest.AssertError(t, rec.Result(), http.StatusUnauthorized, apierrors.CodeInvalidAPIKey)
			require.Equal(t, http.StatusNoContent, serve(good).Code)
		}
	}
	_, unknown := cache.Len()
	assert.LessOrEqual(t, unknown, maxEntries)
	assert.Equal(t, int64(1), backing.known.Load(), "the legitimate key stayed cached")
}
