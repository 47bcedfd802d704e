package auth

import (
	"errors"
	"fmt"
	"net/http"
	"strings"
	"time"

	"github.com/tollgate/tollgate"
	apierrors "github.com/tollgate/tollgate/errors"
)

// Rejections shared by every Authenticator. They are never modified; a
// rejection that carries a cause is a copy (WithCause).
var (
	errUnknownKey  = apierrors.New(apierrors.CodeInvalidAPIKey)
	errBadChecksum = apierrors.New(apierrors.CodeInvalidAPIKey).WithMessage(
		"The provided API key is malformed (its checksum does not match); check it for typos")
	errExpired   = apierrors.New(apierrors.CodeExpiredAPIKey)
	errRevoked   = apierrors.New(apierrors.CodeRevokedAPIKey)
	errSuspended = apierrors.New(apierrors.CodeAccountSuspended)
	errIP        = apierrors.New(apierrors.CodeIPNotAllowed)
	errStore     = apierrors.New(apierrors.CodeServiceUnavailable).WithMessage(
		"Authentication is temporarily unavailable; please retry")
)

// Authenticator checks API keys: it finds the key in the request, looks up
// its digest in a KeyStore and refuses, each with its own catalogue code,
// a missing or invalid key (401), an expired or revoked key (401), a
// suspended account, a missing scope, a client address outside the key's
// allow-list and a model the key may not use (403), and a store failure
// (503). Every refusal is written by apierrors.Write in the request's
// dialect; the key never appears in one, only its Fingerprint in the
// error's Cause.
//
// An Authenticator is immutable after New and safe for concurrent use. The
// zero value is not usable.
type Authenticator struct {
	store     KeyStore
	extract   *extractor
	clock     tollgate.Clock
	ips       *tollgate.IPResolver
	model     ModelFunc
	scopes    []string
	errScopes *apierrors.Error
	checksum  bool
	onReject  func(*http.Request, *apierrors.Error)
	challenge string
}

// Option configures an Authenticator; options are applied in order, so a
// later one wins (RequiredScopes accumulates).
type Option func(*config)

type config struct {
	sources   []Source
	setSource bool
	maxKeyLen int
	clock     tollgate.Clock
	ips       *tollgate.IPResolver
	model     ModelFunc
	scopes    []string
	checksum  bool
	onReject  func(*http.Request, *apierrors.Error)
}

// Sources sets where keys are looked for, in order (DefaultSources when
// not given). Add Query("key") only if clients cannot send headers: the key
// then leaks into every log that records URLs.
func Sources(sources ...Source) Option {
	return func(c *config) { c.sources, c.setSource = append([]Source(nil), sources...), true }
}

// MaxKeyLength sets the longest key accepted (DefaultMaxKeyLength when not
// given); longer ones are refused before they are hashed.
func MaxKeyLength(n int) Option { return func(c *config) { c.maxKeyLen = n } }

// WithClock sets the clock against which expiry and revocation times are
// checked (the system clock when not given); tests pass a manual one.
func WithClock(clock tollgate.Clock) Option { return func(c *config) { c.clock = clock } }

// ClientIPs sets how the client address checked against a key's
// AllowedIPs is found. Without it the connection's peer address is used and
// no forwarding header is trusted; behind a load balancer, pass a
// tollgate.IPResolver that trusts it.
func ClientIPs(resolver *tollgate.IPResolver) Option {
	return func(c *config) { c.ips = resolver }
}

// CheckModel makes the Authenticator read the requested model with f and
// refuse keys whose Models do not allow it. The model read is also stored
// in tollgate.State.Model for the layers below (pricing, per-model limits).
// Without this option no model is read or checked.
func CheckModel(f ModelFunc) Option { return func(c *config) { c.model = f } }

// RequiredScopes makes the Authenticator refuse keys that lack any of
// scopes with insufficient_permissions. To require scopes on some routes
// only, mount RequireScopes there instead.
func RequiredScopes(scopes ...string) Option {
	return func(c *config) { c.scopes = append(c.scopes, scopes...) }
}

