package quota

import (
	"errors"
	"fmt"
	"maps"

	"github.com/tollgate/tollgate"
)

// ErrUnknownModel reports a model that has no price and no default price.
var ErrUnknownModel = errors.New("quota: model has no price")

// Price is what one model costs, in micro-units. Token prices are quoted per
// million tokens, as providers publish them; Cost turns them into an exact
// integer charge. The zero value is a free model.
type Price struct {
	// Input is the price of one million uncached input tokens.
	Input int64
	// CachedInput is the price of one million input tokens served from a
	// prompt cache. Zero bills cached tokens at Input, so a table without
	// cache discounts needs no entry; a model with free cache reads is not
	// expressible and would be billed at Input, never below it.
	CachedInput int64
	// Output is the price of one million output tokens, reasoning included.
	Output int64
	// Request is a flat price per request, added once.
	Request int64
	// MaxOutput is the most output tokens the model can produce in one
	// response; the default estimator caps max_tokens with it. Zero means
	// unknown.
	MaxOutput int64
}

// Free reports whether the model costs nothing at all.
func (p Price) Free() bool {
	return p.Input == 0 && p.CachedInput == 0 && p.Output == 0 && p.Request == 0
}

// Validate reports a negative price or maximum.
func (p Price) Validate() error {
	if p.Input < 0 || p.CachedInput < 0 || p.Output < 0 || p.Request < 0 || p.MaxOutput < 0 {
		return fmt.Errorf("%w: negative price %+v", ErrInvalidArgument, p)
	}
	return nil
}

// Cost returns what u costs at this price, in micro-units: u.Cost when the
// handler or upstream reported an exact cost, otherwise
//
//	⌈(uncached·Input + cached·CachedInput + output·Output) ÷ 10⁶⌉ + Request
//
// computed with 128-bit intermediates and rounded up once, so a charge is
// never lost to rounding. Negative token counts are ErrInvalidArgument; a
// result beyond int64 is ErrOverflow. Cached tokens beyond the input count
// are billed as the input count.
func (p Price) Cost(u tollgate.Usage) (int64, error) {
	if u.Cost < 0 || u.InputTokens < 0 || u.OutputTokens < 0 || u.CachedInputTokens < 0 {
		return 0, fmt.Errorf("%w: negative usage %+v", ErrInvalidArgument, u)
	}
	if u.Cost > 0 {
		return u.Cost, nil
	}
	if err := p.Validate(); err != nil {
		return 0, err
	}
	cached := min(u.CachedInputTokens, u.InputTokens)
	cachedPrice := p.CachedInput
	if cachedPrice == 0 {
		cachedPrice = p.Input
	}
	tokens, err := mulDivCeil(u.InputTokens-cached, p.Input, cached, cachedPrice, u.OutputTokens, p.Output, perMillion)
	if err != nil {
		return 0, err
	}
	return addChecked(tokens, p.Request)
}

// Pricing is a table of prices by model name, with an optional default for
// models it does not list. Names match exactly (case and date suffix
// included). A *Pricing is immutable and safe for concurrent use; a nil
// *Pricing prices every model at zero, so usage is charged only when the
// handler reports an exact cost.
type Pricing struct {
	models     map[string]Price
	def        Price
	hasDefault bool
}

// PricingOption configures NewPricing.
type PricingOption func(*Pricing)

// DefaultPrice sets the price of every model the table does not list.
// Without it such models are ErrUnknownModel, and the middleware refuses
// them rather than serve them for free.
func DefaultPrice(p Price) PricingOption {
	return func(t *Pricing) { t.def, t.hasDefault = p, true }
}

// NewPricing returns a table of the given prices. It copies the map, and
// reports an empty model name or a negative price.
func NewPricing(models map[string]Price, opts ...PricingOption) (*Pricing, error) {
	t := &Pricing{models: maps.Clone(models)}
	if t.models == nil {
		t.models = map[string]Price{}
	}
	for _, o := range opts {
		o(t)
	}
	for name, p := range t.models {
		if name == "" {
			return nil, fmt.Errorf("%w: empty model name in pricing", ErrInvalidArgument)
		}
		if err := p.Validate(); err != nil {
			return nil, fmt.Errorf("model %q: %w", name, err)
		}
	}
	if err := t.def.Validate(); err != nil {
		return nil, fmt.Errorf("default price: %w", err)
	}
	return t, nil
}

// MustPricing is NewPricing that panics on invalid configuration, for
// tables written in code.
func MustPricing(models map[string]Price, opts ...PricingOption) *Pricing {
	t, err := NewPricing(models, opts...)
	if err != nil {
		panic(err)
	}
	return t
}

// Lookup returns the price of model: its own, else the default, else
// ErrUnknownModel. A nil table returns the zero (free) price for any model.
func (t *Pricing) Lookup(model string) (Price, error) {
	if t == nil {
		return Price{}, nil
	}
	if p, ok := t.models[model]; ok {
		return p, nil
	}
	if t.hasDefault {
		return t.def, nil
	}
	return Price{}, fmt.Errorf("%w: %q", ErrUnknownModel, model)
}

// Cost returns what u costs for model; see Price.Cost.
func (t *Pricing) Cost(model string, u tollgate.Usage) (int64, error) {
	p, err := t.Lookup(model)
	if err != nil {
		if u.Cost > 0 {
			return u.Cost, nil
		}
		return 0, err
	}
	return p.Cost(u)
}
