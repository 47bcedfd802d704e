package main

import (
	"context"
	"fmt"
	"log/slog"
	"net/http"
	"time"

	"github.com/tollgate/tollgate"
	"github.com/tollgate/tollgate/auth"
	apierrors "github.com/tollgate/tollgate/errors"
	"github.com/tollgate/tollgate/quota"
	"github.com/tollgate/tollgate/ratelimit"
	"github.com/tollgate/tollgate/sse"
)

// Stores are the state behind the middleware: in memory by default, or in
// Redis so that several gateway processes share limits and balances.
type Stores struct {
	Limits  ratelimit.Store
	Leases  ratelimit.LeaseStore
	Ledger  quota.Ledger
	Windows quota.WindowStore
	// Close releases the stores' resources.
	Close func() error
}

// memoryStores returns the in-process stores; settled requests are
// remembered for receiptTTL.
func memoryStores(clock tollgate.Clock, receiptTTL time.Duration) (Stores, error) {
	limits, err := ratelimit.NewMemoryStore(ratelimit.WithClock(clock))
	if err != nil {
		return Stores{}, err
	}
	leases, err := ratelimit.NewMemoryLeaseStore(ratelimit.WithClock(clock))
	if err != nil {
		return Stores{}, err
	}
	ledger, err := quota.NewMemoryLedger(quota.WithReceiptTTL(receiptTTL))
	if err != nil {
		return Stores{}, err
	}
	windows, err := quota.NewMemoryWindowStore(quota.WithReceiptTTL(receiptTTL))
	if err != nil {
		return Stores{}, err
	}
	return Stores{Limits: limits, Leases: leases, Ledger: ledger, Windows: windows, Close: func() error { return nil }}, nil
}

// Gateway is the demo gateway: tollgate's middleware in front of the fake
// model or an upstream.
type Gateway struct {
	cfg     *Config
	log     *slog.Logger
	clock   tollgate.Clock
	stores  Stores
	keys    *auth.MemoryStore
	pricing *quota.Pricing
	metrics *Metrics
	proxy   http.Handler // nil: answer with the fake model

	dialect apierrors.Dialect
	handler http.Handler
}

// NewGateway builds the gateway's handler from the configuration.
func NewGateway(cfg *Config, stores Stores, clock tollgate.Clock, logger *slog.Logger, metrics *Metrics) (*Gateway, error) {
	g := &Gateway{cfg: cfg, log: logger, clock: tollgate.ClockOrSystem(clock), stores: stores, metrics: metrics}
	g.dialect, _ = apierrors.ParseDialect(cfg.Dialect)
	var err error
	if g.keys, err = auth.NewMemoryStore(cfg.Keys...); err != nil {
		return nil, fmt.Errorf("keys: %w", err)
	}
	if g.pricing, err = cfg.pricing(); err != nil {
		return nil, err
	}
	if cfg.Upstream != "" {
		if g.proxy, err = newProxy(cfg, logger); err != nil {
			return nil, err
		}
	}
	if g.handler, err = g.routes(); err != nil {
		return nil, err
	}
	return g, nil
}

// ServeHTTP serves the gateway.
func (g *Gateway) ServeHTTP(w http.ResponseWriter, r *http.Request) { g.handler.ServeHTTP(w, r) }

// Fund credits every configured account with its starting balance, once:
// the credit reference makes a restart (or a second replica sharing Redis)
// a no-op.
func (g *Gateway) Fund(ctx context.Context) error {
	for name, a := range g.cfg.Accounts {
		if a.Balance <= 0 {
			continue
		}
		if _, err := g.stores.Ledger.Credit(ctx, name, int64(a.Balance), "initial-balance"); err != nil {
			return fmt.Errorf("funding %s: %w", name, err)
		}
	}
	return nil
}

