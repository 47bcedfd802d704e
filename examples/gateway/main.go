// Command gateway is tollgate's demo: an OpenAI-compatible gateway built only
// from tollgate's middleware — API keys, rate and token limits, concurrency
// limits, prepaid balances and subscription quotas, error envelopes in the
// configured dialect, SSE keep-alives — in front of a built-in fake model or,
// with -upstream, any OpenAI-compatible API.
//
//	go run ./examples/gateway                     in memory, the example config
//	go run ./examples/gateway -config my.json     your keys, plans and prices
//	go run ./examples/gateway -upstream https://api.example.com/v1 -upstream-key-env UPSTREAM_KEY
//	go run ./examples/gateway -redis redis://127.0.0.1:6379/0   state shared by replicas
//
// See README.md in this directory for the routes, the config schema and a
// curl transcript.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"os/signal"
	"syscall"
	"time"

	"github.com/tollgate/tollgate"
)

func main() {
	if err := run(context.Background(), os.Args[1:], os.Stdout, os.Stderr); err != nil {
		fmt.Fprintln(os.Stderr, "gateway:", err)
		os.Exit(1)
	}
}

// options are the command line; a flag overrides the config file.
type options struct {
	config, listen, dialect, upstream, upstreamKeyEnv, redis, logLevel string
	keepAlive                                                          time.Duration
}

func parseFlags(args []string, stderr io.Writer) (options, error) {
	var o options
	fs := flag.NewFlagSet("gateway", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.StringVar(&o.config, "config", "", "JSON config file (default: the built-in config.example.json)")
	fs.StringVar(&o.listen, "listen", "", "address to listen on (default 127.0.0.1:8080)")
	fs.StringVar(&o.dialect, "dialect", "", "error dialect: openai, anthropic, google, zenmux, meta, typed, flat, problem")
	fs.StringVar(&o.upstream, "upstream", "", "proxy to this OpenAI-compatible base URL instead of the fake model")
	fs.StringVar(&o.upstreamKeyEnv, "upstream-key-env", "", "environment variable holding the upstream API key")
	fs.StringVar(&o.redis, "redis", "", "share limits and balances through Redis (redis://host:port/db)")
	fs.DurationVar(&o.keepAlive, "keepalive", 0, "SSE keep-alive interval (default 10s)")
	fs.StringVar(&o.logLevel, "log-level", "info", "debug, info, warn or error")
	return o, fs.Parse(args)
}

func (o options) apply(c *Config) error {
	if o.listen != "" {
		c.Listen = o.listen
	}
	if o.dialect != "" {
		c.Dialect = o.dialect
	}
	if o.upstream != "" {
		c.Upstream = o.upstream
	}
	if o.upstreamKeyEnv != "" {
		c.UpstreamKey = os.Getenv(o.upstreamKeyEnv)
		if c.UpstreamKey == "" {
			return fmt.Errorf("%s is empty", o.upstreamKeyEnv)
		}
	}
	if o.redis != "" {
		c.Redis = o.redis
	}
	if o.keepAlive > 0 {
		c.KeepAlive = Duration(o.keepAlive)
	}
	return c.validate()
}

func run(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	o, err := parseFlags(args, stderr)
	if err != nil {
		return err
	}
	cfg, err := loadConfig(o.config)
	if err != nil {
		return err
	}
	if err := o.apply(cfg); err != nil {
		return err
	}
	var level slog.Level
	if err := level.UnmarshalText([]byte(o.logLevel)); err != nil {
		return err
	}
	logger := slog.New(tollgate.LogHandler(slog.NewJSONHandler(stderr, &slog.HandlerOptions{Level: level})))

	stores, err := openStores(ctx, cfg)
	if err != nil {
		return err
	}
	defer stores.Close()
	gw, err := NewGateway(cfg, stores, nil, logger, NewMetrics())
	if err != nil {
		return err
	}
	if err := gw.Fund(ctx); err != nil {
		return err
	}

	ln, err := net.Listen("tcp", cfg.Listen)
	if err != nil {
		return err
	}
	srv := &http.Server{Handler: gw, ReadHeaderTimeout: 10 * time.Second, ErrorLog: slog.NewLogLogger(logger.Handler(), slog.LevelWarn)}
	printBanner(stdout, ln.Addr().String(), cfg, o.config == "")

	ctx, stop := signal.NotifyContext(ctx, os.Interrupt, syscall.SIGTERM)
	defer stop()
	serveErr := make(chan error, 1)
	go func() { serveErr <- srv.Serve(ln) }()
	select {
	case err := <-serveErr:
		return err
	case <-ctx.Done():
	}
	// Shutdown waits for in-flight requests, and each settles its charge
	// before its handler chain returns, so no charge is lost on the way out.
	logger.Info("shutting down: waiting for in-flight requests to settle")
	shutdownCtx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if err := srv.Shutdown(shutdownCtx); err != nil && !errors.Is(err, http.ErrServerClosed) {
		return err
	}
	logger.Info("stopped")
	return nil
}

func openStores(ctx context.Context, cfg *Config) (Stores, error) {
	if cfg.Redis != "" {
		return redisStores(ctx, cfg.Redis, time.Duration(cfg.ReceiptTTL))
	}
	return memoryStores(nil, time.Duration(cfg.ReceiptTTL))
}

// printBanner tells a newcomer where the gateway listens and, with the
// built-in demo config, which keys to try.
func printBanner(w io.Writer, addr string, cfg *Config, demo bool) {
	fmt.Fprintf(w, "tollgate demo gateway listening on http://%s (dialect %s", addr, cfg.Dialect)
	if cfg.Upstream != "" {
		fmt.Fprintf(w, ", proxying to %s", cfg.Upstream)
	}
	if cfg.Redis != "" {
		fmt.Fprint(w, ", state in Redis")
	}
	fmt.Fprintln(w, ")")
	if !demo {
		return
	}
	fmt.Fprintln(w, "demo keys (from the built-in config.example.json):")
	for _, k := range cfg.Keys {
		if k.Key != "" {
			fmt.Fprintf(w, "  %-8s %s  (account %s, plan %s)\n", k.Principal.KeyID, k.Key, k.Principal.Account, k.Principal.Plan)
		}
	}
	fmt.Fprintf(w, "try:\n  curl -s http://%s/v1/chat/completions -H 'Authorization: Bearer %s' \\\n    -d '{\"model\":\"fake-echo\",\"messages\":[{\"role\":\"user\",\"content\":\"hello\"}]}'\n", addr, cfg.Keys[0].Key)
}
