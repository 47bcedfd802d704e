// Package auth authenticates API keys for an AI-API gateway: it finds the
// key in the request, looks it up by its SHA-256 digest, enforces the key's
// lifecycle and permissions, and hands the caller's identity to the layers
// below.
//
// # The request's path
//
// An [Authenticator] (or [Middleware]) reads the key from the configured
// [Source]s, by default Authorization: Bearer, x-api-key and
// x-goog-api-key. It tolerates what people paste (surrounding spaces, a
// trailing newline, "bearer" in any case) and refuses the rest with a 401
// invalid_api_key that says what is wrong: an empty token, a key longer
// than the bound, characters no key holds, or two different keys in one
// request. It then asks a [KeyStore] for the key's [Principal] by
// [HashKey] and refuses, each with its own catalogue code, an unknown,
// revoked or expired key, a suspended account, a missing scope, a client
// address outside the key's allow-list and, with [CheckModel], a model the
// key may not use. A store failure is a 503, never a panic. Every refusal is
// written by apierrors.Write in the request's dialect.
//
// On success the [Principal] is in the context ([PrincipalFrom]) and its
// key ID, account and plan are in the request's tollgate.State, where the
// key functions [ByKeyID], [ByAccount] and [ByPlan] read them for the
// ratelimit and quota packages, which do not import this one.
//
// # Keys
//
// [GenerateKey] makes keys of a prefix, 32 random bytes in base62 and a
// checksum, so that [CheckKey] (and [VerifyChecksum]) refuse typos before
// any lookup. Store only the digest. A key is never written to an error, a
// log or a panic by this package; [Fingerprint] ("sk-…a1b2") is what it
// writes instead.
//
// # Stores
//
// [MemoryStore] holds keys given in code ([StaticKey]) or read from a JSON
// file ([LoadKeys], [LoadMemoryStore]). Any database fits behind the
// one-method [KeyStore] interface ([KeyStoreFunc]); [NewCachedStore] puts a
// cache in front of a slow one, with a TTL, negative caching of unknown
// keys and one shared lookup for a burst of requests with the same new
// key.
//
// # The model check
//
// [ModelFromJSON] reads the "model" member of a JSON body with a bounded
// peek and gives the handler the complete body, the peeked bytes followed
// by the unread rest, so a large body is never held twice.
// [ModelFromPath] reads it from a path such as Gemini's
// /v1beta/models/{model}:generateContent.
package auth
