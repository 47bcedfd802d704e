package ratelimit

import (
	"fmt"
	"maps"
	"net/http"
	"strconv"

	"github.com/tollgate/tollgate"
)

// KeyFunc returns the key a request is limited by: an API key ID, an
// account, a client address. An empty key with a nil error means the
// policy does not apply to the request. An error rejects the request: an
// *apierrors.Error is written as it is (a missing API key, say), any other
// error as a generic 500. The auth package offers KeyFuncs reading the
// caller's key, account and plan from the request's tollgate.State.
type KeyFunc func(*http.Request) (string, error)

// ConstantKey returns a KeyFunc that puts every request in one bucket, for
// a global limit. It panics on an empty key, which would exempt every
// request.
func ConstantKey(key string) KeyFunc {
	if key == "" {
		panic("ratelimit: ConstantKey: empty key")
	}
	return func(*http.Request) (string, error) { return key, nil }
}

// Policy is one limit the middleware enforces. Several policies are taken
// together, atomically: a request denied by one consumes nothing from the
// others. A Policy is configuration, read once by New; the zero Policy has
// no name or key, and New rejects it.
type Policy struct {
	// Name identifies the policy in the RateLimit and RateLimit-Policy
	// headers and in denials, and namespaces its keys in the store (as
	// "Name:"). It is required: letters, digits, '_', '-' and '.', at most
	// 64 of them, unique within a middleware.
	Name string
	// Key picks the bucket for a request. It is required.
	Key KeyFunc
	// Limit is the policy's limit, used when LimitFunc is nil.
	Limit Limit
	// LimitFunc, when set, chooses the limit per request, for per-plan
	// limits (see PlanLimits). Returning the zero Limit exempts the
	// request from the policy; returning an invalid limit fails the request
	// with a 500, reported to the OnError hook.
	LimitFunc func(*http.Request) Limit
	// Cost returns the number of tokens a request takes: 1 when nil for a
	// request policy, 0 for a token policy. A cost above the limit's burst
	// could never be allowed, so such a request is rejected with 413
	// request_too_large rather than told to retry. An error rejects the
	// request as a KeyFunc error does.
	Cost func(*http.Request) (int64, error)
	// Tokens makes this a token (TPM) policy: the request is admitted
	// against Cost as an estimate (which may be 0: then the request is
	// admitted unless the bucket is in debt), and once the handler returns,
	// the difference between the real usage (tollgate.State's Usage, input
	// plus output tokens) and the estimate is debited, into debt if need
	// be, or refunded. Requests whose usage is unknown keep the estimate.
	// Denials say token_limit_exceeded, and the OpenAI-style headers show
	// the policy as "tokens".
	Tokens bool
}

// PlanLimits returns a LimitFunc choosing the limit by the caller's plan,
// read from the request's tollgate.State (which the auth layer fills in):
// the limit listed for the plan, or fallback for a plan not listed or a
// request without one. A zero Limit in the map or as fallback exempts those
// requests. It copies plans and panics if any non-zero limit is invalid,
// so a bad table fails at start-up.
func PlanLimits(plans map[string]Limit, fallback Limit) func(*http.Request) Limit {
	plans = maps.Clone(plans)
	for plan, l := range plans {
		if !l.IsZero() && l.Validate() != nil {
			panic(fmt.Sprintf("ratelimit: PlanLimits: plan %q: invalid limit %+v", plan, l))
		}
	}
	if !fallback.IsZero() && fallback.Validate() != nil {
		panic(fmt.Sprintf("ratelimit: PlanLimits: invalid fallback limit %+v", fallback))
	}
	return func(r *http.Request) Limit {
		if st := tollgate.StateFrom(r.Context()); st != nil {
			if l, ok := plans[st.Plan]; ok {
				return l
			}
		}
		return fallback
	}
}

// policy is a validated Policy with what New precomputes for it: the key
// prefix and, for a fixed limit, its burst in decimal and the message of a
// denial.
type policy struct {
	Policy
	prefix  string
	burst   string
	message string
}

func compilePolicies(ps []Policy) ([]policy, error) {
	out := make([]policy, 0, len(ps))
	seen := make(map[string]bool, len(ps))
	for i, p := range ps {
		if err := validName(p.Name); err != nil {
			return nil, fmt.Errorf("ratelimit: policy %d: %w", i, err)
		}
		if seen[p.Name] {
			return nil, fmt.Errorf("ratelimit: policy %q: duplicate name", p.Name)
		}
		seen[p.Name] = true
		if p.Key == nil {
			return nil, fmt.Errorf("ratelimit: policy %q: Key is required", p.Name)
		}
		if p.LimitFunc == nil {
			if err := p.Limit.Validate(); err != nil {
				return nil, fmt.Errorf("ratelimit: policy %q: limit %+v: %w", p.Name, p.Limit, err)
			}
		}
		c := policy{Policy: p, prefix: p.Name + ":"}
		if p.LimitFunc == nil {
			c.burst = strconv.FormatInt(p.Limit.Burst, 10)
			c.message = denialMessage(p.Tokens, p.Name, p.Limit)
		}
		out = append(out, c)
	}
	return out, nil
}

// validName accepts the names that are safe inside a structured-field
// string, a store key and an error message without escaping.
func validName(name string) error {
	if name == "" || len(name) > 64 {
		return fmt.Errorf("name %q must have 1 to 64 characters", name)
	}
	for _, c := range []byte(name) {
		ok := c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '_' || c == '-' || c == '.'
		if !ok {
			return fmt.Errorf("name %q: only letters, digits, '_', '-' and '.' are allowed", name)
		}
	}
	return nil
}

// limit returns the policy's limit for r.
func (p *policy) limit(r *http.Request) Limit {
	if p.LimitFunc != nil {
		return p.LimitFunc(r)
	}
	return p.Limit
}

// cost returns the policy's cost for r.
func (p *policy) cost(r *http.Request) (int64, error) {
	switch {
	case p.Cost != nil:
		return p.Cost(r)
	case p.Tokens:
		return 0, nil
	default:
		return 1, nil
	}
}