func (g *Gateway) routes() (http.Handler, error) {
	authn, err := auth.New(g.keys, auth.OnReject(func(r *http.Request, e *apierrors.Error) { g.metrics.authRejected(e) }))
	if err != nil {
		return nil, err
	}
	limits, err := g.rateLimits()
	if err != nil {
		return nil, err
	}
	billing, err := g.quota()
	if err != nil {
		return nil, err
	}
	keepAlive, err := sse.KeepAlive(
		sse.KeepAliveInterval(time.Duration(g.cfg.KeepAlive)),
		sse.KeepAliveComment(g.cfg.KeepAliveComment),
		sse.WithClock(g.clock),
		sse.CommitEarly(wantsStream),
	)
	if err != nil {
		return nil, err
	}
	// Authenticate, read and check the body (so limits and holds are based
	// on a valid request), limit, hold the estimate, keep streams alive.
	api := func(parse func([]byte) (*parsedRequest, error)) tollgate.Stack {
		return tollgate.Chain(authn.Middleware, g.validate(parse), limits, billing, keepAlive)
	}
	mux := http.NewServeMux()
	mux.Handle("/v1/chat/completions", onlyMethod(http.MethodPost, api(parseChat).ThenFunc(g.chat)))
	mux.Handle("/v1/messages", onlyMethod(http.MethodPost,
		tollgate.Chain(apierrors.WithDialect(apierrors.Anthropic)).Extend(api(parseMessages)).ThenFunc(g.messages)))
	mux.Handle("/v1/models", onlyMethod(http.MethodGet, authn.Middleware(http.HandlerFunc(g.models))))
	mux.HandleFunc("/healthz", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		_, _ = w.Write([]byte(`{"status":"ok"}`))
	})
	if g.metrics != nil {
		mux.Handle("/metrics", onlyMethod(http.MethodGet, g.metrics.Handler()))
	}
	mux.Handle("/", apierrors.NotFound())

	outer := tollgate.Chain(
		tollgate.RequestID(tollgate.RequestIDHeader(g.cfg.RequestIDHeader)),
		g.accessLog,
		apierrors.Recover(apierrors.RecoverLogger(g.log)),
		apierrors.WithDialect(g.dialect),
	)
	return outer.Then(mux), nil
}

// onlyMethod answers other methods with a 405 envelope.
func onlyMethod(method string, h http.Handler) http.Handler {
	notAllowed := apierrors.MethodNotAllowed(method)
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method != method {
			notAllowed.ServeHTTP(w, r)
			return
		}
		h.ServeHTTP(w, r)
	})
}

func (g *Gateway) rateLimits() (tollgate.Middleware, error) {
	rpm, tpm, conc := map[string]ratelimit.Limit{}, map[string]ratelimit.Limit{}, map[string]int64{}
	for name, p := range g.cfg.Plans {
		if p.RPM > 0 {
			rpm[name] = ratelimit.PerMinute(p.RPM)
			if p.Burst > 0 {
				rpm[name] = ratelimit.Limit{Burst: p.Burst, Interval: time.Minute / time.Duration(p.RPM)}
			}
		}
		if p.TPM > 0 {
			tpm[name] = ratelimit.PerMinute(p.TPM)
		}
		conc[name] = p.Concurrency
	}
	opts := []ratelimit.Option{
		ratelimit.WithLeaseStore(g.stores.Leases),
		ratelimit.Concurrent(ratelimit.Concurrency{Key: auth.ByKeyID, LimitFunc: func(r *http.Request) int64 {
			if st := tollgate.StateFrom(r.Context()); st != nil {
				return conc[st.Plan]
			}
			return 0
		}, TTL: 10 * time.Minute}),
		ratelimit.PenaltyBox(ratelimit.Penalty{Key: auth.ByKeyID, IsFailure: func(status int) bool {
			// Refusals for money or rate are the caller's state, not abuse.
			return status >= 400 && status != http.StatusPaymentRequired && status != http.StatusTooManyRequests
		}}),
		ratelimit.OnLimited(func(r *http.Request, d ratelimit.Denial) { g.metrics.limited(d) }),
		ratelimit.OnError(func(r *http.Request, err error) {
			g.metrics.storeError("ratelimit")
			g.log.ErrorContext(r.Context(), "rate limit store error", slog.Any("error", err))
		}),
		ratelimit.FailClosed(),
	}
	opts = append(opts, g.headerOptions()...)
	policies := []ratelimit.Policy{
		{Name: "requests", Key: auth.ByKeyID, LimitFunc: ratelimit.PlanLimits(rpm, ratelimit.Limit{})},
		{Name: "tokens", Key: auth.ByAccount, LimitFunc: ratelimit.PlanLimits(tpm, ratelimit.Limit{}), Tokens: true,
			Cost: func(r *http.Request) (int64, error) {
				e, err := estimate(r)
				return e.Usage.Tokens(), err
			}},
	}
	return ratelimit.New(g.stores.Limits, policies, opts...)
}

