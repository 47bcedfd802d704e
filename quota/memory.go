package quota

import (
	"context"
	"fmt"
	"sync"
	"time"
)

const ledgerShards = 32

// MemoryLedger is the in-memory Ledger: accounts spread over mutex-guarded
// shards, open holds in a per-shard heap by expiry, closed request IDs kept
// for the receipt TTL. Expired holds and receipts are swept by the
// operations themselves, so it starts no goroutine and needs no Close.
// Credit references are kept for the account's lifetime.
//
// It is safe for concurrent use. Its state lives in one process: replicas
// behind a load balancer need a shared Ledger (see the redisstore module).
// The zero value is not ready; use NewMemoryLedger.
type MemoryLedger struct {
	cfg    memoryConfig
	shards [ledgerShards]ledgerShard
}

type ledgerShard struct {
	mu         sync.Mutex
	receiptTTL time.Duration
	accounts   map[string]*ledgerAccount
	holds      expiryHeap
	receipts   receiptIndex
	spare      []*openHold // closed holds, reused by Reserve
}

// maxSpareHolds bounds a shard's list of closed holds kept for reuse.
const maxSpareHolds = 64

// newHold returns an open hold, reusing a closed one when there is one, so
// that a steady stream of requests allocates no holds.
func (s *ledgerShard) newHold(account, id string, at, amount int64) *openHold {
	var oh *openHold
	if n := len(s.spare); n > 0 {
		oh, s.spare[n-1] = s.spare[n-1], nil
		s.spare = s.spare[:n-1]
	} else {
		oh = new(openHold)
	}
	*oh = openHold{timed: timed{account: account, id: id, at: at}, amount: amount}
	return oh
}

// dropHold takes an open hold out of its account and the expiry heap and
// keeps it for reuse: nothing else refers to it.
func (s *ledgerShard) dropHold(a *ledgerAccount, id string, oh *openHold) {
	s.holds.remove(&oh.timed)
	delete(a.holds, id)
	a.held -= oh.amount
	if len(s.spare) < maxSpareHolds {
		*oh = openHold{}
		s.spare = append(s.spare, oh)
	}
}

type ledgerAccount struct {
	balance int64
	held    int64
	holds   map[string]*openHold
	credits map[string]int64
}

type openHold struct {
	timed
	amount int64
}

var _ Ledger = (*MemoryLedger)(nil)

// NewMemoryLedger returns an empty ledger. It reports a non-positive TTL.
func NewMemoryLedger(opts ...MemoryOption) (*MemoryLedger, error) {
	cfg, err := newMemoryConfig(opts)
	if err != nil {
		return nil, err
	}
	l := &MemoryLedger{cfg: cfg}
	for i := range l.shards {
		l.shards[i].accounts = make(map[string]*ledgerAccount)
		l.shards[i].receiptTTL = cfg.receiptTTL
		l.shards[i].receipts = newReceiptIndex(cfg.receiptTTL)
	}
	return l, nil
}

// MustMemoryLedger is NewMemoryLedger that panics on invalid options.
func MustMemoryLedger(opts ...MemoryOption) *MemoryLedger {
	l, err := NewMemoryLedger(opts...)
	if err != nil {
		panic(err)
	}
	return l
}

// lock locks the account's shard, sweeps what lapsed by now (when now is
// not zero) and returns the shard and the account, nil when unknown.
func (l *MemoryLedger) lock(account string, now int64) (*ledgerShard, *ledgerAccount) {
	s := &l.shards[shardOf(account, ledgerShards)]
	s.mu.Lock()
	if now != 0 {
		s.sweep(now)
	}
	return s, s.accounts[account]
}

func (s *ledgerShard) account(name string) *ledgerAccount {
	a := s.accounts[name]
	if a == nil {
		a = &ledgerAccount{holds: make(map[string]*openHold)}
		s.accounts[name] = a
	}
	return a
}

// sweep gives back lapsed holds and forgets lapsed receipts.
func (s *ledgerShard) sweep(now int64) {
	for h := s.holds.peek(); h != nil && h.at <= now; h = s.holds.peek() {
		account, id, at := h.account, h.id, h.at
		a := s.accounts[account]
		s.dropHold(a, id, a.holds[id])
		s.receipts.put(s.receipts.key(account, id), closedHold{expires: at + int64(s.receiptTTL), expired: true})
		s.forgetIfEmpty(account, a)
	}
	s.receipts.sweep(now)
}

// forgetIfEmpty drops an account that holds nothing: its receipts live
// apart, keyed by account and request ID, so they outlive it.
func (s *ledgerShard) forgetIfEmpty(name string, a *ledgerAccount) {
	if a.balance == 0 && a.held == 0 && len(a.holds) == 0 && len(a.credits) == 0 {
		delete(s.accounts, name)
	}
}

// Reserve implements Ledger.
func (l *MemoryLedger) Reserve(ctx context.Context, account string, amount int64, requestID string, now time.Time) (Hold, error) {
	if account == "" || requestID == "" || amount < 0 {
		return Hold{}, fmt.Errorf("%w: reserve %d for %q/%q", ErrInvalidArgument, amount, account, requestID)
	}
	if err := ctx.Err(); err != nil {
		return Hold{}, err
	}
	t := now.UnixNano()
	s, a := l.lock(account, t)
	defer s.mu.Unlock()
	key := s.receipts.key(account, requestID)
	if err := checkReserve(s, a, account, amount, requestID, key, t); err != nil {
		return Hold{}, err
	}
	if a == nil {
		a = s.account(account)
	}
	expires := now.Add(l.cfg.holdTTL)
	oh := s.newHold(account, requestID, expires.UnixNano(), amount)
	a.holds[requestID] = oh
	a.held += amount
	s.holds.push(&oh.timed)
	return Hold{Account: account, RequestID: requestID, Amount: amount, Available: a.balance - a.held, Expires: expires}, nil
}

