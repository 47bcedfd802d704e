package quota

import (
	"context"
	"fmt"
	"net/http"
	"time"

	"github.com/tollgate/tollgate"
	apierrors "github.com/tollgate/tollgate/errors"
)

// Defaults of the middleware.
const (
	// DefaultSettleTimeout bounds the settlement that runs after the
	// handler, on a context detached from the (possibly gone) client.
	DefaultSettleTimeout = 10 * time.Second
	// DefaultSettleAttempts is how many times a failing settlement is
	// tried; the Ledger makes repeats safe.
	DefaultSettleAttempts = 3
	// DefaultMaxOutput is the output estimate for a request that sets no
	// maximum, when its model's price gives none either.
	DefaultMaxOutput = 4096
)

// MissingUsage says what to charge when a request succeeded (status below
// 400) but neither the handler reported usage nor the response carried it.
type MissingUsage uint8

const (
	// ChargeEstimate charges the whole estimate that was held: the
	// cautious default, since the model may have written up to it.
	ChargeEstimate MissingUsage = iota
	// ChargeInput charges only the input part of the estimate (and the
	// per-request price), for upstreams that omit usage and rarely use
	// their output maximum.
	ChargeInput
)

// Option configures the middleware. Options are applied in order by
// NewMiddleware; the resulting configuration is immutable.
type Option func(*config)

type config struct {
	ledger         Ledger
	account        func(*http.Request) (string, error)
	pricing        *Pricing
	estimator      Estimator
	windows        WindowStore
	plans          map[string]Plan
	plan           func(*http.Request) (string, error)
	clock          tollgate.Clock
	systemClock    bool // clock is the system clock, time.Now
	missing        MissingUsage
	settleTimeout  time.Duration
	settleAttempts int
	maxOutput      int64
	headers        bool
	failOpen       bool
	onCharge       func(context.Context, Charge)
	onRefuse       func(*http.Request, *Refusal)
	onError        func(*http.Request, error)
	render         func(*Refusal) *apierrors.Error
}

// WithPricing sets the price table. Without one every model is free and
// only costs the handler reports (Usage.Cost) are charged.
func WithPricing(p *Pricing) Option { return func(c *config) { c.pricing = p } }

// WithEstimator replaces BodyEstimator() as the estimate of each request.
func WithEstimator(e Estimator) Option { return func(c *config) { c.estimator = e } }

// WithSubscriptions enables subscription quotas: requests whose plan (see
// WithPlan) is in plans are counted against its limits in store instead
// of being charged to the balance, falling back to the balance when the
// plan says so. Requests without a known plan are pay-as-you-go. The map
// is copied; every plan is validated at construction.
func WithSubscriptions(store WindowStore, plans map[string]Plan) Option {
	return func(c *config) {
		c.windows = store
		c.plans = make(map[string]Plan, len(plans))
		for name, p := range plans {
			c.plans[name] = p
		}
	}
}

// WithPlan sets how a request's plan is found. The default reads
// tollgate.State.Plan, which auth fills.
func WithPlan(f func(*http.Request) (string, error)) Option { return func(c *config) { c.plan = f } }

// WithClock sets the time source (tollgate.SystemClock by default).
func WithClock(clk tollgate.Clock) Option { return func(c *config) { c.clock = clk } }

// WithMissingUsage sets the policy for successful responses without usage
// (ChargeEstimate by default).
func WithMissingUsage(p MissingUsage) Option { return func(c *config) { c.missing = p } }

// WithSettleTimeout bounds each settlement (DefaultSettleTimeout).
func WithSettleTimeout(d time.Duration) Option { return func(c *config) { c.settleTimeout = d } }

// WithSettleAttempts sets how often a failing settlement is tried
// (DefaultSettleAttempts); refusals are never retried.
func WithSettleAttempts(n int) Option { return func(c *config) { c.settleAttempts = n } }

// WithDefaultMaxOutput sets the output estimate of requests that set no
// maximum and whose model's price has no MaxOutput (DefaultMaxOutput).
func WithDefaultMaxOutput(n int64) Option { return func(c *config) { c.maxOutput = n } }

// WithoutHeaders stops the middleware from setting the balance and quota
// response headers.
func WithoutHeaders() Option { return func(c *config) { c.headers = false } }

// FailOpen serves requests when the Ledger or WindowStore fails (not when
// it refuses): nothing is held, and after the handler the usage is settled
// against a hold the store never saw, which every conforming store charges
// in full. Without it a store failure is a 503 service_unavailable.
func FailOpen() Option { return func(c *config) { c.failOpen = true } }

// OnCharge registers a hook called once per admitted request, after its
// settlement or release, with the settlement's detached context (it
// carries the request's State and is cancelled when the hook returns). It
// runs on the request's goroutine: keep it quick or hand the Charge off.
// Hooks may be called from many goroutines at once.
func OnCharge(f func(ctx context.Context, c Charge)) Option {
	return func(c *config) { c.onCharge = f }
}

// OnRefuse registers a hook called for each refused reservation, before
// the refusal is written.
func OnRefuse(f func(r *http.Request, refusal *Refusal)) Option {
	return func(c *config) { c.onRefuse = f }
}

// OnError registers a hook for failures of the stores, and for settlement
// that still failed after every attempt.
func OnError(f func(r *http.Request, err error)) Option { return func(c *config) { c.onError = f } }

// WithRefusalRenderer replaces (*Refusal).APIError as the error written
// for a refusal, for example to use a platform's own wording.
func WithRefusalRenderer(f func(*Refusal) *apierrors.Error) Option {
	return func(c *config) { c.render = f }
}

func newConfig(ledger Ledger, account func(*http.Request) (string, error), opts []Option) (*config, error) {
	c := &config{
		ledger: ledger, account: account,
		settleTimeout: DefaultSettleTimeout, settleAttempts: DefaultSettleAttempts,
		maxOutput: DefaultMaxOutput, headers: true,
		plan: func(r *http.Request) (string, error) {
			if st := tollgate.StateFrom(r.Context()); st != nil {
				return st.Plan, nil
			}
			return "", nil
		},
	}
	for _, o := range opts {
		o(c)
	}
	if c.estimator == nil {
		c.estimator = BodyEstimator()
	}
	if c.render == nil {
		c.render = (*Refusal).APIError
	}
	c.clock = tollgate.ClockOrSystem(c.clock)
	_, c.systemClock = c.clock.(tollgate.SystemClock)
	return c, c.validate()
}

func (c *config) validate() error {
	switch {
	case c.ledger == nil:
		return fmt.Errorf("%w: quota.Middleware needs a Ledger", ErrInvalidArgument)
	case c.account == nil:
		return fmt.Errorf("%w: quota.Middleware needs an account function", ErrInvalidArgument)
	case c.plan == nil:
		return fmt.Errorf("%w: WithPlan(nil)", ErrInvalidArgument)
	case len(c.plans) > 0 && c.windows == nil:
		return fmt.Errorf("%w: WithSubscriptions needs a WindowStore", ErrInvalidArgument)
	case c.settleTimeout <= 0 || c.settleAttempts < 1 || c.maxOutput < 0:
		return fmt.Errorf("%w: settle timeout %v, attempts %d and max output %d must be positive",
			ErrInvalidArgument, c.settleTimeout, c.settleAttempts, c.maxOutput)
	case c.missing > ChargeInput:
		return fmt.Errorf("%w: unknown MissingUsage %d", ErrInvalidArgument, c.missing)
	}
	for name, p := range c.plans {
		if err := p.Validate(); err != nil {
			return fmt.Errorf("plan %q: %w", name, err)
		}
	}
	return nil
}
