package main

import (
	"context"
	"log/slog"
	"net/http"
	"strings"
	"sync"
	"time"

	"github.com/tollgate/tollgate"
	"github.com/tollgate/tollgate/auth"
	"github.com/tollgate/tollgate/quota"
)

// requestLog collects what the access log line reports but only inner
// layers learn: the billing outcome, set by the quota hook.
type requestLog struct {
	mu     sync.Mutex
	charge *quota.Charge
}

func (l *requestLog) setCharge(c quota.Charge) {
	l.mu.Lock()
	l.charge = &c
	l.mu.Unlock()
}

type requestLogKey struct{}

func requestLogFrom(ctx context.Context) *requestLog {
	l, _ := ctx.Value(requestLogKey{}).(*requestLog)
	return l
}

// accessLog logs one line per request, after it ends: the request ID (from
// the log handler), the route, status, duration, the key's ID and
// fingerprint (never the key), the decision and the charge. It also feeds
// the latency and request metrics.
func (g *Gateway) accessLog(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		start := time.Now()
		w, r, st := tollgate.Begin(w, r)
		rl := &requestLog{}
		r = r.WithContext(context.WithValue(r.Context(), requestLogKey{}, rl))
		defer func() {
			status := st.Status()
			if status == 0 {
				status = 499 // the client left before any answer
			}
			d := time.Since(start)
			g.metrics.observe(route(r.URL.Path), status, d)
			attrs := []slog.Attr{
				slog.String("method", r.Method), slog.String("path", r.URL.Path), slog.Int("status", status),
				slog.Duration("duration", d), slog.String("decision", decision(status)),
			}
			if st.KeyID != "" {
				attrs = append(attrs, slog.String("key_id", st.KeyID), slog.String("account", st.Account))
			}
			if fp := keyFingerprint(r); fp != "" {
				attrs = append(attrs, slog.String("key", fp))
			}
			if st.Model != "" {
				attrs = append(attrs, slog.String("model", st.Model))
			}
			rl.mu.Lock()
			if c := rl.charge; c != nil {
				attrs = append(attrs, slog.String("basis", c.Basis.String()), slog.Int64("cost_micro", c.Cost),
					slog.Int64("input_tokens", c.Usage.InputTokens), slog.Int64("output_tokens", c.Usage.OutputTokens))
			}
			rl.mu.Unlock()
			g.log.LogAttrs(r.Context(), slog.LevelInfo, "request", attrs...)
		}()
		next.ServeHTTP(w, r)
	})
}

// route names a path for metrics without letting clients create labels.
func route(path string) string {
	switch path {
	case "/v1/chat/completions", "/v1/messages", "/v1/models", "/healthz", "/metrics":
		return path
	}
	return "other"
}

func decision(status int) string {
	switch {
	case status < 400:
		return "allowed"
	case status == http.StatusUnauthorized:
		return "unauthenticated"
	case status == http.StatusForbidden:
		return "forbidden"
	case status == http.StatusPaymentRequired:
		return "quota_refused"
	case status == http.StatusTooManyRequests:
		return "rate_limited"
	case status < 500:
		return "bad_request"
	}
	return "failed"
}

// keyFingerprint returns the short fingerprint of the key the client sent
// ("sk-…a1b2"), for logs: enough to tell keys apart, never enough to use one.
func keyFingerprint(r *http.Request) string {
	key := ""
	if v := r.Header.Get("Authorization"); len(v) > 7 && strings.EqualFold(v[:7], "bearer ") {
		key = strings.TrimSpace(v[7:])
	} else if v := r.Header.Get("X-Api-Key"); v != "" {
		key = strings.TrimSpace(v)
	} else if v := r.Header.Get("X-Goog-Api-Key"); v != "" {
		key = strings.TrimSpace(v)
	}
	if key == "" {
		return ""
	}
	return auth.Fingerprint(key)
}
