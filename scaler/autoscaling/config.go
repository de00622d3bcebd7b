package autoscaling

import (
	"fmt"
	"strconv"
	"sync"
	"time"
)

// Config is the cluster-wide autoscaler configuration: the keys of the
// config-autoscaler ConfigMap, parsed and validated.
type Config struct {
	// EnableScaleToZero (enable-scale-to-zero): when false, a decision of 0
	// becomes 1.
	EnableScaleToZero bool

	// ContainerConcurrencyTargetFraction (container-concurrency-target-percentage)
	// is the utilization target for the concurrency metric as a fraction in
	// (0, 1]; the key accepts a percent (> 1) or a fraction.
	ContainerConcurrencyTargetFraction float64
	// ContainerConcurrencyTargetDefault (container-concurrency-target-default)
	// is the per-pod capacity when containerConcurrency is 0.
	ContainerConcurrencyTargetDefault float64
	// TargetUtilization is the utilization for metrics other than
	// concurrency (0.7). No key sets it; the
	// target-utilization-percentage annotation overrides it per revision.
	TargetUtilization float64
	// RPSTargetDefault (requests-per-second-target-default) is the per-pod
	// requests-per-second capacity.
	RPSTargetDefault float64
	// TargetBurstCapacity (target-burst-capacity): spare capacity wanted
	// before the activator leaves the path; -1 keeps it in the path always.
	TargetBurstCapacity float64
	// ActivatorCapacity (activator-capacity) is the concurrency one
	// activator takes, for sizing the activator subset.
	ActivatorCapacity float64

	// AllowZeroInitialScale (allow-zero-initial-scale).
	AllowZeroInitialScale bool
	// InitialScale (initial-scale) is a new revision's size.
	InitialScale int32
	// MinScale (min-scale) and MaxScale (max-scale, 0 = unlimited) are the
	// defaults for revisions without annotations.
	MinScale int32
	MaxScale int32
	// MaxScaleLimit (max-scale-limit, 0 = none) bounds every max-scale.
	MaxScaleLimit int32

	// MaxScaleUpRate (max-scale-up-rate) and MaxScaleDownRate
	// (max-scale-down-rate) bound one tick's change as a ratio of ready pods.
	MaxScaleUpRate   float64
	MaxScaleDownRate float64
	// StableWindow (stable-window).
	StableWindow time.Duration
	// PanicWindowPercentage (panic-window-percentage): the panic window as a
	// percentage of the stable window.
	PanicWindowPercentage float64
	// PanicThresholdPercentage (panic-threshold-percentage).
	PanicThresholdPercentage float64

	// ScaleToZeroGracePeriod (scale-to-zero-grace-period): how long the
	// activator must have been in the path before the last pod goes.
	ScaleToZeroGracePeriod time.Duration
	// ScaleToZeroPodRetentionPeriod (scale-to-zero-pod-retention-period):
	// how long the last pod stays after the revision went inactive.
	ScaleToZeroPodRetentionPeriod time.Duration
	// ScaleDownDelay (scale-down-delay): how long a lower decision must
	// persist before it is applied.
	ScaleDownDelay time.Duration

	// PodAutoscalerClass (pod-autoscaler-class).
	PodAutoscalerClass string
}

// DefaultConfig returns Knative's defaults.
func DefaultConfig() *Config {
	return &Config{
		EnableScaleToZero:                  true,
		ContainerConcurrencyTargetFraction: 0.7,
		ContainerConcurrencyTargetDefault:  100,
		TargetUtilization:                  0.7,
		RPSTargetDefault:                   200,
		MaxScaleUpRate:                     1000,
		MaxScaleDownRate:                   2,
		TargetBurstCapacity:                211,
		PanicWindowPercentage:              10,
		ActivatorCapacity:                  100,
		PanicThresholdPercentage:           200,
		StableWindow:                       60 * time.Second,
		ScaleToZeroGracePeriod:             30 * time.Second,
		ScaleToZeroPodRetentionPeriod:      0,
		ScaleDownDelay:                     0,
		PodAutoscalerClass:                 KPA,
		AllowZeroInitialScale:              false,
		InitialScale:                       1,
		MinScale:                           0,
		MaxScale:                           0,
		MaxScaleLimit:                      0,
	}
}

