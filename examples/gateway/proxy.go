package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"net/http/httputil"
	"net/url"
	"strings"
	"time"

	"github.com/tollgate/tollgate/auth"
	apierrors "github.com/tollgate/tollgate/errors"
)

// newProxy returns a reverse proxy to cfg.Upstream. The client's own
// credentials never leave the gateway: they are replaced by the gateway's
// upstream key. Compression is negotiated by the transport, so the body
// passing back through tollgate is plain and its usage can be read for
// billing. Upstream errors, whatever their dialect, are parsed and written
// again in the gateway's; failures to reach the upstream become
// no_provider_available, and a slow one provider_timeout.
func newProxy(cfg *Config, logger *slog.Logger) (http.Handler, error) {
	target, err := url.Parse(cfg.Upstream)
	if err != nil || (target.Scheme != "http" && target.Scheme != "https") || target.Host == "" {
		return nil, fmt.Errorf("upstream %q: want an http(s) base URL", cfg.Upstream)
	}
	base := strings.TrimSuffix(target.Path, "/")
	// An upstream base of ".../v1" and our routes "/v1/..." must not stack.
	base = strings.TrimSuffix(base, "/v1")
	transport := http.DefaultTransport.(*http.Transport).Clone()
	transport.ResponseHeaderTimeout = time.Duration(cfg.UpstreamTimeout)
	rp := &httputil.ReverseProxy{
		Rewrite: func(pr *httputil.ProxyRequest) {
			pr.Out.URL.Scheme, pr.Out.URL.Host = target.Scheme, target.Host
			pr.Out.URL.Path = base + pr.In.URL.Path
			pr.Out.URL.RawPath = ""
			pr.Out.Host = target.Host
			for _, h := range []string{"Authorization", "X-Api-Key", "X-Goog-Api-Key", "Accept-Encoding", "Cookie"} {
				pr.Out.Header.Del(h)
			}
			if cfg.UpstreamKey != "" {
				pr.Out.Header.Set("Authorization", "Bearer "+cfg.UpstreamKey)
				pr.Out.Header.Set("X-Api-Key", cfg.UpstreamKey)
			}
		},
		Transport:     transport,
		FlushInterval: -1, // stream every write through
		ModifyResponse: func(resp *http.Response) error {
			if resp.StatusCode < 400 {
				return nil
			}
			e, err := apierrors.Parse(resp)
			resp.Body.Close()
			if err != nil {
				return upstreamFailure{apierrors.New(apierrors.CodeReadResponseBodyFailed).WithCause(err)}
			}
			return upstreamFailure{redact(translate(e), cfg.UpstreamKey)}
		},
		ErrorHandler: func(w http.ResponseWriter, r *http.Request, err error) {
			var uf upstreamFailure
			switch {
			case errors.As(err, &uf):
				apierrors.Write(w, r, uf.e)
			case errors.Is(err, context.Canceled) && r.Context().Err() != nil:
				// The client left; nobody is listening.
			case isTimeout(err):
				logger.WarnContext(r.Context(), "upstream timeout", slog.Any("error", err))
				apierrors.Write(w, r, apierrors.New(apierrors.CodeProviderTimeout).WithCause(err))
			default:
				logger.WarnContext(r.Context(), "upstream unreachable", slog.Any("error", err))
				apierrors.Write(w, r, apierrors.New(apierrors.CodeNoProviderAvailable).WithCause(err))
			}
		},
	}
	if logger != nil {
		rp.ErrorLog = slog.NewLogLogger(logger.Handler(), slog.LevelWarn)
	}
	return rp, nil
}

// upstreamFailure carries a translated upstream error from ModifyResponse
// to the ErrorHandler.
type upstreamFailure struct{ e *apierrors.Error }

func (u upstreamFailure) Error() string { return "upstream error: " + u.e.Error() }

// translate maps an upstream's error onto the gateway's catalogue. Client
// errors (the request was wrong) keep their code and message; the
// upstream's own trouble becomes provider_error, without its internals; an
// upstream rate limit is passed on with its delay.
func translate(e *apierrors.Error) *apierrors.Error {
	switch {
	case e.Status == http.StatusTooManyRequests:
		out := apierrors.New(apierrors.CodeUpstreamRateLimited).WithCause(e)
		if e.RetryAfter > 0 {
			out = out.WithRetryAfter(e.RetryAfter)
		}
		return out
	case e.Status == http.StatusUnauthorized || e.Status == http.StatusForbidden:
		// The gateway's upstream key is the problem, not the client's.
		return apierrors.New(apierrors.CodeProviderAPIError).WithCause(e)
	case e.Status == http.StatusGatewayTimeout || e.Status == 524:
		return apierrors.New(apierrors.CodeProviderTimeout).WithCause(e)
	case e.Status >= 500:
		return apierrors.New(apierrors.CodeProviderError).WithCause(e)
	case e.Status == http.StatusUnprocessableEntity:
		return apierrors.New(apierrors.CodeProviderUnprocessable).WithMessage(e.Message).WithCause(e)
	}
	out := *e
	out.Cause = e
	return &out
}

// redact removes the gateway's upstream key from what the client will see
// of an upstream error: upstreams that echo the credentials they were sent
// ("Incorrect API key provided: sk-…") would otherwise hand the gateway's
// own key to every client whose request they refuse. The key becomes its
// Fingerprint; details that mention it are dropped. The cause keeps the
// original for errors.Is, and is never rendered.
func redact(e *apierrors.Error, key string) *apierrors.Error {
	if key == "" {
		return e
	}
	leaks := strings.Contains(e.Message, key) || strings.Contains(e.Param, key) || strings.Contains(e.Issue, key)
	detailsLeak := false
	if len(e.Details) > 0 {
		b, err := json.Marshal(e.Details)
		detailsLeak = err != nil || strings.Contains(string(b), key)
	}
	if !leaks && !detailsLeak {
		return e
	}
	out := *e
	fp := auth.Fingerprint(key)
	out.Message = strings.ReplaceAll(e.Message, key, fp)
	out.Param = strings.ReplaceAll(e.Param, key, fp)
	out.Issue = strings.ReplaceAll(e.Issue, key, fp)
	if detailsLeak {
		out.Details = nil
	}
	return &out
}

func isTimeout(err error) bool {
	var ne net.Error
	return errors.Is(err, context.DeadlineExceeded) || (errors.As(err, &ne) && ne.Timeout())
}
