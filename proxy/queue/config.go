package queue

import (
	"errors"
	"fmt"
	"log/slog"
	"time"

	"github.com/ebb-dev/ebb/proxy/probe"
	"github.com/ebb-dev/ebb/proxy/timeout"
)

// Knative's defaults.
const (
	DefaultQueueDepthFactor = 10
	DefaultDrainQuietPeriod = 30 * time.Second
	DefaultHijackGrace      = 60 * time.Second
	// DefaultIdleConns is how many idle connections to the user container
	// are kept when containerConcurrency is 0 (unlimited).
	DefaultIdleConns = 1000
)

// Config is one queue-proxy: the revision it fronts and how.
type Config struct {
	// Identity, used in metrics labels and stats.
	Namespace, Service, Configuration, Revision, Pod string

	// UserAddr is the user container's host:port (127.0.0.1:$USER_PORT).
	UserAddr string

	// ContainerConcurrency is the hard limit of requests the user container
	// sees at once; 0 means no limit.
	ContainerConcurrency int
	// QueueDepth is how many more requests may wait for a slot; 0 means
	// DefaultQueueDepthFactor × ContainerConcurrency.
	QueueDepth int

	// Timeouts are timeoutSeconds, responseStartTimeoutSeconds and
	// idleTimeoutSeconds.
	Timeouts timeout.Limits

	// FullDuplex lets an HTTP/1 handler read the request body while it
	// writes the response (ENABLE_HTTP_FULL_DUPLEX).
	FullDuplex bool

	// Readiness are the user container's readiness probes; with none, the
	// container is ready when its port accepts connections.
	Readiness []probe.Probe

	// DrainQuietPeriod is how long no new request must arrive before a
	// draining queue-proxy shuts down; 0 means DefaultDrainQuietPeriod.
	DrainQuietPeriod time.Duration
	// HijackGrace bounds the wait for upgraded (WebSocket) connections
	// after shutdown; 0 means DefaultHijackGrace.
	HijackGrace time.Duration

	// Logger receives the queue-proxy's logs; nil discards them.
	Logger *slog.Logger
}

func (c *Config) setDefaults() error {
	if c.UserAddr == "" {
		return errors.New("queue: user address is empty")
	}
	if c.ContainerConcurrency < 0 {
		return fmt.Errorf("queue: container concurrency %d is negative", c.ContainerConcurrency)
	}
	if c.QueueDepth < 0 {
		return fmt.Errorf("queue: queue depth %d is negative", c.QueueDepth)
	}
	if c.QueueDepth == 0 {
		c.QueueDepth = DefaultQueueDepthFactor * c.ContainerConcurrency
	}
	if c.DrainQuietPeriod <= 0 {
		c.DrainQuietPeriod = DefaultDrainQuietPeriod
	}
	if c.HijackGrace <= 0 {
		c.HijackGrace = DefaultHijackGrace
	}
	if c.Logger == nil {
		c.Logger = slog.New(slog.DiscardHandler)
	}
	return nil
}
