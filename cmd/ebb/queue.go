package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"log/slog"
	"net"
	"strconv"
	"time"

	"github.com/ebb-dev/ebb/proxy/probe"
	"github.com/ebb-dev/ebb/proxy/queue"
	"github.com/ebb-dev/ebb/proxy/timeout"
)

// queuePorts are where `ebb queue` listens; -1 disables one.
type queuePorts struct {
	host                             string
	http, h2c, admin, stats, metrics int
}

// queueConfig maps Knative's queue-proxy environment (and flags, which
// override it) to a queue.Config.
func queueConfig(getenv func(string) string, args []string) (queue.Config, queuePorts, error) {
	var cfg queue.Config
	p := queuePorts{http: 8012, h2c: 8013, admin: 8022, stats: 9090, metrics: 9091}
	intEnv := func(name string, def int) (int, error) {
		v := getenv(name)
		if v == "" {
			return def, nil
		}
		n, err := strconv.Atoi(v)
		if err != nil || n < 0 {
			return 0, fmt.Errorf("env %s=%q: want a non-negative integer", name, v)
		}
		return n, nil
	}
	var err error
	if p.http, err = intEnv("QUEUE_SERVING_PORT", 8012); err != nil {
		return cfg, p, err
	}
	if p.http == 8013 {
		p.h2c = -1
	}
	userPort, err := intEnv("USER_PORT", 8080)
	if err != nil {
		return cfg, p, err
	}
	if cfg.ContainerConcurrency, err = intEnv("CONTAINER_CONCURRENCY", 0); err != nil {
		return cfg, p, err
	}
	secs := map[string]*int{}
	for _, name := range []string{"REVISION_TIMEOUT_SECONDS", "REVISION_RESPONSE_START_TIMEOUT_SECONDS", "REVISION_IDLE_TIMEOUT_SECONDS"} {
		def := 0
		if name == "REVISION_TIMEOUT_SECONDS" {
			def = 300
		}
		n, err := intEnv(name, def)
		if err != nil {
			return cfg, p, err
		}
		secs[name] = &n
	}
	if cfg.Readiness, err = probe.Parse(getenv("SERVING_READINESS_PROBE")); err != nil {
		return cfg, p, fmt.Errorf("env SERVING_READINESS_PROBE: %w", err)
	}
	cfg.FullDuplex = getenv("ENABLE_HTTP_FULL_DUPLEX") == "true"
	cfg.Namespace = getenv("SERVING_NAMESPACE")
	cfg.Service = getenv("SERVING_SERVICE")
	cfg.Configuration = getenv("SERVING_CONFIGURATION")
	cfg.Revision = getenv("SERVING_REVISION")
	cfg.Pod = getenv("SERVING_POD")

	fs := flag.NewFlagSet("queue", flag.ContinueOnError)
	fs.SetOutput(discard{})
	fs.StringVar(&p.host, "host", "", "address to listen on (all interfaces when empty)")
	fs.IntVar(&p.http, "http-port", p.http, "HTTP/1 (and h2c) proxy port (QUEUE_SERVING_PORT)")
	fs.IntVar(&p.h2c, "h2c-port", p.h2c, "h2c (and HTTP/1) proxy port; -1 disables")
	fs.IntVar(&p.admin, "admin-port", p.admin, "admin port (/wait-for-drain); -1 disables")
	fs.IntVar(&p.stats, "stats-port", p.stats, "autoscaler stats port; -1 disables")
	fs.IntVar(&p.metrics, "metrics-port", p.metrics, "Prometheus metrics port; -1 disables")
	fs.IntVar(&userPort, "user-port", userPort, "user container port on 127.0.0.1 (USER_PORT)")
	fs.IntVar(&cfg.ContainerConcurrency, "container-concurrency", cfg.ContainerConcurrency, "CONTAINER_CONCURRENCY; 0 = unlimited")
	fs.IntVar(&cfg.QueueDepth, "queue-depth", 0, "requests that may wait for a slot; 0 = 10 × container concurrency")
	fs.IntVar(secs["REVISION_TIMEOUT_SECONDS"], "timeout-seconds", *secs["REVISION_TIMEOUT_SECONDS"], "REVISION_TIMEOUT_SECONDS")
	fs.IntVar(secs["REVISION_RESPONSE_START_TIMEOUT_SECONDS"], "response-start-timeout-seconds", *secs["REVISION_RESPONSE_START_TIMEOUT_SECONDS"], "REVISION_RESPONSE_START_TIMEOUT_SECONDS")
	fs.IntVar(secs["REVISION_IDLE_TIMEOUT_SECONDS"], "idle-timeout-seconds", *secs["REVISION_IDLE_TIMEOUT_SECONDS"], "REVISION_IDLE_TIMEOUT_SECONDS")
	fs.DurationVar(&cfg.DrainQuietPeriod, "drain-quiet-period", queue.DefaultDrainQuietPeriod, "how long no request must arrive before shutdown")
	if err := fs.Parse(args); err != nil {
		return cfg, p, fmt.Errorf("ebb queue: %w", err)
	}
	if fs.NArg() > 0 {
		return cfg, p, fmt.Errorf("ebb queue: unexpected argument %q", fs.Arg(0))
	}
	if userPort <= 0 || userPort > 65535 {
		return cfg, p, fmt.Errorf("user port %d out of range", userPort)
	}
	cfg.UserAddr = net.JoinHostPort("127.0.0.1", strconv.Itoa(userPort))
	cfg.Timeouts = timeout.Limits{
		Total:         time.Duration(*secs["REVISION_TIMEOUT_SECONDS"]) * time.Second,
		ResponseStart: time.Duration(*secs["REVISION_RESPONSE_START_TIMEOUT_SECONDS"]) * time.Second,
		Idle:          time.Duration(*secs["REVISION_IDLE_TIMEOUT_SECONDS"]) * time.Second,
	}
	return cfg, p, nil
}

