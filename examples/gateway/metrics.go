package main

import (
	"errors"
	"net/http"
	"strconv"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	apierrors "github.com/tollgate/tollgate/errors"
	"github.com/tollgate/tollgate/quota"
	"github.com/tollgate/tollgate/ratelimit"
)

// Metrics are the gateway's Prometheus metrics, fed by the middleware
// hooks. A nil *Metrics records nothing.
type Metrics struct {
	registry    *prometheus.Registry
	requests    *prometheus.CounterVec
	latency     *prometheus.HistogramVec
	decisions   *prometheus.CounterVec
	charges     *prometheus.CounterVec
	chargedSum  prometheus.Counter
	refunds     prometheus.Counter
	storeErrors *prometheus.CounterVec
}

// NewMetrics registers the gateway's metrics in a registry of their own.
func NewMetrics() *Metrics {
	m := &Metrics{
		registry: prometheus.NewRegistry(),
		requests: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "tollgate_requests_total", Help: "Requests served, by route and status code.",
		}, []string{"route", "code"}),
		latency: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name: "tollgate_request_duration_seconds", Help: "Time to serve a request, streams included.",
			Buckets: prometheus.ExponentialBuckets(0.0005, 4, 10),
		}, []string{"route"}),
		decisions: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "tollgate_decisions_total", Help: "Requests refused by a layer, by layer and reason.",
		}, []string{"layer", "reason"}),
		charges: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "tollgate_charges_total", Help: "Settled requests, by what the charge was based on.",
		}, []string{"basis"}),
		chargedSum: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "tollgate_charged_microunits_total", Help: "Money charged to balances, in micro-units.",
		}),
		refunds: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "tollgate_refunds_total", Help: "Holds released without a charge (failed requests).",
		}),
		storeErrors: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "tollgate_store_errors_total", Help: "Failures of a state store, by layer.",
		}, []string{"layer"}),
	}
	m.registry.MustRegister(m.requests, m.latency, m.decisions, m.charges, m.chargedSum, m.refunds, m.storeErrors,
		collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	return m
}

// Handler serves the metrics in the Prometheus text format.
func (m *Metrics) Handler() http.Handler {
	return promhttp.HandlerFor(m.registry, promhttp.HandlerOpts{})
}

func (m *Metrics) observe(route string, status int, d time.Duration) {
	if m == nil {
		return
	}
	m.requests.WithLabelValues(route, strconv.Itoa(status)).Inc()
	m.latency.WithLabelValues(route).Observe(d.Seconds())
}

func (m *Metrics) authRejected(e *apierrors.Error) {
	if m != nil {
		m.decisions.WithLabelValues("auth", string(e.Code)).Inc()
	}
}

func (m *Metrics) limited(d ratelimit.Denial) {
	if m != nil {
		m.decisions.WithLabelValues("ratelimit", d.Reason.String()).Inc()
	}
}

func (m *Metrics) refused(r *quota.Refusal) {
	if m == nil {
		return
	}
	reason := "other"
	for _, c := range []struct {
		err  error
		name string
	}{
		{quota.ErrAccountOverdue, "account_overdue"}, {quota.ErrCreditRequired, "credit_required"},
		{quota.ErrInsufficientBalance, "insufficient_balance"}, {quota.ErrQuotaExceeded, "quota_exceeded"},
		{quota.ErrDuplicateRequest, "duplicate_request"},
	} {
		if errors.Is(r, c.err) {
			reason = c.name
			break
		}
	}
	m.decisions.WithLabelValues("quota", reason).Inc()
}

func (m *Metrics) charged(c quota.Charge) {
	if m == nil {
		return
	}
	if c.Basis == quota.Released {
		m.refunds.Inc()
		return
	}
	m.charges.WithLabelValues(c.Basis.String()).Inc()
	if !c.Subscription && !c.Replayed {
		m.chargedSum.Add(float64(c.Cost))
	}
}

func (m *Metrics) storeError(layer string) {
	if m != nil {
		m.storeErrors.WithLabelValues(layer).Inc()
	}
}