// VerifyChecksum makes the Authenticator refuse, before any store lookup,
// keys whose checksum does not match (see GenerateKey and CheckKey). Use it
// only when every key was made by GenerateKey.
func VerifyChecksum() Option { return func(c *config) { c.checksum = true } }

// OnReject sets a function called with every rejection before it is
// written, for logging and metrics. The error's Cause names the key by its
// Fingerprint only. The function must be safe for concurrent use and must
// not write to the response.
func OnReject(f func(r *http.Request, err *apierrors.Error)) Option {
	return func(c *config) { c.onReject = f }
}

// New returns an Authenticator that looks keys up in store. It fails when
// store is nil or an option is invalid (no sources, a malformed source, a
// non-positive key length bound, an empty scope).
func New(store KeyStore, opts ...Option) (*Authenticator, error) {
	cfg := config{maxKeyLen: DefaultMaxKeyLength}
	for _, o := range opts {
		o(&cfg)
	}
	if store == nil {
		return nil, errors.New("auth: New needs a KeyStore")
	}
	if cfg.maxKeyLen <= 0 {
		return nil, fmt.Errorf("auth: MaxKeyLength must be positive, got %d", cfg.maxKeyLen)
	}
	if !cfg.setSource {
		cfg.sources = DefaultSources()
	}
	ex, err := newExtractor(cfg.sources, cfg.maxKeyLen)
	if err != nil {
		return nil, err
	}
	for _, s := range cfg.scopes {
		if s == "" {
			return nil, errors.New("auth: RequiredScopes holds an empty scope")
		}
	}
	a := &Authenticator{
		store: store, extract: ex, clock: tollgate.ClockOrSystem(cfg.clock), ips: cfg.ips,
		model: cfg.model, scopes: cfg.scopes, checksum: cfg.checksum, onReject: cfg.onReject,
	}
	if len(cfg.scopes) > 0 {
		a.errScopes = scopeError(cfg.scopes)
	}
	for _, s := range cfg.sources {
		if s.kind == sourceScheme {
			a.challenge = s.scheme
			break
		}
	}
	return a, nil
}

// MustNew is New that panics on invalid configuration, for use at start-up.
func MustNew(store KeyStore, opts ...Option) *Authenticator {
	a, err := New(store, opts...)
	if err != nil {
		panic(err)
	}
	return a
}

// Middleware returns MustNew(store, opts...).Middleware: authentication as
// a tollgate.Middleware, configured once at start-up. It panics on invalid
// configuration.
func Middleware(store KeyStore, opts ...Option) tollgate.Middleware {
	return MustNew(store, opts...).Middleware
}

// Middleware authenticates every request before next sees it. On success
// it stores the Principal in the request's context (see PrincipalFrom) and
// copies its KeyID, Account and Plan, and the model when CheckModel read
// one, into the request's tollgate.State, where ratelimit and quota key on
// them. On failure it writes the rejection and next is not called.
func (a *Authenticator) Middleware(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w, r, st := tollgate.Begin(w, r)
		p, rej := a.authenticate(r)
		if rej != nil {
			a.reject(w, r, rej)
			return
		}
		st.Principal = p
		model := ""
		if a.model != nil {
			if model, rej = a.checkModel(r, p); rej != nil {
				a.reject(w, r, rej)
				return
			}
		}
		st.KeyID, st.Account, st.Plan = p.KeyID, p.Account, p.Plan
		if model != "" {
			st.Model = model
		}
		next.ServeHTTP(w, r)
	})
}

// Authenticate runs every check but the model's on r and returns the
// principal, or the rejection as an *apierrors.Error. It is for callers
// that do not use the middleware (a WebSocket upgrade, a custom router);
// they check a model with Principal.AllowsModel.
func (a *Authenticator) Authenticate(r *http.Request) (*Principal, error) {
	p, rej := a.authenticate(r)
	if rej != nil {
		return nil, rej
	}
	return p, nil
}

