package main

import (
	"bytes"
	_ "embed"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"strconv"
	"strings"
	"time"

	"github.com/tollgate/tollgate/auth"
	apierrors "github.com/tollgate/tollgate/errors"
	"github.com/tollgate/tollgate/quota"
	"github.com/tollgate/tollgate/ratelimit"
)

// defaultConfig is config.example.json, used when no -config is given, so
// that `go run ./examples/gateway` works on a fresh clone.
//
//go:embed config.example.json
var defaultConfig []byte

// Config is the gateway's configuration file. See config.example.json and
// README.md for the schema; every field is optional but keys.
type Config struct {
	// Listen is the address to serve on.
	Listen string `json:"listen"`
	// Dialect is the error dialect of the OpenAI-compatible routes:
	// openai, anthropic, google, zenmux, meta, typed, flat or problem.
	// /v1/messages always speaks anthropic.
	Dialect string `json:"dialect"`
	// RequestIDHeader names the request-ID header read and written.
	RequestIDHeader string `json:"request_id_header"`
	// RateLimitHeaders lists the header families sent: "x-ratelimit",
	// "ietf", "openai".
	RateLimitHeaders []string `json:"rate_limit_headers"`
	// KeepAlive is the SSE keep-alive interval ("10s"), KeepAliveComment its text.
	KeepAlive        Duration `json:"keep_alive"`
	KeepAliveComment string   `json:"keep_alive_comment"`
	// Upstream, when set, makes the gateway a reverse proxy in front of
	// that OpenAI-compatible base URL instead of answering with the fake
	// model; UpstreamKey is sent to it as the bearer token.
	Upstream        string   `json:"upstream"`
	UpstreamKey     string   `json:"upstream_key"`
	UpstreamTimeout Duration `json:"upstream_timeout"`
	// Redis, when set (redis://host:port/db), shares limits and ledgers
	// through Redis.
	Redis string `json:"redis"`
	// ReceiptTTL is how long a settled request's ID is remembered, so that
	// a replayed settlement or a reused request ID is recognised. Memory
	// grows with requests per second × ReceiptTTL: about 180 bytes of RSS
	// per request, so 1,000 requests/s for the default 15m is about 160 MB.
	ReceiptTTL Duration `json:"receipt_ttl"`
	// Models prices each model; a model not listed is refused.
	Models map[string]ModelConfig `json:"models"`
	// Plans are the limits and subscription quotas keys inherit.
	Plans map[string]PlanConfig `json:"plans"`
	// Accounts hold the starting balances.
	Accounts map[string]AccountConfig `json:"accounts"`
	// Keys are the API keys, in the auth package's key-file format.
	Keys []auth.StaticKey `json:"keys"`
}

// ModelConfig is a model's price, in dollars as exact decimal strings.
type ModelConfig struct {
	InputPerMillion  Money `json:"input_per_million"`
	OutputPerMillion Money `json:"output_per_million"`
	CachedPerMillion Money `json:"cached_per_million"`
	PerRequest       Money `json:"per_request"`
	// MaxOutput caps the output tokens a request may ask for; the quota
	// estimate uses it when the request names none.
	MaxOutput int64 `json:"max_output"`
}

// PlanConfig is one plan's limits. Zero means no limit. RPM allows a burst
// of RPM requests at once unless Burst says otherwise (Burst 1 spaces
// requests evenly, 60/RPM seconds apart).
type PlanConfig struct {
	RPM         int64          `json:"rpm"`
	Burst       int64          `json:"burst"`
	TPM         int64          `json:"tpm"`
	Concurrency int64          `json:"concurrency"`
	Windows     []WindowConfig `json:"windows"`
	// Fallback lets an exhausted subscription spend the balance.
	Fallback bool `json:"fallback"`
}

// WindowConfig is one subscription quota: Max of Unit per Window, where
// Window is a rolling duration ("5h", "168h") or "daily"/"monthly"
// (calendar, in TimeZone).
type WindowConfig struct {
	Name     string `json:"name"`
	Window   string `json:"window"`
	TimeZone string `json:"time_zone"`
	Unit     string `json:"unit"`
	Max      int64  `json:"max"`
}