// NewConfigFromMap parses config-autoscaler data over the defaults. Unknown
// keys are ignored; malformed or out-of-range values are rejected with
// Knative's messages.
func NewConfigFromMap(data map[string]string) (*Config, error) {
	c := DefaultConfig()
	parsers := []func(map[string]string) error{
		asString("pod-autoscaler-class", &c.PodAutoscalerClass),
		asBool("enable-scale-to-zero", &c.EnableScaleToZero),
		asBool("allow-zero-initial-scale", &c.AllowZeroInitialScale),
		asFloat("max-scale-up-rate", &c.MaxScaleUpRate),
		asFloat("max-scale-down-rate", &c.MaxScaleDownRate),
		asFloat("container-concurrency-target-percentage", &c.ContainerConcurrencyTargetFraction),
		asFloat("container-concurrency-target-default", &c.ContainerConcurrencyTargetDefault),
		asFloat("requests-per-second-target-default", &c.RPSTargetDefault),
		asFloat("target-burst-capacity", &c.TargetBurstCapacity),
		asFloat("panic-window-percentage", &c.PanicWindowPercentage),
		asFloat("activator-capacity", &c.ActivatorCapacity),
		asFloat("panic-threshold-percentage", &c.PanicThresholdPercentage),
		asInt32("initial-scale", &c.InitialScale),
		asInt32("min-scale", &c.MinScale),
		asInt32("max-scale", &c.MaxScale),
		asInt32("max-scale-limit", &c.MaxScaleLimit),
		asDuration("stable-window", &c.StableWindow),
		asDuration("scale-down-delay", &c.ScaleDownDelay),
		asDuration("scale-to-zero-grace-period", &c.ScaleToZeroGracePeriod),
		asDuration("scale-to-zero-pod-retention-period", &c.ScaleToZeroPodRetentionPeriod),
	}
	for _, p := range parsers {
		if err := p(data); err != nil {
			return nil, fmt.Errorf("failed to parse data: %w", err)
		}
	}
	// A value above 1 is a percentage, one in (0, 1] already a fraction.
	if c.ContainerConcurrencyTargetFraction > 1.0 {
		c.ContainerConcurrencyTargetFraction /= 100.0
	}
	if err := c.Validate(); err != nil {
		return nil, err
	}
	return c, nil
}

// Validate checks every value against Knative's rules, in Knative's order,
// and returns the first violation.
func (c *Config) Validate() error {
	switch {
	case c.ScaleToZeroGracePeriod <= 0:
		return fmt.Errorf("scale-to-zero-grace-period must be positive, was: %v", c.ScaleToZeroGracePeriod)
	case c.ScaleDownDelay < 0:
		return fmt.Errorf("scale-down-delay cannot be negative, was: %v", c.ScaleDownDelay)
	case c.ScaleDownDelay.Round(time.Second) != c.ScaleDownDelay:
		return fmt.Errorf("scale-down-delay = %v, must be specified with at most second precision", c.ScaleDownDelay)
	case c.ScaleToZeroPodRetentionPeriod < 0:
		return fmt.Errorf("scale-to-zero-pod-retention-period cannot be negative, was: %v", c.ScaleToZeroPodRetentionPeriod)
	case c.TargetBurstCapacity < 0 && c.TargetBurstCapacity != -1:
		return fmt.Errorf("target-burst-capacity must be either non-negative or -1 (for unlimited), was: %f", c.TargetBurstCapacity)
	case c.ContainerConcurrencyTargetFraction <= 0 || c.ContainerConcurrencyTargetFraction > 1:
		return fmt.Errorf("container-concurrency-target-percentage = %f is outside of valid range of (0, 100]", c.ContainerConcurrencyTargetFraction)
	}
	if x := c.ContainerConcurrencyTargetFraction * c.ContainerConcurrencyTargetDefault; x < TargetMin {
		return fmt.Errorf("container-concurrency-target-percentage and container-concurrency-target-default yield target concurrency of %v, can't be less than %v", x, TargetMin)
	}
	switch {
	case c.RPSTargetDefault < TargetMin:
		return fmt.Errorf("requests-per-second-target-default must be at least %v, was: %v", TargetMin, c.RPSTargetDefault)
	case c.ActivatorCapacity < 1:
		return fmt.Errorf("activator-capacity = %v, must be at least 1", c.ActivatorCapacity)
	case c.MaxScaleUpRate <= 1.0:
		return fmt.Errorf("max-scale-up-rate = %v, must be greater than 1.0", c.MaxScaleUpRate)
	case c.MaxScaleDownRate <= 1.0:
		return fmt.Errorf("max-scale-down-rate = %v, must be greater than 1.0", c.MaxScaleDownRate)
	case c.StableWindow < WindowMin || c.StableWindow > WindowMax:
		return fmt.Errorf("stable-window = %v, must be in [%v; %v] range", c.StableWindow, WindowMin, WindowMax)
	case c.StableWindow.Round(time.Second) != c.StableWindow:
		return fmt.Errorf("stable-window = %v, must be specified with at most second precision", c.StableWindow)
	case c.PanicWindowPercentage < PanicWindowPercentageMin || c.PanicWindowPercentage > PanicWindowPercentageMax:
		return fmt.Errorf("panic-window-percentage = %v, must be in [%v, %v] interval", c.PanicWindowPercentage, PanicWindowPercentageMin, PanicWindowPercentageMax)
	case c.InitialScale < 0 || (c.InitialScale == 0 && !c.AllowZeroInitialScale):
		return fmt.Errorf("initial-scale = %v, must be at least 0 (or at least 1 when allow-zero-initial-scale is false)", c.InitialScale)
	case c.MinScale < 0:
		return fmt.Errorf("min-scale = %v, must be at least 0", c.MinScale)
	}
	var minMaxScale int32
	if c.MaxScaleLimit > 0 {
		// A limit requires a default max-scale.
		minMaxScale = 1
	}
	switch {
	case c.MaxScale < minMaxScale || (c.MaxScaleLimit > 0 && c.MaxScale > c.MaxScaleLimit):
		return fmt.Errorf("max-scale = %d, must be in [%d, max-scale-limit(%d)] range", c.MaxScale, minMaxScale, c.MaxScaleLimit)
	case c.MaxScaleLimit < 0:
		return fmt.Errorf("max-scale-limit = %v, must be at least 0", c.MaxScaleLimit)
	case c.MinScale > c.MaxScale && c.MaxScale > 0:
		return fmt.Errorf("min-scale (%d) must be less than max-scale (%d)", c.MinScale, c.MaxScale)
	}
	return nil
}

