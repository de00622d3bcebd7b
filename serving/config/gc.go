package config

import (
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/robfig/cron/v3"
)

// Disabled values in config-gc.
const (
	// DisabledDuration marks a retain-since-* key set to "disabled".
	DisabledDuration time.Duration = -1
	// DisabledCount marks max-non-active-revisions set to "disabled".
	DisabledCount int64 = -1
)

// DefaultGCSchedule is how often ebb's garbage collection runs.
const DefaultGCSchedule = "@hourly"

// GC is config-gc plus ebb's schedule key.
type GC struct {
	// RetainSinceCreateTime is DisabledDuration when "disabled".
	RetainSinceCreateTime time.Duration
	// RetainSinceLastActiveTime is DisabledDuration when "disabled".
	RetainSinceLastActiveTime time.Duration
	MinNonActiveRevisions     int64
	// MaxNonActiveRevisions is DisabledCount when "disabled".
	MaxNonActiveRevisions int64

	// Schedule is ebb's own key: a cron line (5 fields) or a descriptor
	// such as "@hourly" or "@every 10m".
	Schedule string
	// Cron is Schedule parsed.
	Cron cron.Schedule
}

var cronParser = cron.NewParser(cron.Minute | cron.Hour | cron.Dom | cron.Month | cron.Dow | cron.Descriptor)

// DefaultGC returns Knative's config-gc defaults and an hourly schedule.
func DefaultGC() *GC {
	s, err := cronParser.Parse(DefaultGCSchedule)
	if err != nil {
		panic(err)
	}
	return &GC{
		RetainSinceCreateTime:     48 * time.Hour,
		RetainSinceLastActiveTime: 15 * time.Hour,
		MinNonActiveRevisions:     20,
		MaxNonActiveRevisions:     1000,
		Schedule:                  DefaultGCSchedule,
		Cron:                      s,
	}
}

// NewGCFromMap parses config-gc over the defaults.
func NewGCFromMap(data map[string]string) (*GC, error) {
	g := DefaultGC()
	for _, f := range []struct {
		dst *time.Duration
		key string
	}{
		{&g.RetainSinceCreateTime, "retain-since-create-time"},
		{&g.RetainSinceLastActiveTime, "retain-since-last-active-time"},
	} {
		v, _, ok := lookup(data, f.key)
		if !ok {
			continue
		}
		if strings.EqualFold(v, "disabled") {
			*f.dst = DisabledDuration
			continue
		}
		d, err := time.ParseDuration(v)
		if err != nil {
			return nil, fmt.Errorf("failed to parse %q: %w", f.key, err)
		}
		if d < 0 {
			return nil, fmt.Errorf("%s must be non-negative, was: %v", f.key, d)
		}
		*f.dst = d
	}
	if err := asInt64(data, &g.MinNonActiveRevisions, "min-non-active-revisions"); err != nil {
		return nil, err
	}
	if g.MinNonActiveRevisions < 0 {
		return nil, fmt.Errorf("min-non-active-revisions must be non-negative, was: %d", g.MinNonActiveRevisions)
	}
	if v, _, ok := lookup(data, "max-non-active-revisions"); ok {
		if strings.EqualFold(v, "disabled") {
			g.MaxNonActiveRevisions = DisabledCount
		} else {
			n, err := strconv.ParseInt(v, 10, 64)
			if err != nil {
				return nil, fmt.Errorf("failed to parse %q: %w", "max-non-active-revisions", err)
			}
			if n < 0 {
				return nil, fmt.Errorf("max-non-active-revisions must be non-negative or disabled, was: %d", n)
			}
			g.MaxNonActiveRevisions = n
		}
	}
	if g.MaxNonActiveRevisions >= 0 && g.MinNonActiveRevisions > g.MaxNonActiveRevisions {
		return nil, fmt.Errorf("max-non-active-revisions(%d) must be >= min-non-active-revisions(%d)",
			g.MaxNonActiveRevisions, g.MinNonActiveRevisions)
	}
	if v, _, ok := lookup(data, "schedule"); ok {
		s, err := cronParser.Parse(v)
		if err != nil {
			return nil, fmt.Errorf("failed to parse %q: %w", "schedule", err)
		}
		g.Schedule, g.Cron = v, s
	}
	return g, nil
}

// Disabled reports whether garbage collection is off: both retain times
// and the maximum disabled.
func (g *GC) Disabled() bool {
	return g.RetainSinceCreateTime == DisabledDuration &&
		g.RetainSinceLastActiveTime == DisabledDuration &&
		g.MaxNonActiveRevisions == DisabledCount
}
