package main

import (
	"context"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/tollgate/tollgate"
	"github.com/tollgate/tollgate/auth"
	"github.com/tollgate/tollgate/tollgatetest"
)

// Keys the reliability tests add to the example config, one per refusal
// the example config has no key for.
const (
	revokedKey   = "sk-tollgate-revoked-000000000000"
	suspendedKey = "sk-tollgate-suspended-0000000000"
	officeKey    = "sk-tollgate-office-0000000000000"
)

// rig is the demo gateway with every store wrapped in a fault injector,
// the ledger audited, and its logs captured: the harness of the secrets,
// bad-input and fault tests.
type rig struct {
	t       testing.TB
	cfg     *Config
	gw      *Gateway
	handler http.Handler // withFaults in front of the gateway
	clock   *tollgatetest.Clock
	stores  Stores
	audit   *auditLedger
	logs    *strings.Builder
}

// extraKeys adds to the config's keys a revoked, a suspended and an
// IP-restricted key.
func extraKeys(c *Config) {
	at := time.Date(2025, 6, 1, 0, 0, 0, 0, time.UTC)
	office := auth.StaticKey{Key: officeKey, Principal: auth.Principal{KeyID: "office", Account: "acme", Plan: "pro",
		AllowedIPs: []netip.Prefix{netip.MustParsePrefix("203.0.113.0/24")}}}
	c.Keys = append(c.Keys,
		auth.StaticKey{Key: revokedKey, Principal: auth.Principal{KeyID: "revoked", Account: "acme", Plan: "pro", RevokedAt: at}},
		auth.StaticKey{Key: suspendedKey, Principal: auth.Principal{KeyID: "suspended", Account: "acme", Plan: "pro", Suspended: true}},
		office,
	)
}

func newRig(t testing.TB, edit func(*Config)) *rig {
	t.Helper()
	cfg, err := parseConfig(defaultConfig)
	require.NoError(t, err)
	if edit != nil {
		edit(cfg)
		require.NoError(t, cfg.validate())
	}
	rg := &rig{t: t, cfg: cfg, clock: tollgatetest.NewClock(time.Time{}), logs: &strings.Builder{}}
	base, err := memoryStores(rg.clock, time.Hour)
	require.NoError(t, err)
	rg.stores, rg.audit = faultStores(base)
	logger := slog.New(tollgate.LogHandler(slog.NewJSONHandler(&lockedWriter{b: rg.logs}, &slog.HandlerOptions{Level: slog.LevelDebug})))
	rg.gw, err = NewGateway(cfg, rg.stores, rg.clock, logger, NewMetrics())
	require.NoError(t, err)
	require.NoError(t, rg.gw.Fund(context.Background()))
	rg.handler = withFaults(rg.gw)
	return rg
}

// serve runs r through the gateway in process. A handler that aborts the
// response (http.ErrAbortHandler, as net/http would see it) yields what
// was written before the abort.
func (rg *rig) serve(r *http.Request) (rec *httptest.ResponseRecorder, aborted bool) {
	rec = httptest.NewRecorder()
	func() {
		defer func() {
			if v := recover(); v != nil {
				if v != http.ErrAbortHandler {
					panic(v)
				}
				aborted = true
			}
		}()
		rg.handler.ServeHTTP(rec, r)
	}()
	return rec, aborted
}

// checkBooks asserts the ledger invariant for every account the audit saw:
// no hold is left open, and the balance is exactly the credits less the
// charges the ledger acknowledged.
func (rg *rig) checkBooks() {
	rg.t.Helper()
	checkBooks(rg.t, rg.audit, rg.clock.Now())
}

func checkBooks(t testing.TB, audit *auditLedger, now time.Time) {
	t.Helper()
	for _, account := range audit.accounts() {
		f, err := audit.Balance(context.Background(), account, now)
		require.NoError(t, err)
		credited, charged := audit.books(account)
		assert.Zero(t, f.Held, "account %s: no hold is left", account)
		assert.Zero(t, f.Holds, "account %s: no hold is left", account)
		assert.Equal(t, credited-charged, f.Balance, "account %s: balance = credits − charges", account)
	}
}