type discard struct{}

func (discard) Write(b []byte) (int, error) { return len(b), nil }

func logLevel(s string) slog.Level {
	var l slog.Level
	if l.UnmarshalText([]byte(s)) != nil {
		return slog.LevelInfo
	}
	return l
}

// runQueue is `ebb queue`: the queue-proxy sidecar, configured by Knative's
// environment variables. It serves until SIGTERM, then drains.
func runQueue(ctx context.Context, e *env, args []string) int {
	cfg, ports, err := queueConfig(e.getenv, args)
	if err != nil {
		fmt.Fprintln(e.stderr, err)
		if errors.Is(err, flag.ErrHelp) {
			return exitOK
		}
		return exitUsage
	}
	cfg.Logger = slog.New(slog.NewJSONHandler(e.stderr, &slog.HandlerOptions{Level: logLevel(e.getenv("SERVING_LOGGING_LEVEL"))}))
	s, err := queue.New(cfg)
	if err != nil {
		fmt.Fprintln(e.stderr, "ebb queue:", err)
		return exitInvalid
	}
	var l queue.Listeners
	var opened []net.Listener
	for _, x := range []struct {
		port int
		dst  *net.Listener
	}{{ports.http, &l.HTTP}, {ports.h2c, &l.H2C}, {ports.admin, &l.Admin}, {ports.stats, &l.Stats}, {ports.metrics, &l.Metrics}} {
		if x.port < 0 {
			continue
		}
		lis, err := net.Listen("tcp", net.JoinHostPort(ports.host, strconv.Itoa(x.port)))
		if err != nil {
			for _, o := range opened {
				o.Close()
			}
			fmt.Fprintln(e.stderr, "ebb queue:", err)
			return exitInvalid
		}
		opened = append(opened, lis)
		*x.dst = lis
	}
	cfg.Logger.Info("queue-proxy serving", "revision", cfg.Revision, "user", cfg.UserAddr, "containerConcurrency", cfg.ContainerConcurrency)
	if err := s.Serve(ctx, l); err != nil {
		fmt.Fprintln(e.stderr, "ebb queue:", err)
		return exitInvalid
	}
	return exitOK
}