func (g *Gateway) headerOptions() []ratelimit.Option {
	var opts []ratelimit.Option
	for _, f := range g.cfg.RateLimitHeaders {
		switch f {
		case "x-ratelimit":
			opts = append(opts, ratelimit.XRateLimitHeaders("", "", ""))
		case "ietf":
			opts = append(opts, ratelimit.IETFHeaders("", ""))
		case "openai":
			opts = append(opts, ratelimit.OpenAIHeaders(""))
		}
	}
	if len(opts) == 0 {
		opts = append(opts, ratelimit.WithoutHeaders())
	}
	return opts
}

func (g *Gateway) maxOutput(model string) int64 {
	if m, ok := g.cfg.Models[model]; ok && m.MaxOutput > 0 {
		return m.MaxOutput
	}
	return 4096
}

func (g *Gateway) quota() (tollgate.Middleware, error) {
	plans := map[string]quota.Plan{}
	for name, p := range g.cfg.Plans {
		qp, err := p.quotaPlan()
		if err != nil {
			return nil, err
		}
		if len(qp.Limits) > 0 {
			plans[name] = qp
		}
	}
	return quota.NewMiddleware(g.stores.Ledger, auth.ByAccount,
		quota.WithPricing(g.pricing),
		quota.WithEstimator(estimate),
		quota.WithClock(g.clock),
		quota.WithPlan(auth.ByPlan),
		quota.WithSubscriptions(g.stores.Windows, plans),
		quota.OnCharge(func(ctx context.Context, c quota.Charge) { g.charged(ctx, c) }),
		quota.OnRefuse(func(r *http.Request, ref *quota.Refusal) { g.metrics.refused(ref) }),
		quota.OnError(func(r *http.Request, err error) {
			g.metrics.storeError("quota")
			g.log.ErrorContext(r.Context(), "quota store error", slog.Any("error", err))
		}),
	)
}

func (g *Gateway) charged(ctx context.Context, c quota.Charge) {
	g.metrics.charged(c)
	if rl := requestLogFrom(ctx); rl != nil {
		rl.setCharge(c)
	}
	if c.Err != nil {
		g.log.ErrorContext(ctx, "settlement problem", slog.String("account", c.Account), slog.Any("error", c.Err))
	}
}

func (c *Config) pricing() (*quota.Pricing, error) {
	prices := make(map[string]quota.Price, len(c.Models))
	for name, m := range c.Models {
		prices[name] = quota.Price{
			Input: int64(m.InputPerMillion), Output: int64(m.OutputPerMillion),
			CachedInput: int64(m.CachedPerMillion), Request: int64(m.PerRequest), MaxOutput: m.MaxOutput,
		}
	}
	p, err := quota.NewPricing(prices)
	if err != nil {
		return nil, fmt.Errorf("models: %w", err)
	}
	return p, nil
}

// estimate is what a validated request may consume: its prompt, counted by
// the fake model's tokenizer, and the most output it allows. Both the
// token limit and the quota hold use it; the real usage replaces it after
// the handler.
func estimate(r *http.Request) (quota.Estimate, error) {
	p := parsedFrom(r.Context())
	if p == nil {
		return quota.Estimate{}, nil
	}
	return quota.Estimate{Model: p.model, Usage: tollgate.Usage{InputTokens: promptTokens(p.texts), OutputTokens: p.maxOutput}}, nil
}
