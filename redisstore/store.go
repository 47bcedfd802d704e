package redisstore

import (
	"context"
	"errors"
	"strings"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/tollgate/tollgate"
)

// Store is a connection to Redis shared by the four stores it hands out:
// Buckets (ratelimit.Store), Leases (ratelimit.LeaseStore), Ledger
// (quota.Ledger) and Windows (quota.WindowStore). They share its key
// prefix, timeout and circuit breaker, so one failing Redis opens one
// circuit for all of them.
//
// A Store is safe for concurrent use by any number of goroutines and
// starts no goroutine: it needs no Close. It does not own the go-redis
// client, which the caller closes. Use New; the zero value is not usable.
type Store struct {
	rdb        redis.Scripter
	prefix     string
	tag        func(string) string
	clock      tollgate.Clock
	timeout    time.Duration
	circuit    *circuit
	holdTTL    time.Duration
	receiptTTL time.Duration
	creditTTL  time.Duration
	slackMs    int64
	slackArg   any // slackMs, boxed once

	buckets BucketStore
	leases  LeaseStore
	ledger  Ledger
	windows WindowStore
}

// New returns a Store using rdb: a *redis.Client (plain, Sentinel or
// failover), a *redis.ClusterClient, a *redis.Ring, or anything else that
// runs scripts. The client must have ContextTimeoutEnabled set, or the
// per-call timeout could not interrupt a hung read; New reports one that
// does not. Scripts are sent with EVALSHA and sent again in full when the
// server answers NOSCRIPT (after a restart or SCRIPT FLUSH).
//
// go-redis retries a command whose connection broke (Options.MaxRetries):
// if the reply, not the command, was lost, the script runs twice. The
// ledger and window scripts recognise their own retried reservation and
// every close and credit is idempotent; a retried Take or Debit counts
// twice, which errs towards denying. Set MaxRetries to -1 to rule it out.
//
// New fails on a nil client or an invalid option.
func New(rdb redis.Scripter, opts ...Option) (*Store, error) {
	if rdb == nil {
		return nil, errors.New("redisstore: New: nil client")
	}
	if err := checkClient(rdb); err != nil {
		return nil, err
	}
	cfg, err := newConfig(opts)
	if err != nil {
		return nil, err
	}
	slack := keySlack
	if cfg.clock != nil {
		slack = testClockSlack
	}
	s := &Store{
		rdb:        rdb,
		prefix:     cfg.prefix,
		tag:        cfg.tag,
		clock:      cfg.clock,
		timeout:    cfg.timeout,
		circuit:    newCircuit(cfg.breaker),
		holdTTL:    cfg.holdTTL,
		receiptTTL: cfg.receiptTTL,
		creditTTL:  cfg.creditTTL,
		slackMs:    slack.Milliseconds(),
		slackArg:   slack.Milliseconds(),
	}
	s.buckets.s, s.leases.s, s.ledger.s, s.windows.s = s, s, s, s
	return s, nil
}

// MustNew is New that panics on an error, for program initialisation.
func MustNew(rdb redis.Scripter, opts ...Option) *Store {
	s, err := New(rdb, opts...)
	if err != nil {
		panic(err)
	}
	return s
}

// checkClient rejects the go-redis clients whose options ignore context
// deadlines.
func checkClient(rdb redis.Scripter) error {
	enabled, isNil := true, false
	switch c := rdb.(type) {
	case *redis.Client:
		isNil = c == nil
		enabled = isNil || c.Options().ContextTimeoutEnabled
	case *redis.ClusterClient:
		isNil = c == nil
		enabled = isNil || c.Options().ContextTimeoutEnabled
	case *redis.Ring:
		isNil = c == nil
		enabled = isNil || c.Options().ContextTimeoutEnabled
	}
	if isNil {
		return errors.New("redisstore: New: nil client")
	}
	if !enabled {
		return errors.New("redisstore: New: the client must be created with ContextTimeoutEnabled: true, " +
			"or the per-call timeout cannot interrupt a hung call")
	}
	return nil
}

