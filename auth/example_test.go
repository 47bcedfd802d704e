package auth_test

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"time"

	"github.com/tollgate/tollgate"
	"github.com/tollgate/tollgate/auth"
)

// call sends a request with an API key through h and prints the outcome.
func call(h http.Handler, key, body string) {
	r := httptest.NewRequest(http.MethodPost, "/v1/chat/completions", strings.NewReader(body))
	r.Header.Set("Authorization", "Bearer "+key)
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, r)
	fmt.Println(rec.Code, strings.TrimSpace(rec.Body.String()))
}

// whoami answers with what the auth layer learnt about the caller.
var whoami = http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
	p := auth.PrincipalFrom(r.Context())
	fmt.Fprintf(w, "key=%s account=%s plan=%s", p.KeyID, p.Account, p.Plan)
})

// Static keys given in code, for tests and small deployments.
func Example_staticKeys() {
	store := auth.MustMemoryStore(
		auth.StaticKey{Key: "sk-alice-0123456789", Principal: auth.Principal{KeyID: "alice", Account: "acme", Plan: "pro"}},
		auth.StaticKey{Key: "sk-bob-0123456789", Principal: auth.Principal{KeyID: "bob", Account: "acme", Plan: "free",
			ExpiresAt: time.Date(2020, 1, 1, 0, 0, 0, 0, time.UTC)}},
	)
	h := auth.Middleware(store)(whoami)

	call(h, "sk-alice-0123456789", "")
	call(h, "sk-bob-0123456789", "")
	call(h, "sk-mallory-0123456789", "")
	// Output:
	// 200 key=alice account=acme plan=pro
	// 401 {"error":{"message":"The API key has expired","type":"authentication_error","param":null,"code":"expired_api_key"}}
	// 401 {"error":{"message":"The provided API key is invalid","type":"authentication_error","param":null,"code":"invalid_api_key"}}
}

// Keys loaded from a JSON file that holds their SHA-256 digests.
func ExampleLoadMemoryStore() {
	store, err := auth.LoadMemoryStore("testdata/keys.json")
	if err != nil {
		fmt.Println(err)
		return
	}
	h := auth.Middleware(store)(whoami)

	call(h, "sk-dev-local-only", "")
	// Output:
	// 200 key=key_dev account=dev plan=free
}

// userDB stands for the application's own database: a table of keys
// indexed by their digest, never by the key.
type userDB struct {
	rows    map[string]auth.Principal // key_sha256 (hex) → row
	queries int
}

// FindKey would run
//
//	SELECT id, account, plan, expires_at, revoked_at FROM api_keys WHERE key_sha256 = $1
func (db *userDB) FindKey(_ context.Context, sha256Hex string) (auth.Principal, bool, error) {
	db.queries++
	p, ok := db.rows[sha256Hex]
	return p, ok, nil
}

// A custom store backed by the application's database, behind a cache.
func ExampleKeyStoreFunc() {
	db := &userDB{rows: map[string]auth.Principal{
		auth.HashKey("sk-db-key-0123456789").String(): {KeyID: "k_42", Account: "globex", Plan: "team"},
	}}
	store := auth.KeyStoreFunc(func(ctx context.Context, hash auth.KeyHash) (*auth.Principal, error) {
		row, ok, err := db.FindKey(ctx, hash.String())
		switch {
		case err != nil:
			return nil, err // becomes a 503; the key may well be valid
		case !ok:
			return nil, auth.ErrKeyNotFound
		}
		return &row, nil
	})
	cached := auth.MustCachedStore(store, auth.CacheTTL(30*time.Second))
	h := auth.Middleware(cached)(whoami)

	call(h, "sk-db-key-0123456789", "")
	call(h, "sk-db-key-0123456789", "")
	fmt.Println("queries:", db.queries)
	// Output:
	// 200 key=k_42 account=globex plan=team
	// 200 key=k_42 account=globex plan=team
	// queries: 1
}

// Keys restricted to some models, read from the JSON body.
func ExampleModelFromJSON() {
	store := auth.MustMemoryStore(auth.StaticKey{Key: "sk-mini-0123456789", Principal: auth.Principal{
		KeyID: "mini", Models: []string{"gpt-4o-mini", "claude-haiku-*"},
	}})
	h := auth.Middleware(store, auth.CheckModel(auth.ModelFromJSON(0)))(
		http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			fmt.Fprint(w, "serving ", tollgate.StateFrom(r.Context()).Model)
		}))

	call(h, "sk-mini-0123456789", `{"model":"claude-haiku-4-5","messages":[]}`)
	call(h, "sk-mini-0123456789", `{"model":"gpt-4o","messages":[]}`)
	// Output:
	// 200 serving claude-haiku-4-5
	// 403 {"error":{"message":"This API key is not allowed to use the model 'gpt-4o'","type":"permission_error","param":"model","code":"model_not_allowed"}}
}

// Issuing a key: show it to its owner once, store only its digest.
func ExampleGenerateKey() {
	key, err := auth.GenerateKey("tg_live_")
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println(len(key), auth.CheckKey(key), strings.HasPrefix(auth.Fingerprint(key), "tg_…"))
	digest := auth.HashKey(key) // what goes in the database
	fmt.Println(len(digest.String()))

	fmt.Println(auth.CheckKey(key[:len(key)-1])) // a character lost in a copy
	// Output:
	// 57 true true
	// 64
	// false
}

// Key functions feed ratelimit and quota the caller's identity.
func ExampleByAccount() {
	store := auth.MustMemoryStore(auth.StaticKey{Key: "sk-team-0123456789", Principal: auth.Principal{KeyID: "k1", Account: "acme"}})
	h := auth.Middleware(store)(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		account, _ := auth.ByAccount(r)
		key, _ := auth.ByKeyID(r)
		fmt.Fprint(w, account, " ", key)
	}))

	call(h, "sk-team-0123456789", "")
	_, err := auth.ByAccount(httptest.NewRequest(http.MethodGet, "/", nil))
	fmt.Println(err)
	// Output:
	// 200 acme k1
	// missing_api_key: This endpoint requires an API key
}
