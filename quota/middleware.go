package quota

import (
	"context"
	"errors"
	"net/http"
	"time"

	"github.com/tollgate/tollgate"
	apierrors "github.com/tollgate/tollgate/errors"
)

// Report records the usage of the request carried by ctx, for handlers
// that know it better than the response shows (an upstream's billing
// header, a count of their own). It wins over usage read from the body.
// It is tollgate.ReportUsage under the name billing code looks for.
func Report(ctx context.Context, u tollgate.Usage) { tollgate.ReportUsage(ctx, u) }

// NewMiddleware returns middleware that makes every request pay.
//
// Before the handler it finds the account (account must return a
// non-empty ID; return an *apierrors.Error to choose the rejection),
// estimates the request (see BodyEstimator), prices it, and reserves the
// estimate: against the plan's limits for subscribers (WithSubscriptions),
// against the balance otherwise. A refusal is written with
// apierrors.Write in the request's dialect; see (*Refusal).APIError. The
// hold is keyed by State.RequestID (one is generated when empty), so a
// request ID already used for the account is refused with 409.
//
// After the handler, on a context detached from the client and bounded by
// the settle timeout, it settles the usage the handler reported (Report)
// or the response carried (a JSON "usage" object or the SSE chunk with
// one, read as the bytes stream through, never buffered); without usage
// it releases the hold when the status is 400 or more (or nothing was
// written) and applies the MissingUsage policy otherwise. A client that
// disconnects mid-stream is charged for what the usage shows so far,
// exactly once.
//
// It reports a nil Ledger or account function and invalid options.
func NewMiddleware(ledger Ledger, account func(*http.Request) (string, error), opts ...Option) (tollgate.Middleware, error) {
	c, err := newConfig(ledger, account, opts)
	if err != nil {
		return nil, err
	}
	return func(next http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			c.serve(next, w, r)
		})
	}, nil
}

// Middleware is NewMiddleware that panics on invalid configuration, at
// start-up, never per request.
func Middleware(ledger Ledger, account func(*http.Request) (string, error), opts ...Option) tollgate.Middleware {
	m, err := NewMiddleware(ledger, account, opts...)
	if err != nil {
		panic(err)
	}
	return m
}

// reservation is what one admitted request holds.
type reservation struct {
	account string
	plan    string
	est     Estimate
	price   Price
	cost    int64 // the estimate's cost, the amount held on the balance
	window  bool  // held against the plan's limits, not the balance
	hold    Hold
	wHold   WindowHold
	now     time.Time // when the hold was made

	// settle is the settlement's context, and header the storage of the
	// balance header's value: both live in this, the one allocation the
	// middleware makes per request.
	settle settleContext
	header headerStorage
}

func (c *config) serve(next http.Handler, w http.ResponseWriter, r *http.Request) {
	w, r, st := tollgate.Begin(w, r)
	res, err := c.admit(r, st)
	if err != nil {
		c.reject(w, r, err)
		return
	}
	if c.headers {
		setHeaders(w.Header(), res, res.now)
	}
	st.ObserveUsage()
	defer c.finish(r, st, res)
	next.ServeHTTP(w, r)
}

// admit identifies, estimates and reserves. A store failure is a 503
// unless FailOpen lets the request through unheld.
func (c *config) admit(r *http.Request, st *tollgate.State) (*reservation, error) {
	account, err := c.account(r)
	if err != nil {
		return nil, err
	}
	if account == "" {
		return nil, apierrors.New(apierrors.CodeAuthenticationError)
	}
	if st.RequestID == "" {
		st.RequestID = tollgate.NewRequestID()
	}
	res := &reservation{account: account}
	if err := c.estimate(r, res); err != nil {
		return nil, err
	}
	if res.plan, err = c.plan(r); err != nil {
		return nil, err
	}
	if err = c.reserve(r.Context(), st.RequestID, res); err == nil {
		return res, nil
	}
	// Declared here, not above: errors.As makes it escape, which would cost
	// every admitted request an allocation.
	var refusal *Refusal
	if errors.As(err, &refusal) {
		return nil, refusal
	}
	c.report(r, err)
	if !c.failOpen {
		return nil, apierrors.New(apierrors.CodeServiceUnavailable).WithCause(err)
	}
	c.unheld(st.RequestID, res)
	return res, nil
}

