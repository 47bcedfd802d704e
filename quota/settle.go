package quota

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"time"

	"github.com/tollgate/tollgate"
)

// Basis says what a request was charged on.
type Basis uint8

const (
	// Released: nothing was charged, because the handler failed (status
	// 400 or more, or nothing written) without usage.
	Released Basis = iota
	// Reported: the usage the handler reported with Report.
	Reported
	// Observed: the usage read from the response body.
	Observed
	// Estimated: no usage was found; the estimate was charged
	// (ChargeEstimate).
	Estimated
	// InputOnly: no usage was found; the input part of the estimate was
	// charged (ChargeInput).
	InputOnly
	// Partial: the response's usage was provisional (tollgate.UsagePartial:
	// a stream cut before its final count). The observed input was
	// charged, and for output the larger of the observed count and what
	// the MissingUsage policy charges: the estimate's output under
	// ChargeEstimate, nothing more under ChargeInput.
	Partial
)

var basisNames = [...]string{"released", "reported", "observed", "estimated", "input-only", "partial"}

// String returns the basis in lower case, for logs and metric labels.
func (b Basis) String() string {
	if int(b) < len(basisNames) {
		return basisNames[b]
	}
	return "basis(" + strconv.Itoa(int(b)) + ")"
}

// Charge is what the OnCharge hook receives once per admitted request: the
// billing record of one request. It is a plain value.
type Charge struct {
	// Account, RequestID, Model and Plan identify the request; Plan is
	// empty for pay-as-you-go.
	Account, RequestID, Model, Plan string
	// Status is the HTTP status the handler wrote, 0 for none.
	Status int
	// Basis says what the charge is based on.
	Basis Basis
	// Usage is the usage charged: reported, observed or estimated.
	Usage tollgate.Usage
	// Cost is what was charged, in micro-units; zero when Released.
	Cost int64
	// Held is the estimate's cost that was reserved before the handler.
	Held int64
	// Subscription reports that the request was counted against its
	// plan's limits rather than charged to the balance.
	Subscription bool
	// Receipt is the Ledger's receipt (balance after the charge); zero
	// for subscriptions.
	Receipt Receipt
	// Replayed reports that the store had already settled this request
	// ID, so this settlement changed nothing.
	Replayed bool
	// Err is a settlement that failed after every attempt, or a usage
	// that could not be priced (the estimate was charged instead).
	Err error
}

// finish settles or releases the request's reservation after the handler,
// on a context that outlives the client.
func (c *config) finish(r *http.Request, st *tollgate.State, res *reservation) {
	ch := c.outcome(st, res)
	start := time.Now()
	ctx := &res.settle
	ctx.init(r.Context(), start.Add(c.settleTimeout))
	defer ctx.cancel(context.Canceled)
	var err error
	for i := range c.settleAttempts {
		now := start // one clock reading serves both, on the system clock
		if i > 0 || !c.systemClock {
			now = c.clock.Now()
		}
		if err = c.apply(ctx, res, &ch, now); !retryable(ctx, err) {
			break
		}
	}
	if err != nil {
		ch.Err = errors.Join(ch.Err, err)
	}
	if ch.Err != nil {
		c.report(r, ch.Err)
	}
	if c.onCharge != nil {
		c.onCharge(ctx, ch)
	}
}

// retryable reports whether a settlement error may succeed when tried
// again: not a bad argument, not an overflow, not past the deadline.
func retryable(ctx context.Context, err error) bool {
	return err != nil && ctx.Err() == nil &&
		!errors.Is(err, ErrInvalidArgument) && !errors.Is(err, ErrOverflow)
}

// outcome decides what to charge.
func (c *config) outcome(st *tollgate.State, res *reservation) Charge {
	ch := Charge{
		Account: res.account, RequestID: st.RequestID, Model: res.est.Model, Plan: res.plan,
		Status: st.Status(), Held: res.cost, Subscription: res.window,
	}
	u, src := st.Usage()
	switch {
	case src == tollgate.UsageReported:
		ch.Basis = Reported
	case src == tollgate.UsageObserved:
		ch.Basis = Observed
	case src == tollgate.UsagePartial:
		ch.Basis = Partial
		if c.missing == ChargeEstimate {
			u.OutputTokens = max(u.OutputTokens, res.est.Usage.OutputTokens)
		}
	case ch.Status == 0 || ch.Status >= 400:
		ch.Basis = Released
		return ch
	case c.missing == ChargeInput:
		ch.Basis = InputOnly
		u = tollgate.Usage{InputTokens: res.est.Usage.InputTokens}
	default:
		ch.Basis, ch.Usage, ch.Cost = Estimated, res.est.Usage, res.cost
		return ch
	}
	cost, err := res.price.Cost(u)
	if err == nil && u.Tokens() < 0 {
		err = ErrOverflow // the token counts overflow their sum
	}
	if err != nil {
		ch.Err = fmt.Errorf("quota: pricing usage %+v of %q: %w; charged the estimate", u, res.est.Model, err)
		ch.Basis, ch.Usage, ch.Cost = Estimated, res.est.Usage, res.cost
		return ch
	}
	ch.Usage, ch.Cost = u, cost
	return ch
}

// apply runs the settlement or release once.
func (c *config) apply(ctx context.Context, res *reservation, ch *Charge, now time.Time) error {
	if res.window {
		var err error
		if ch.Basis == Released {
			ch.Replayed, err = c.windows.Release(ctx, res.wHold, now)
		} else {
			actual := Amounts{Requests: 1, Tokens: satAdd(ch.Usage.InputTokens, ch.Usage.OutputTokens), Money: ch.Cost}
			ch.Replayed, err = c.windows.Settle(ctx, res.wHold, actual, now)
		}
		return err
	}
	var rc Receipt
	var err error
	if ch.Basis == Released {
		rc, err = c.ledger.Release(ctx, res.hold, now)
	} else {
		rc, err = c.ledger.Settle(ctx, res.hold, ch.Cost, now)
	}
	ch.Receipt, ch.Replayed = rc, rc.Replayed
	return err
}
