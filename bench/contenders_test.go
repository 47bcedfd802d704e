package bench

import (
	"context"
	"net/http"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/didip/tollbooth/v7"
	tblimiter "github.com/didip/tollbooth/v7/limiter"
	"github.com/go-chi/httprate"
	"github.com/labstack/echo/v4"
	echomw "github.com/labstack/echo/v4/middleware"
	"github.com/sethvargo/go-limiter/httplimit"
	"github.com/sethvargo/go-limiter/memorystore"
	"github.com/throttled/throttled/v2"
	"github.com/throttled/throttled/v2/store/memstore"
	"github.com/ulule/limiter/v3"
	"github.com/ulule/limiter/v3/drivers/middleware/stdlib"
	ulmemory "github.com/ulule/limiter/v3/drivers/store/memory"
	"golang.org/x/time/rate"

	"github.com/tollgate/tollgate/ratelimit"
)

// The limiters under test. Each limits requests by the X-Key header to
// perHour requests per hour (the burst: a full bucket allows that many at
// once), in its own memory store, around the ok handler. The benchmarks
// use highLimit, which none reaches, for the allowed path, and a limit of
// 1, exhausted before timing, for the denied path.

// highLimit is the "high limit" of the allowed path: 2³⁰ per hour.
const highLimit = 1 << 30

// contender is one limiter: build returns it around next, limiting each
// key to perHour requests per hour.
type contender struct {
	name  string
	build func(tb testing.TB, perHour int, next http.Handler) http.Handler
}

// contenders lists tollgate's limiter first (with and without its
// headers), then the peers.
var contenders = []contender{
	{"tollgate", buildTollgate},
	{"tollgate-noheaders", buildTollgateNoHeaders},
	{"httprate", buildHTTPRate},
	{"go-limiter", buildGoLimiter},
	{"throttled", buildThrottled},
	{"ulule", buildUlule},
	{"tollbooth", buildTollbooth},
	{"echo", buildEcho},
	{"rate-map", buildRateMap},
}

func buildTollgate(tb testing.TB, perHour int, next http.Handler) http.Handler {
	store := ratelimit.MustMemoryStore()
	policy := ratelimit.Policy{
		Name:  "rph",
		Key:   func(r *http.Request) (string, error) { return keyOf(r), nil },
		Limit: ratelimit.PerHour(int64(perHour)),
	}
	return ratelimit.MustNew(store, []ratelimit.Policy{policy})(next)
}

// buildTollgateNoHeaders is tollgate's limiter with its headers off: the
// decision alone, as echo's RateLimiter (which sets none) makes it.
func buildTollgateNoHeaders(tb testing.TB, perHour int, next http.Handler) http.Handler {
	policy := ratelimit.Policy{
		Name:  "rph",
		Key:   func(r *http.Request) (string, error) { return keyOf(r), nil },
		Limit: ratelimit.PerHour(int64(perHour)),
	}
	return ratelimit.MustNew(ratelimit.MustMemoryStore(), []ratelimit.Policy{policy},
		ratelimit.WithoutHeaders(ratelimit.XRateLimit))(next)
}

func buildHTTPRate(tb testing.TB, perHour int, next http.Handler) http.Handler {
	return httprate.LimitBy(perHour, time.Hour, func(r *http.Request) (string, error) {
		return keyOf(r), nil
	})(next)
}

func buildGoLimiter(tb testing.TB, perHour int, next http.Handler) http.Handler {
	store, err := memorystore.New(&memorystore.Config{Tokens: uint64(perHour), Interval: time.Hour})
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { _ = store.Close(context.Background()) })
	mw, err := httplimit.NewMiddleware(store, func(r *http.Request) (string, error) {
		return keyOf(r), nil
	})
	if err != nil {
		tb.Fatal(err)
	}
	return mw.Handle(next)
}

// throttledKey is throttled's VaryBy: the X-Key header.
type throttledKey struct{}