// estimate fills the estimate, its price and its cost.
func (c *config) estimate(r *http.Request, res *reservation) error {
	est, err := c.estimator(r)
	if err != nil {
		var api *apierrors.Error
		if errors.As(err, &api) {
			return api
		}
		return apierrors.New(apierrors.CodeReadRequestBodyFailed).WithCause(err)
	}
	price, err := c.pricing.Lookup(est.Model)
	if err != nil && est.Usage.Cost <= 0 {
		if est.Model == "" {
			return apierrors.Newf(apierrors.CodeMissingRequiredField, "Parameter model is required").WithParam("model", "required").WithCause(err)
		}
		return apierrors.New(apierrors.CodeModelNotFound).WithCause(err)
	}
	out := est.Usage.OutputTokens
	switch {
	case out <= 0 && price.MaxOutput > 0:
		out = price.MaxOutput
	case out <= 0:
		out = c.maxOutput
	case price.MaxOutput > 0:
		out = min(out, price.MaxOutput)
	}
	est.Usage.OutputTokens = out
	cost, err := price.Cost(est.Usage)
	if err != nil {
		return apierrors.New(apierrors.CodeInvalidMaxTokens).WithCause(err)
	}
	res.est, res.price, res.cost = est, price, cost
	return nil
}

// reserve holds the estimate against the plan's limits or the balance.
func (c *config) reserve(ctx context.Context, id string, res *reservation) error {
	now := c.clock.Now()
	res.now = now
	plan, subscribed := c.plans[res.plan]
	if subscribed {
		res.window = true
		amounts := Amounts{Requests: 1, Tokens: res.est.Usage.Tokens(), Money: res.cost}
		wh, err := c.windows.Reserve(ctx, res.account, plan.Limits, amounts, id, now)
		res.wHold = wh
		if err == nil || !plan.Fallback || !errors.Is(err, ErrQuotaExceeded) {
			return err
		}
		res.window = false
		h, ledgerErr := c.ledger.Reserve(ctx, res.account, res.cost, id, now)
		var refusal *Refusal
		if errors.As(ledgerErr, &refusal) && refusal.Reason != ErrDuplicateRequest {
			// The balance cannot stand in either: the quota is what the
			// client can wait for, so that is the refusal it gets.
			return err
		}
		res.hold = h
		return ledgerErr
	}
	h, err := c.ledger.Reserve(ctx, res.account, res.cost, id, now)
	res.hold = h
	return err
}

// unheld prepares settlement against a hold the store never recorded,
// for FailOpen: every conforming store charges such a settlement in full.
// Its key is the request ID made unique by the server: the client chose
// the request ID, and a settlement keyed by one it had used before (or
// by one a concurrent request shares) would be taken for a replay of that
// request and charge nothing.
func (c *config) unheld(id string, res *reservation) {
	id += "~unheld~" + tollgate.NewRequestID()
	if res.window {
		res.wHold = WindowHold{Account: res.account, RequestID: id, Limits: c.plans[res.plan].Limits}
		return
	}
	res.hold = Hold{Account: res.account, RequestID: id}
}

// reject writes a refusal or another admission error.
func (c *config) reject(w http.ResponseWriter, r *http.Request, err error) {
	var refusal *Refusal
	if errors.As(err, &refusal) {
		if c.onRefuse != nil {
			c.onRefuse(r, refusal)
		}
		apierrors.Write(w, r, c.render(refusal))
		return
	}
	apierrors.Write(w, r, err)
}

func (c *config) report(r *http.Request, err error) {
	if c.onError != nil {
		c.onError(r, err)
	}
}