func asString(key string, target *string) func(map[string]string) error {
	return func(data map[string]string) error {
		if raw, ok := data[key]; ok {
			*target = raw
		}
		return nil
	}
}

func asBool(key string, target *bool) func(map[string]string) error {
	return parseAs(key, target, strconv.ParseBool)
}

func asFloat(key string, target *float64) func(map[string]string) error {
	return parseAs(key, target, func(s string) (float64, error) { return strconv.ParseFloat(s, 64) })
}

func asInt32(key string, target *int32) func(map[string]string) error {
	return parseAs(key, target, func(s string) (int32, error) {
		v, err := strconv.ParseInt(s, 10, 32)
		return int32(v), err
	})
}

func asDuration(key string, target *time.Duration) func(map[string]string) error {
	return parseAs(key, target, time.ParseDuration)
}

func parseAs[T any](key string, target *T, parse func(string) (T, error)) func(map[string]string) error {
	return func(data map[string]string) error {
		raw, ok := data[key]
		if !ok {
			return nil
		}
		v, err := parse(raw)
		if err != nil {
			return fmt.Errorf("failed to parse %q: %w", key, err)
		}
		*target = v
		return nil
	}
}

// Updater holds the configuration in force. A bad update leaves the
// previous configuration in place, as Knative's config store does.
type Updater struct {
	mu  sync.RWMutex
	cur *Config
}

// NewUpdater starts from initial, or from DefaultConfig when it is nil.
func NewUpdater(initial *Config) *Updater {
	if initial == nil {
		initial = DefaultConfig()
	}
	return &Updater{cur: initial}
}

// Update parses data and, only when it is valid, makes it current. It
// returns the configuration in force afterwards and the parse error, if any.
func (u *Updater) Update(data map[string]string) (*Config, error) {
	c, err := NewConfigFromMap(data)
	u.mu.Lock()
	defer u.mu.Unlock()
	if err != nil {
		return u.cur, fmt.Errorf("%s: %w", ConfigName, err)
	}
	u.cur = c
	return c, nil
}

// Current returns the configuration in force. Callers must not modify it.
func (u *Updater) Current() *Config {
	u.mu.RLock()
	defer u.mu.RUnlock()
	return u.cur
}
