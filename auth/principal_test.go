package auth_test

import (
	"context"
	"net/netip"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"

	"github.com/tollgate/tollgate/auth"
)

func TestPrincipalModels(t *testing.T) {
	tests := []struct {
		name       string
		models     []string
		model      string
		allows     bool
		restricted bool
	}{
		{"no list allows all", nil, "anything", true, false},
		{"exact", []string{"gpt-4o"}, "gpt-4o", true, true},
		{"exact is case-sensitive", []string{"gpt-4o"}, "GPT-4o", false, true},
		{"exact is not a prefix", []string{"gpt-4o"}, "gpt-4o-mini", false, true},
		{"wildcard prefix", []string{"claude-*"}, "claude-opus-4", true, true},
		{"wildcard prefix miss", []string{"claude-*"}, "gpt-4o", false, true},
		{"provider prefix", []string{"openai/*"}, "openai/gpt-4o", true, true},
		{"star alone", []string{"*"}, "anything", true, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p := &auth.Principal{Models: tt.models}
			assert.Equal(t, tt.allows, p.AllowsModel(tt.model))
			assert.Equal(t, tt.restricted, p.RestrictsModels())
		})
	}
}

func TestPrincipalIPs(t *testing.T) {
	p := &auth.Principal{AllowedIPs: []netip.Prefix{netip.MustParsePrefix("203.0.113.0/24"), netip.MustParsePrefix("2001:db8::/32")}}
	assert.True(t, p.AllowsIP(netip.MustParseAddr("203.0.113.77")))
	assert.True(t, p.AllowsIP(netip.MustParseAddr("::ffff:203.0.113.77")))
	assert.True(t, p.AllowsIP(netip.MustParseAddr("2001:db8::1")))
	assert.False(t, p.AllowsIP(netip.MustParseAddr("198.51.100.1")))
	assert.False(t, p.AllowsIP(netip.Addr{}), "an unknown address is refused")
	assert.True(t, (&auth.Principal{}).AllowsIP(netip.Addr{}), "no list allows all")
}

func TestPrincipalLifecycle(t *testing.T) {
	at := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	p := &auth.Principal{ExpiresAt: at, RevokedAt: at}
	assert.False(t, p.Expired(at.Add(-time.Nanosecond)))
	assert.True(t, p.Expired(at))
	assert.False(t, p.Revoked(at.Add(-time.Nanosecond)))
	assert.True(t, p.Revoked(at))
	never := &auth.Principal{}
	assert.False(t, never.Expired(at.Add(100*365*24*time.Hour)))
	assert.False(t, never.Revoked(at))
}

func TestPrincipalScopes(t *testing.T) {
	p := &auth.Principal{Scopes: []string{"chat", "embeddings"}}
	assert.True(t, p.HasScopes("chat", "embeddings"))
	assert.True(t, p.HasScopes())
	assert.False(t, p.HasScopes("chat", "admin"))
	assert.True(t, (&auth.Principal{Scopes: []string{"*"}}).HasScope("admin"))
}

func TestPrincipalContext(t *testing.T) {
	assert.Nil(t, auth.PrincipalFrom(context.Background()))
	p := &auth.Principal{KeyID: "k"}
	assert.Same(t, p, auth.PrincipalFrom(auth.WithPrincipal(context.Background(), p)))
}
