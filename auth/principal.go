package auth

import (
	"context"
	"maps"
	"net/netip"
	"slices"
	"strings"
	"time"

	"github.com/tollgate/tollgate"
)

// Principal is who an API key speaks for and what it may do: the record a
// KeyStore returns and the middleware puts in the request's context.
//
// A *Principal returned by a KeyStore is shared by every request that
// presents the same key, so it must be treated as immutable: neither the
// store nor a handler may modify it, its slices or its map once it has been
// returned. The zero value is a principal with no identity and no
// restrictions; Authenticator rejects one whose KeyID is empty.
type Principal struct {
	// KeyID identifies the key (never the key itself): what logs, metrics
	// and per-key rate limits use.
	KeyID string `json:"id"`
	// Account is the account or tenant that owns the key; quotas are
	// usually kept per account.
	Account string `json:"account,omitempty"`
	// Plan is the account's plan or tier ("free", "pro").
	Plan string `json:"plan,omitempty"`
	// Models lists the models the key may use. An entry ending in '*'
	// matches every model with that prefix ("claude-*"); "*" alone matches
	// any. An empty list allows every model.
	Models []string `json:"models,omitempty"`
	// AllowedIPs lists the client networks the key may be used from. An
	// empty list allows any address.
	AllowedIPs []netip.Prefix `json:"allowed_ips,omitempty"`
	// Scopes lists the permissions granted to the key ("chat", "admin");
	// the scope "*" grants every scope.
	Scopes []string `json:"scopes,omitempty"`
	// ExpiresAt is when the key stops working; zero means never.
	ExpiresAt time.Time `json:"expires_at,omitzero"`
	// RevokedAt is when the key was, or will be, revoked; zero means it is
	// not. A time in the future lets a rotated key keep working for a grace
	// period.
	RevokedAt time.Time `json:"revoked_at,omitzero"`
	// Suspended marks the owning account as suspended: every one of its
	// keys is refused until it is lifted.
	Suspended bool `json:"suspended,omitempty"`
	// Metadata holds whatever else the application keeps about the key.
	Metadata map[string]string `json:"metadata,omitempty"`
}

// Expired reports whether the key has expired at now.
func (p *Principal) Expired(now time.Time) bool {
	return !p.ExpiresAt.IsZero() && !now.Before(p.ExpiresAt)
}

// Revoked reports whether the key has been revoked at now.
func (p *Principal) Revoked(now time.Time) bool {
	return !p.RevokedAt.IsZero() && !now.Before(p.RevokedAt)
}

// AllowsModel reports whether the key may use model. Matching is exact and
// case-sensitive, as model IDs are, except for entries ending in '*'.
func (p *Principal) AllowsModel(model string) bool {
	if len(p.Models) == 0 {
		return true
	}
	for _, m := range p.Models {
		if prefix, ok := strings.CutSuffix(m, "*"); ok {
			if strings.HasPrefix(model, prefix) {
				return true
			}
		} else if m == model {
			return true
		}
	}
	return false
}

// RestrictsModels reports whether the key is limited to some models.
func (p *Principal) RestrictsModels() bool {
	return len(p.Models) > 0 && !slices.Contains(p.Models, "*")
}

// AllowsIP reports whether the key may be used from addr. A key with an
// allow-list refuses an invalid (unknown) address.
func (p *Principal) AllowsIP(addr netip.Addr) bool {
	if len(p.AllowedIPs) == 0 {
		return true
	}
	if !addr.IsValid() {
		return false
	}
	addr = addr.WithZone("").Unmap()
	for _, n := range p.AllowedIPs {
		if n.Contains(addr) {
			return true
		}
	}
	return false
}

// HasScope reports whether the key was granted scope, directly or through
// the scope "*".
func (p *Principal) HasScope(scope string) bool {
	for _, s := range p.Scopes {
		if s == scope || s == "*" {
			return true
		}
	}
	return false
}

// HasScopes reports whether the key was granted every one of scopes.
func (p *Principal) HasScopes(scopes ...string) bool {
	for _, s := range scopes {
		if !p.HasScope(s) {
			return false
		}
	}
	return true
}

// clone returns a deep copy, so that a store owns what it hands out.
func (p *Principal) clone() *Principal {
	c := *p
	c.Models = slices.Clone(p.Models)
	c.Scopes = slices.Clone(p.Scopes)
	c.Metadata = maps.Clone(p.Metadata)
	c.AllowedIPs = nil
	for _, n := range p.AllowedIPs {
		c.AllowedIPs = append(c.AllowedIPs, normalizePrefix(n))
	}
	return &c
}

// normalizePrefix masks the host bits and turns an IPv4-mapped IPv6 prefix
// into its IPv4 form, so it matches the unmapped addresses AllowsIP sees.
func normalizePrefix(n netip.Prefix) netip.Prefix {
	if a := n.Addr(); a.Is4In6() && n.Bits() >= 96 {
		n = netip.PrefixFrom(a.Unmap(), n.Bits()-96)
	}
	return n.Masked()
}

type principalKey struct{}

// PrincipalFrom returns the principal that authenticated the request
// carried by ctx, or nil when the request did not pass an Authenticator.
// The principal is shared and must not be modified.
func PrincipalFrom(ctx context.Context) *Principal {
	if st := tollgate.StateFrom(ctx); st != nil {
		if p, ok := st.Principal.(*Principal); ok && p != nil {
			return p
		}
	}
	p, _ := ctx.Value(principalKey{}).(*Principal)
	return p
}

// WithPrincipal returns a copy of ctx carrying p, as the middleware does.
// Tests and non-HTTP entry points use it to run code that reads
// PrincipalFrom.
func WithPrincipal(ctx context.Context, p *Principal) context.Context {
	return context.WithValue(ctx, principalKey{}, p)
}
