package redisstore

import (
	"fmt"
	"strings"
	"time"

	"github.com/tollgate/tollgate"
	"github.com/tollgate/tollgate/quota"
)

// Defaults of New's options.
const (
	// DefaultPrefix starts every key the store writes.
	DefaultPrefix = "tollgate:"
	// DefaultTimeout bounds each call to Redis: a decision that takes
	// longer fails, and the middleware applies its fail mode.
	DefaultTimeout = 500 * time.Millisecond
	// DefaultCreditTTL is how long a credit reference is remembered after
	// the last credit to its account, so that a payment notification
	// delivered twice is credited once.
	DefaultCreditTTL = 90 * 24 * time.Hour
)

// keySlack is added to every key's TTL, so that a key outlives the state
// it holds by a margin that covers the round trip. With WithClock the
// store's timeline and the server's clock disagree, and keys live ten
// minutes longer so that a test's timeline is never cut short.
const (
	keySlack       = time.Second
	testClockSlack = 10 * time.Minute
)

// Option configures New.
type Option func(*config)

type config struct {
	prefix     string
	tag        func(bucket string) string
	clock      tollgate.Clock
	timeout    time.Duration
	breaker    Breaker
	holdTTL    time.Duration
	receiptTTL time.Duration
	creditTTL  time.Duration
}

// WithPrefix sets the string every key starts with (DefaultPrefix unless
// set), so that several gateways, or tests, can share one server. It must
// not contain '{' or '}', which would change the keys' hash slots.
func WithPrefix(prefix string) Option {
	return func(c *config) { c.prefix = prefix }
}

// WithHashTag chooses the Redis Cluster hash tag of each rate-limit bucket
// and lease key from its name (the Charge's Prefix+Key). Redis Cluster runs
// a script only when all its keys share a hash slot, so every bucket that
// one TakeAll takes together must get the same tag: a middleware whose
// policies all key on the API key ID can tag by that ID, say. Without
// this option the tag is the whole name: single-bucket calls work
// everywhere and TakeAll across buckets works on any non-cluster
// deployment, but fails on a cluster with an error wrapping ErrCrossSlot.
// A tag is cut at its first '}'. tag must be a pure function of the name.
func WithHashTag(tag func(bucket string) string) Option {
	return func(c *config) { c.tag = tag }
}

// WithClock makes the rate-limit and lease scripts decide at c's time,
// passed to each script, instead of the Redis server's TIME. It exists for
// tests walking a manual timeline (tollgatetest.Clock); production
// replicas should share the server's clock, which is the default. The
// ledger and window stores take their time as an argument and ignore it.
func WithClock(c tollgate.Clock) Option {
	return func(cfg *config) { cfg.clock = c }
}

// WithTimeout bounds every call to Redis (DefaultTimeout unless set) with
// a context deadline derived from the caller's context. It must be
// positive.
func WithTimeout(d time.Duration) Option {
	return func(c *config) { c.timeout = d }
}

// WithBreaker configures the circuit breaker; see Breaker for its zero
// value's defaults.
func WithBreaker(b Breaker) Option {
	return func(c *config) { c.breaker = b }
}

// WithHoldTTL sets how long an unsettled ledger or window hold lives
// (quota.DefaultHoldTTL unless set). It must be positive.
func WithHoldTTL(d time.Duration) Option {
	return func(c *config) { c.holdTTL = d }
}

// WithReceiptTTL sets how long a settled or released request ID is
// remembered (quota.DefaultReceiptTTL unless set). It must be positive.
func WithReceiptTTL(d time.Duration) Option {
	return func(c *config) { c.receiptTTL = d }
}

// WithCreditTTL sets how long credit references are remembered after an
// account's last credit (DefaultCreditTTL unless set). It must be
// positive.
func WithCreditTTL(d time.Duration) Option {
	return func(c *config) { c.creditTTL = d }
}

func newConfig(opts []Option) (config, error) {
	c := config{
		prefix:     DefaultPrefix,
		timeout:    DefaultTimeout,
		holdTTL:    quota.DefaultHoldTTL,
		receiptTTL: quota.DefaultReceiptTTL,
		creditTTL:  DefaultCreditTTL,
	}
	for _, o := range opts {
		if o != nil {
			o(&c)
		}
	}
	if strings.ContainsAny(c.prefix, "{}") {
		return c, fmt.Errorf("redisstore: WithPrefix(%q): '{' and '}' are not allowed", c.prefix)
	}
	for _, d := range []struct {
		name string
		d    time.Duration
	}{{"WithTimeout", c.timeout}, {"WithHoldTTL", c.holdTTL}, {"WithReceiptTTL", c.receiptTTL}, {"WithCreditTTL", c.creditTTL}} {
		if d.d <= 0 {
			return c, fmt.Errorf("redisstore: %s(%v): must be positive", d.name, d.d)
		}
	}
	if c.breaker.CoolDown < 0 {
		return c, fmt.Errorf("redisstore: Breaker.CoolDown %v: must not be negative", c.breaker.CoolDown)
	}
	return c, nil
}