// AccountConfig is an account's starting balance.
type AccountConfig struct {
	Balance Money `json:"balance"`
}

// Duration is a time.Duration written as "10s" in JSON.
type Duration time.Duration

// UnmarshalJSON reads a Go duration string.
func (d *Duration) UnmarshalJSON(b []byte) error {
	var s string
	if err := json.Unmarshal(b, &s); err != nil {
		return fmt.Errorf("duration must be a string such as \"10s\": %w", err)
	}
	v, err := time.ParseDuration(s)
	if err != nil || v < 0 {
		return fmt.Errorf("invalid duration %q", s)
	}
	*d = Duration(v)
	return nil
}

// Money is an amount in micro-units written as a decimal string of dollars
// ("5.00", "0.000150"): exact, never a float.
type Money int64

// UnmarshalJSON reads a decimal string with at most six decimals.
func (m *Money) UnmarshalJSON(b []byte) error {
	var s string
	if err := json.Unmarshal(b, &s); err != nil {
		return fmt.Errorf("money must be a decimal string such as \"5.00\": %w", err)
	}
	v, err := parseMoney(s)
	if err != nil {
		return err
	}
	*m = Money(v)
	return nil
}

// parseMoney turns "12.345678" into 12345678 micro-units.
func parseMoney(s string) (int64, error) {
	neg := strings.HasPrefix(s, "-")
	whole, frac, _ := strings.Cut(strings.TrimPrefix(s, "-"), ".")
	if whole == "" || len(frac) > 6 || strings.ContainsAny(whole+frac, "+-_ ") {
		return 0, fmt.Errorf("invalid amount %q: want dollars with at most six decimals", s)
	}
	w, err := strconv.ParseInt(whole, 10, 64)
	if err != nil || w > (1<<63-1)/quota.Micro-1 {
		return 0, fmt.Errorf("invalid amount %q", s)
	}
	var f int64
	if frac != "" {
		if f, err = strconv.ParseInt(frac+strings.Repeat("0", 6-len(frac)), 10, 64); err != nil {
			return 0, fmt.Errorf("invalid amount %q", s)
		}
	}
	v := w*quota.Micro + f
	if neg {
		v = -v
	}
	return v, nil
}

// maxConfigBytes bounds a config file.
const maxConfigBytes = 4 << 20

// parseConfig decodes and validates a config file. Unknown fields are an
// error, so a typo does not silently disable a limit.
func parseConfig(data []byte) (*Config, error) {
	if len(data) > maxConfigBytes {
		return nil, fmt.Errorf("config: larger than %d bytes", maxConfigBytes)
	}
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.DisallowUnknownFields()
	var c Config
	if err := dec.Decode(&c); err != nil {
		return nil, fmt.Errorf("config: %w", err)
	}
	if dec.More() {
		return nil, errors.New("config: trailing data after the JSON object")
	}
	c.applyDefaults()
	if err := c.validate(); err != nil {
		return nil, fmt.Errorf("config: %w", err)
	}
	return &c, nil
}

func loadConfig(path string) (*Config, error) {
	if path == "" {
		return parseConfig(defaultConfig)
	}
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	return parseConfig(data)
}

func (c *Config) applyDefaults() {
	if c.Listen == "" {
		c.Listen = "127.0.0.1:8080"
	}
	if c.Dialect == "" {
		c.Dialect = "openai"
	}
	if c.RequestIDHeader == "" {
		c.RequestIDHeader = "X-Request-ID"
	}
	if c.RateLimitHeaders == nil {
		c.RateLimitHeaders = []string{"x-ratelimit", "ietf", "openai"}
	}
	if c.KeepAlive == 0 {
		c.KeepAlive = Duration(10 * time.Second)
	}
	if c.KeepAliveComment == "" {
		c.KeepAliveComment = "PROCESSING"
	}
	if c.ReceiptTTL == 0 {
		c.ReceiptTTL = Duration(15 * time.Minute)
	}
	if c.UpstreamTimeout == 0 {
		c.UpstreamTimeout = Duration(2 * time.Minute)
	}
}