func (a *Authenticator) authenticate(r *http.Request) (*Principal, *apierrors.Error) {
	key, rej := a.extract.extract(r)
	if rej != nil {
		return nil, rej
	}
	if a.checksum && !CheckKey(key) {
		return nil, errBadChecksum.WithCause(fmt.Errorf("auth: key %s fails its checksum", Fingerprint(key)))
	}
	p, err := a.store.Lookup(r.Context(), HashKey(key))
	switch {
	case err == nil && p == nil, errors.Is(err, ErrKeyNotFound):
		return nil, errUnknownKey.WithCause(fmt.Errorf("auth: key %s: %w", Fingerprint(key), ErrKeyNotFound))
	case err != nil:
		return nil, errStore.WithCause(fmt.Errorf("auth: key store lookup for %s: %w", Fingerprint(key), err))
	case p.KeyID == "":
		return nil, errStore.WithCause(fmt.Errorf("auth: key store returned a principal without KeyID for %s", Fingerprint(key)))
	}
	return p, a.check(r, p)
}

// check applies the principal's lifecycle and permission rules, the most
// definitive first.
func (a *Authenticator) check(r *http.Request, p *Principal) *apierrors.Error {
	var now time.Time
	if !p.RevokedAt.IsZero() || !p.ExpiresAt.IsZero() {
		now = a.clock.Now() // only keys with a lifecycle date need the time
	}
	switch {
	case p.Revoked(now):
		return errRevoked.WithCause(fmt.Errorf("auth: key %s revoked at %s", p.KeyID, p.RevokedAt.Format(time.RFC3339)))
	case p.Expired(now):
		return errExpired.WithCause(fmt.Errorf("auth: key %s expired at %s", p.KeyID, p.ExpiresAt.Format(time.RFC3339)))
	case p.Suspended:
		return errSuspended.WithCause(fmt.Errorf("auth: account %q of key %s is suspended", p.Account, p.KeyID))
	}
	if len(p.AllowedIPs) > 0 {
		if ip := a.ips.ClientIP(r); !p.AllowsIP(ip) {
			return errIP.WithCause(fmt.Errorf("auth: key %s used from %v", p.KeyID, ip))
		}
	}
	if len(a.scopes) > 0 && !p.HasScopes(a.scopes...) {
		return a.errScopes.WithCause(fmt.Errorf("auth: key %s lacks scopes %v", p.KeyID, a.scopes))
	}
	return nil
}

// checkModel reads the requested model and checks it against the key.
func (a *Authenticator) checkModel(r *http.Request, p *Principal) (string, *apierrors.Error) {
	model, err := a.model(r)
	switch {
	case errors.Is(err, ErrModelUnknown):
		if p.RestrictsModels() {
			return "", apierrors.New(apierrors.CodeModelNotAllowed).WithMessage(
				"This API key may use only some models, and the request's model could not be read").
				WithCause(fmt.Errorf("auth: key %s: %w", p.KeyID, err))
		}
		return "", nil
	case err != nil:
		return "", apierrors.From(err)
	case model != "" && !p.AllowsModel(model):
		return "", apierrors.New(apierrors.CodeModelNotAllowed).WithMessage(
			"This API key is not allowed to use the model '" + model + "'").
			WithCause(fmt.Errorf("auth: key %s asked for a model outside its list", p.KeyID))
	}
	return model, nil
}

func (a *Authenticator) reject(w http.ResponseWriter, r *http.Request, e *apierrors.Error) {
	if a.onReject != nil {
		a.onReject(r, e)
	}
	if e.Status == http.StatusUnauthorized && a.challenge != "" {
		w.Header().Set("WWW-Authenticate", a.challenge)
	}
	apierrors.Write(w, r, e)
}

func scopeError(scopes []string) *apierrors.Error {
	noun := "scope"
	if len(scopes) > 1 {
		noun = "scopes"
	}
	return apierrors.New(apierrors.CodeInsufficientPermissions).WithMessage(
		"This API key lacks the " + noun + " required here: " + strings.Join(scopes, ", "))
}