func (throttledKey) Key(r *http.Request) string { return keyOf(r) }

func buildThrottled(tb testing.TB, perHour int, next http.Handler) http.Handler {
	store, err := memstore.NewCtx(0) // unbounded: no LRU
	if err != nil {
		tb.Fatal(err)
	}
	quota := throttled.RateQuota{MaxRate: throttled.PerHour(perHour), MaxBurst: perHour - 1}
	rl, err := throttled.NewGCRARateLimiterCtx(store, quota)
	if err != nil {
		tb.Fatal(err)
	}
	mw := &throttled.HTTPRateLimiterCtx{RateLimiter: rl, VaryBy: throttledKey{}}
	return mw.RateLimit(next)
}

func buildUlule(tb testing.TB, perHour int, next http.Handler) http.Handler {
	lim := limiter.New(ulmemory.NewStore(), limiter.Rate{Period: time.Hour, Limit: int64(perHour)})
	return stdlib.NewMiddleware(lim, stdlib.WithKeyGetter(keyOf)).Handler(next)
}

func buildTollbooth(tb testing.TB, perHour int, next http.Handler) http.Handler {
	lmt := tollbooth.NewLimiter(float64(perHour)/3600, &tblimiter.ExpirableOptions{DefaultExpirationTTL: time.Hour})
	lmt.SetBurst(perHour)
	lmt.SetHeader(keyHeader, nil)
	return tollbooth.LimitHandler(lmt, next)
}

// echoRateLimiter is echo's RateLimiter middleware with its memory store,
// keyed by X-Key.
func echoRateLimiter(perHour int) echo.MiddlewareFunc {
	store := echomw.NewRateLimiterMemoryStoreWithConfig(echomw.RateLimiterMemoryStoreConfig{
		Rate: rate.Limit(float64(perHour) / 3600), Burst: perHour, ExpiresIn: time.Hour,
	})
	return echomw.RateLimiterWithConfig(echomw.RateLimiterConfig{
		Store: store,
		IdentifierExtractor: func(c echo.Context) (string, error) {
			return keyOf(c.Request()), nil
		},
	})
}

// echoServer mounts next on chatPath in an echo instance using mws.
func echoServer(next http.Handler, mws ...echo.MiddlewareFunc) http.Handler {
	e := echo.New()
	e.Use(mws...)
	e.POST(chatPath, echo.WrapHandler(next))
	return e
}

func buildEcho(tb testing.TB, perHour int, next http.Handler) http.Handler {
	return echoServer(next, echoRateLimiter(perHour))
}

// rateMap is the naive limiter: a mutex-guarded map of rate.Limiter,
// setting the same three X-RateLimit headers as the others.
type rateMap struct {
	mu       sync.Mutex
	limiters map[string]*rate.Limiter
	limit    rate.Limit
	burst    int
	next     http.Handler
}

func buildRateMap(tb testing.TB, perHour int, next http.Handler) http.Handler {
	return &rateMap{
		limiters: make(map[string]*rate.Limiter),
		limit:    rate.Limit(float64(perHour) / 3600), burst: perHour, next: next,
	}
}

func (m *rateMap) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	key := keyOf(r)
	m.mu.Lock()
	lim := m.limiters[key]
	if lim == nil {
		lim = rate.NewLimiter(m.limit, m.burst)
		m.limiters[key] = lim
	}
	m.mu.Unlock()
	now := time.Now()
	allowed := lim.AllowN(now, 1)
	h := w.Header()
	h.Set("X-RateLimit-Limit", strconv.Itoa(m.burst))
	h.Set("X-RateLimit-Remaining", strconv.Itoa(int(lim.TokensAt(now))))
	h.Set("X-RateLimit-Reset", strconv.Itoa(int(now.Unix()+1)))
	if !allowed {
		http.Error(w, "Too Many Requests", http.StatusTooManyRequests)
		return
	}
	m.next.ServeHTTP(w, r)
}
