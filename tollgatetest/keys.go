package tollgatetest

import (
	"fmt"
	"net/netip"
	"strings"
	"time"

	"github.com/tollgate/tollgate/auth"
)

// Keys returns an in-memory key store built from one-line key specs, for
// tests. Each spec is the key itself followed by space-separated
// attributes:
//
//	"sk-test-1"                                   key ID "sk-test-1", no restrictions
//	"sk-acme id=k1 account=acme plan=pro"         identity
//	"sk-gpt models=gpt-4o,claude-* scopes=chat"   model and scope allow-lists
//	"sk-office ips=10.0.0.0/8,2001:db8::/32"      client IP allow-list
//	"sk-old expired"  "sk-gone revoked"  "sk-bad suspended"
//
// It panics on a malformed spec: test set-up is code, and a typo should
// stop the test at once.
func Keys(specs ...string) *auth.MemoryStore {
	keys := make([]auth.StaticKey, 0, len(specs))
	for _, spec := range specs {
		keys = append(keys, parseKeySpec(spec))
	}
	return auth.MustMemoryStore(keys...)
}

func parseKeySpec(spec string) auth.StaticKey {
	fields := strings.Fields(spec)
	if len(fields) == 0 {
		panic("tollgatetest: empty key spec")
	}
	k := auth.StaticKey{Key: fields[0]}
	k.Principal.KeyID = fields[0]
	// A time safely in the past, for expired and revoked keys whatever the
	// test's clock says.
	past := time.Date(2000, 1, 1, 0, 0, 0, 0, time.UTC)
	for _, f := range fields[1:] {
		name, value, _ := strings.Cut(f, "=")
		switch name {
		case "id":
			k.Principal.KeyID = value
		case "account":
			k.Principal.Account = value
		case "plan":
			k.Principal.Plan = value
		case "models":
			k.Principal.Models = strings.Split(value, ",")
		case "scopes":
			k.Principal.Scopes = strings.Split(value, ",")
		case "ips":
			for _, c := range strings.Split(value, ",") {
				p, err := netip.ParsePrefix(c)
				if err != nil {
					panic(fmt.Sprintf("tollgatetest: key spec %q: %v", spec, err))
				}
				k.Principal.AllowedIPs = append(k.Principal.AllowedIPs, p)
			}
		case "expired":
			k.Principal.ExpiresAt = past
		case "revoked":
			k.Principal.RevokedAt = past
		case "suspended":
			k.Principal.Suspended = true
		default:
			panic(fmt.Sprintf("tollgatetest: key spec %q: unknown attribute %q", spec, name))
		}
	}
	return k
}