// Buckets returns the store's token buckets, a ratelimit.Store.
func (s *Store) Buckets() *BucketStore { return &s.buckets }

// Leases returns the store's concurrency leases, a ratelimit.LeaseStore.
func (s *Store) Leases() *LeaseStore { return &s.leases }

// Ledger returns the store's prepaid balances, a quota.Ledger.
func (s *Store) Ledger() *Ledger { return &s.ledger }

// Windows returns the store's subscription usage, a quota.WindowStore.
func (s *Store) Windows() *WindowStore { return &s.windows }

// Circuit returns the state of the store's circuit breaker;
// CircuitClosed when the breaker is disabled.
func (s *Store) Circuit() CircuitState { return s.circuit.current() }

// run runs a script through the breaker, bounded by the store's timeout,
// and returns its reply as integers.
func (s *Store) run(ctx context.Context, op string, sc *script, keys []string, args ...any) ([]int64, error) {
	cmd := sc.command(len(keys), len(keys)+len(args))
	for _, k := range keys {
		cmd = append(cmd, k)
	}
	return s.call(ctx, op, sc, append(cmd, args...))
}

// call is run for a command that sc.command started and the caller
// completed.
func (s *Store) call(ctx context.Context, op string, sc *script, cmd []any) ([]int64, error) {
	probe, err := s.circuit.allow()
	if err != nil {
		return nil, &Error{Op: op, Err: err}
	}
	cctx, cancel := s.bound(ctx)
	vals, err := sc.eval(cctx, s.rdb, cmd)
	cancel()
	s.circuit.done(probe, classify(callerGaveUp(ctx, err), err), err)
	if err != nil {
		return nil, wrap(op, err)
	}
	return vals, nil
}

// bound returns ctx bounded by the store's timeout, or ctx itself when
// its own deadline comes sooner.
func (s *Store) bound(ctx context.Context) (context.Context, context.CancelFunc) {
	if d, ok := ctx.Deadline(); ok && time.Until(d) <= s.timeout {
		return ctx, func() {}
	}
	return context.WithTimeout(ctx, s.timeout)
}

// callerGaveUp reports whether a failed call ended because of the
// caller's own context: cancelled, or past a deadline of its own (the
// read may time out a hair before the context notices).
func callerGaveUp(ctx context.Context, err error) bool {
	if err == nil {
		return false
	}
	if ctx.Err() != nil {
		return true
	}
	d, ok := ctx.Deadline()
	return ok && !time.Now().Before(d)
}

// errReply reports a reply of an unexpected shape: a script and its caller
// that disagree, which no input should cause.
var errReply = errors.New("unexpected script reply")

// replyError returns an *Error for a reply shorter than n.
func replyError(op string, got []int64, n int) error {
	if len(got) >= n {
		return nil
	}
	return &Error{Op: op, Err: errReply}
}

// key returns prefix+kind+":{"+tag+"}"+rest: the hash tag between the
// braces puts every key of one decision in one cluster slot.
func (s *Store) key(kind, tag, rest string) string {
	return s.prefix + kind + ":{" + tag + "}" + rest
}

// nameKey returns the key of a bucket or lease set named prefix+name:
// tagged by the whole name, or by WithHashTag's choice.
func (s *Store) nameKey(kind, prefix, name string) string {
	if s.tag == nil {
		return s.prefix + kind + ":{" + prefix + name + "}"
	}
	full := prefix + name
	tag := s.tag(full)
	if i := strings.IndexByte(tag, '}'); i >= 0 {
		tag = tag[:i]
	}
	return s.key(kind, tag, full)
}

// limb joins the two limbs of a script's exact integer.
func limb(hi, lo int64) int64 { return hi*1e9 + lo }

// micros returns d in whole microseconds, rounded up.
func micros(d time.Duration) int64 {
	return int64((d + time.Microsecond - 1) / time.Microsecond)
}