// checkReserve applies Reserve's refusals in their order of precedence.
// An ID with an open hold or a live receipt is taken.
func checkReserve(s *ledgerShard, a *ledgerAccount, account string, amount int64, id string, key receiptKey, now int64) error {
	var balance, held int64
	if a != nil {
		if _, open := a.holds[id]; open {
			return refuse(ErrDuplicateRequest, account)
		}
		balance, held = a.balance, a.held
	}
	if _, closed := s.receipts.get(key, now); closed {
		return refuse(ErrDuplicateRequest, account)
	}
	switch available := balance - held; {
	case balance < 0:
		r := refuse(ErrAccountOverdue, account)
		r.Balance, r.Amount = balance, amount
		return r
	case amount > 0 && balance == 0:
		r := refuse(ErrCreditRequired, account)
		r.Amount = amount
		return r
	case amount > 0 && available < amount:
		r := refuse(ErrInsufficientBalance, account)
		r.Balance, r.Amount = available, amount
		return r
	}
	return nil
}

// Settle implements Ledger.
func (l *MemoryLedger) Settle(ctx context.Context, h Hold, actual int64, now time.Time) (Receipt, error) {
	if err := validHold(h); err != nil || actual < 0 {
		return Receipt{}, fmt.Errorf("%w: settle %d for %q/%q", ErrInvalidArgument, actual, h.Account, h.RequestID)
	}
	return l.close(ctx, h, actual, now)
}

// Release implements Ledger.
func (l *MemoryLedger) Release(ctx context.Context, h Hold, now time.Time) (Receipt, error) {
	if err := validHold(h); err != nil {
		return Receipt{}, fmt.Errorf("%w: release %q/%q", ErrInvalidArgument, h.Account, h.RequestID)
	}
	return l.close(ctx, h, 0, now)
}

// close ends a hold, charging charge: the shared body of Settle and Release.
func (l *MemoryLedger) close(ctx context.Context, h Hold, charge int64, now time.Time) (Receipt, error) {
	if err := ctx.Err(); err != nil {
		return Receipt{}, err
	}
	t := now.UnixNano()
	s, a := l.lock(h.Account, t)
	defer s.mu.Unlock()
	var oh *openHold
	if a != nil {
		oh = a.holds[h.RequestID]
	}
	// An open hold has no receipt (Reserve refuses an ID that has one), so
	// only a closed one needs the receipts, much the larger index.
	key := s.receipts.key(h.Account, h.RequestID)
	if oh == nil {
		if rc, ok := s.receipts.get(key, t); ok && !rc.expired {
			var balance int64
			if a != nil {
				balance = a.balance
			}
			return Receipt{Amount: rc.charged, Balance: balance, Replayed: true}, nil
		}
	}
	if a == nil {
		a = s.account(h.Account)
	}
	balance, err := subChecked(a.balance, charge)
	if err != nil {
		return Receipt{}, err
	}
	if oh != nil {
		s.dropHold(a, h.RequestID, oh)
	}
	a.balance = balance
	s.receipts.put(key, closedHold{charged: charge, expires: now.Add(l.cfg.receiptTTL).UnixNano()})
	s.forgetIfEmpty(h.Account, a)
	return Receipt{Amount: charge, Balance: balance}, nil
}

// Balance implements Ledger.
func (l *MemoryLedger) Balance(ctx context.Context, account string, now time.Time) (Funds, error) {
	if account == "" {
		return Funds{}, fmt.Errorf("%w: empty account", ErrInvalidArgument)
	}
	if err := ctx.Err(); err != nil {
		return Funds{}, err
	}
	s, a := l.lock(account, now.UnixNano())
	defer s.mu.Unlock()
	if a == nil {
		return Funds{}, nil
	}
	return Funds{Balance: a.balance, Held: a.held, Holds: len(a.holds)}, nil
}

// Credit implements Ledger.
func (l *MemoryLedger) Credit(ctx context.Context, account string, amount int64, reference string) (Receipt, error) {
	if account == "" || reference == "" || amount <= 0 {
		return Receipt{}, fmt.Errorf("%w: credit %d to %q as %q", ErrInvalidArgument, amount, account, reference)
	}
	if err := ctx.Err(); err != nil {
		return Receipt{}, err
	}
	s, a := l.lock(account, 0)
	defer s.mu.Unlock()
	if a != nil {
		if prev, ok := a.credits[reference]; ok {
			if prev != amount {
				return Receipt{}, fmt.Errorf("%w: %q was %d, now %d", ErrReferenceConflict, reference, prev, amount)
			}
			return Receipt{Amount: prev, Balance: a.balance, Replayed: true}, nil
		}
	}
	var balance int64
	if a != nil {
		balance = a.balance
	}
	balance, err := addChecked(balance, amount)
	if err != nil {
		return Receipt{}, err
	}
	a = s.account(account)
	if a.credits == nil {
		a.credits = make(map[string]int64)
	}
	a.credits[reference] = amount
	a.balance = balance
	return Receipt{Amount: amount, Balance: balance}, nil
}
