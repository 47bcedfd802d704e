package ratelimit

import (
	"context"
	"fmt"
	"net/http"
	"time"
)

// Penalty blocks a key for a while after repeated failures: Failures
// failed requests within Window block the key for Block, during which its
// requests are answered 429 too_many_failures with the time left as
// Retry-After. Failures are counted exactly over a sliding window (as
// leases that lapse after Window, in the middleware's LeaseStore); the
// block is a bucket in the Store, so both survive across replicas with
// shared stores.
//
// The zero values of Failures, Window and Block take the agents API's
// rule: 10 failures in 10 minutes block the key for 10 minutes.
type Penalty struct {
	// Name identifies the box in denials and namespaces its keys;
	// "penalty" when empty.
	Name string
	// Key picks the key; required.
	Key KeyFunc
	// Failures is how many failures trigger a block; 10 when zero.
	Failures int64
	// Window is the period over which failures count; 10 minutes when zero.
	Window time.Duration
	// Block is how long a key stays blocked; 10 minutes when zero. When it
	// is shorter than Window, failures from before the block still count
	// after it, so the next failure blocks the key again.
	Block time.Duration
	// IsFailure decides from the handler's status whether a request
	// failed; status ≥ 400 when nil. A handler that panics has failed.
	// Requests the middleware itself denies are not counted.
	IsFailure func(status int) bool
}

// PenaltyBox adds a penalty box to the middleware.
func PenaltyBox(p Penalty) Option {
	return func(cfg *config) {
		if p.Name == "" {
			p.Name = "penalty"
		}
		if p.Failures == 0 {
			p.Failures = 10
		}
		if p.Window == 0 {
			p.Window = 10 * time.Minute
		}
		if p.Block == 0 {
			p.Block = 10 * time.Minute
		}
		if p.IsFailure == nil {
			p.IsFailure = func(status int) bool { return status >= 400 }
		}
		switch {
		case validName(p.Name) != nil:
			cfg.fail("PenaltyBox: %v", validName(p.Name))
		case p.Key == nil:
			cfg.fail("PenaltyBox: Key is required")
		case p.Failures < 0 || p.Window < 0 || p.Block < 0:
			cfg.fail("PenaltyBox: Failures, Window and Block must not be negative")
		case Every(p.Block, 1).Validate() != nil:
			cfg.fail("PenaltyBox: Block %v is too long", p.Block)
		}
		cfg.penalty = &p
	}
}

// penalty is a compiled Penalty.
type penalty struct {
	Penalty
	failPrefix  string
	blockPrefix string
	blockLimit  Limit
}

func compilePenalty(p *Penalty) *penalty {
	return &penalty{
		Penalty:     *p,
		failPrefix:  p.Name + ":f:",
		blockPrefix: p.Name + ":b:",
		blockLimit:  Every(p.Block, 1),
	}
}

// penaltyCharge adds r's block check to the request's charges: a peek at
// the block bucket, which is in debt while the key is blocked, so that the
// check is part of the one atomic TakeAll. It returns the key ("" when the
// box does not apply) and false when the response has been written.
func (l *limiter) penaltyCharge(w http.ResponseWriter, r *http.Request, rq *request) (string, bool) {
	key, err := l.penalty.Key(r)
	if err != nil {
		l.reject(w, r, err)
		return "", false
	}
	if key != "" {
		rq.add(Charge{Prefix: l.penalty.blockPrefix, Key: key, Limit: l.penalty.blockLimit}, -1)
	}
	return key, true
}

// recordFailure counts a failure of key and blocks the key when it makes
// Failures within Window.
func (l *limiter) recordFailure(r *http.Request, key string) {
	p := l.penalty
	ctx := context.WithoutCancel(r.Context())
	lease, err := l.leases.Acquire(ctx, p.failPrefix, key, p.Failures, p.Window)
	if err != nil {
		l.report(r, fmt.Errorf("ratelimit: count failure: %w", err))
		return
	}
	if lease.Acquired && lease.Active < p.Failures {
		return
	}
	// Empty the block bucket, then owe two of its one-token intervals: a
	// peek is denied until one is repaid, exactly Block from now.
	block := Charge{Prefix: p.blockPrefix, Key: key, Limit: p.blockLimit, Cost: -2}
	if _, err := l.store.Debit(ctx, block); err != nil {
		l.report(r, fmt.Errorf("ratelimit: block key: %w", err))
		return
	}
	block.Cost = 2
	if _, err := l.store.Debit(ctx, block); err != nil {
		l.report(r, fmt.Errorf("ratelimit: block key: %w", err))
	}
}
