package queuecmd

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net"
	"strconv"
	"time"

	"github.com/ebb-dev/ebb/proxy/probe"
	"github.com/ebb-dev/ebb/proxy/queue"
	"github.com/ebb-dev/ebb/proxy/timeout"
)

// Exit codes, the same as every ebb subcommand's.
const (
	ExitOK      = 0
	ExitInvalid = 1 // the configuration is invalid or a port cannot be opened
	ExitUsage   = 2 // the command line or the environment is wrong
)

// Ports are where the queue-proxy listens; -1 disables one.
type Ports struct {
	Host                             string
	HTTP, H2C, Admin, Stats, Metrics int
}

// Config maps Knative's queue-proxy environment (and flags, which
// override it) to a queue.Config and the ports to listen on. Its Logger is
// left nil.
func Config(getenv func(string) string, args []string) (queue.Config, Ports, error) {
	var cfg queue.Config
	p := Ports{HTTP: 8012, H2C: 8013, Admin: 8022, Stats: 9090, Metrics: 9091}
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
	if p.HTTP, err = intEnv("QUEUE_SERVING_PORT", 8012); err != nil {
		return cfg, p, err
	}
	if p.HTTP == 8013 {
		p.H2C = -1
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
	fs.SetOutput(io.Discard)
	fs.StringVar(&p.Host, "host", "", "address to listen on (all interfaces when empty)")
	fs.IntVar(&p.HTTP, "http-port", p.HTTP, "HTTP/1 (and h2c) proxy port (QUEUE_SERVING_PORT)")
	fs.IntVar(&p.H2C, "h2c-port", p.H2C, "h2c (and HTTP/1) proxy port; -1 disables")
	fs.IntVar(&p.Admin, "admin-port", p.Admin, "admin port (/wait-for-drain); -1 disables")
	fs.IntVar(&p.Stats, "stats-port", p.Stats, "autoscaler stats port; -1 disables")
	fs.IntVar(&p.Metrics, "metrics-port", p.Metrics, "Prometheus metrics port; -1 disables")
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

// logLevel parses SERVING_LOGGING_LEVEL; anything unknown is info.
func logLevel(s string) slog.Level {
	var l slog.Level
	if l.UnmarshalText([]byte(s)) != nil {
		return slog.LevelInfo
	}
	return l
}

// Run is `ebb queue`: the queue-proxy sidecar, configured by Knative's
// environment variables and args (flags only). It logs JSON to stderr and
// serves until ctx ends (SIGTERM in a pod), then drains; after traffic,
// its first quiet second returns freed memory to the OS (idleRelease). It
// returns an exit code.
func Run(ctx context.Context, stderr io.Writer, getenv func(string) string, args []string) int {
	return run(ctx, stderr, getenv, args, queue.Listeners{})
}

// run is Run serving on the listeners given, where given, and on the
// configured ports for the rest.
func run(ctx context.Context, stderr io.Writer, getenv func(string) string, args []string, given queue.Listeners) int {
	cfg, ports, err := Config(getenv, args)
	if err != nil {
		fmt.Fprintln(stderr, err)
		if errors.Is(err, flag.ErrHelp) {
			return ExitOK
		}
		return ExitUsage
	}
	cfg.Logger = slog.New(slog.NewJSONHandler(stderr, &slog.HandlerOptions{Level: logLevel(getenv("SERVING_LOGGING_LEVEL"))}))
	s, err := queue.New(cfg)
	if err != nil {
		fmt.Fprintln(stderr, "ebb queue:", err)
		return ExitInvalid
	}
	l := given
	var opened []net.Listener
	var addrs []any
	for _, x := range []struct {
		name string
		port int
		dst  *net.Listener
	}{{"http", ports.HTTP, &l.HTTP}, {"h2c", ports.H2C, &l.H2C}, {"admin", ports.Admin, &l.Admin},
		{"stats", ports.Stats, &l.Stats}, {"metrics", ports.Metrics, &l.Metrics}} {
		if *x.dst != nil {
			addrs = append(addrs, x.name, (*x.dst).Addr().String())
			continue
		}
		if x.port < 0 {
			continue
		}
		lis, err := net.Listen("tcp", net.JoinHostPort(ports.Host, strconv.Itoa(x.port)))
		if err != nil {
			for _, o := range opened {
				o.Close()
			}
			fmt.Fprintln(stderr, "ebb queue:", err)
			return ExitInvalid
		}
		opened = append(opened, lis)
		*x.dst = lis
		addrs = append(addrs, x.name, lis.Addr().String())
	}
	cfg.Logger.Info("queue-proxy serving", append([]any{"revision", cfg.Revision, "user", cfg.UserAddr,
		"containerConcurrency", cfg.ContainerConcurrency}, addrs...)...)
	releaseCtx, stopRelease := context.WithCancel(ctx)
	releaseDone := make(chan struct{})
	go func() {
		defer close(releaseDone)
		releaseWhenIdle(releaseCtx, s.Stat, freeHeap)
	}()
	err = s.Serve(ctx, l)
	stopRelease()
	<-releaseDone
	if err != nil {
		fmt.Fprintln(stderr, "ebb queue:", err)
		return ExitInvalid
	}
	return ExitOK
}