func (c *Config) validate() error {
	if _, ok := apierrors.ParseDialect(c.Dialect); !ok {
		return fmt.Errorf("unknown dialect %q", c.Dialect)
	}
	for _, f := range c.RateLimitHeaders {
		if f != "x-ratelimit" && f != "ietf" && f != "openai" {
			return fmt.Errorf("unknown rate-limit header family %q", f)
		}
	}
	if len(c.Keys) == 0 {
		return errors.New("no keys")
	}
	if len(c.Models) == 0 {
		return errors.New("no models")
	}
	for name, p := range c.Plans {
		if p.RPM < 0 || p.TPM < 0 || p.Concurrency < 0 || p.Burst < 0 {
			return fmt.Errorf("plan %q: negative limit", name)
		}
		if err := p.checkRates(); err != nil {
			return fmt.Errorf("plan %q: %w", name, err)
		}
		if _, err := p.quotaPlan(); err != nil {
			return fmt.Errorf("plan %q: %w", name, err)
		}
	}
	for name, m := range c.Models {
		if m.InputPerMillion < 0 || m.OutputPerMillion < 0 || m.CachedPerMillion < 0 || m.PerRequest < 0 || m.MaxOutput < 0 {
			return fmt.Errorf("model %q: negative price or max_output", name)
		}
	}
	for name, a := range c.Accounts {
		if a.Balance < 0 {
			return fmt.Errorf("account %q: negative balance", name)
		}
	}
	for i, k := range c.Keys {
		if k.Principal.Plan != "" {
			if _, ok := c.Plans[k.Principal.Plan]; !ok {
				return fmt.Errorf("key %d (%s): unknown plan %q", i, k.Principal.KeyID, k.Principal.Plan)
			}
		}
	}
	return nil
}

// checkRates refuses rates a token bucket cannot hold: more than one
// request or token a nanosecond, or a burst whose refill outlasts
// ratelimit.MaxWindow. Without it such a plan would pass validation and
// make NewGateway panic.
func (p PlanConfig) checkRates() error {
	if p.RPM > 0 {
		l := ratelimit.PerMinute(p.RPM)
		if p.Burst > 0 {
			l.Burst = p.Burst
		}
		if l.Validate() != nil {
			return fmt.Errorf("rpm %d with burst %d is not a rate the limiter can hold", p.RPM, p.Burst)
		}
	}
	if p.TPM > 0 && ratelimit.PerMinute(p.TPM).Validate() != nil {
		return fmt.Errorf("tpm %d is not a rate the limiter can hold", p.TPM)
	}
	return nil
}

// quotaPlan turns the plan's windows into a quota.Plan.
func (p PlanConfig) quotaPlan() (quota.Plan, error) {
	plan := quota.Plan{Fallback: p.Fallback}
	for _, w := range p.Windows {
		l := quota.Limit{Name: w.Name, Max: w.Max}
		loc := time.UTC
		if w.TimeZone != "" {
			var err error
			if loc, err = time.LoadLocation(w.TimeZone); err != nil {
				return plan, fmt.Errorf("window %q: %w", w.Name, err)
			}
		}
		switch w.Window {
		case "daily":
			l.Window = quota.Daily(loc)
		case "monthly":
			l.Window = quota.Monthly(loc)
		default:
			d, err := time.ParseDuration(w.Window)
			if err != nil {
				return plan, fmt.Errorf("window %q: %q is neither daily, monthly nor a duration", w.Name, w.Window)
			}
			l.Window = quota.Rolling(d)
		}
		switch w.Unit {
		case "requests":
			l.Unit = quota.Requests
		case "tokens":
			l.Unit = quota.Tokens
		case "money":
			l.Unit = quota.Money
		default:
			return plan, fmt.Errorf("window %q: unit %q is not requests, tokens or money", w.Name, w.Unit)
		}
		plan.Limits = append(plan.Limits, l)
	}
	return plan, plan.Validate()
}
