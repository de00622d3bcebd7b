package autoscaling

import (
	"math"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

func TestResolveTarget(t *testing.T) {
	// The base configuration of Knative's target tests: fraction 1.0 and
	// utilization 0.7.
	base := func(mod func(*Config)) *Config {
		c := DefaultConfig()
		c.ContainerConcurrencyTargetFraction = 1.0
		c.TargetUtilization = 0.7
		if mod != nil {
			mod(c)
		}
		return c
	}
	tests := []struct {
		name       string
		cfg        *Config
		ann        map[string]string
		cc         int64
		wantTarget float64
		wantTotal  float64
		wantMetric string
		tolerance  float64
	}{
		{name: "defaults", cfg: DefaultConfig(), wantTarget: 70, wantTotal: 100, wantMetric: Concurrency},
		{name: "cc 12, fraction 0.8, TU 75", cfg: base(func(c *Config) { c.ContainerConcurrencyTargetFraction = 0.8 }),
			ann: map[string]string{TargetUtilizationPercentageKey: "75"}, cc: 12, wantTarget: 9, wantTotal: 12, wantMetric: Concurrency},
		{name: "cc 10, fraction 0.8", cfg: base(func(c *Config) { c.ContainerConcurrencyTargetFraction = 0.8 }),
			cc: 10, wantTarget: 8, wantTotal: 10, wantMetric: Concurrency},
		{name: "target annotation capped by cc", cfg: base(nil),
			ann: map[string]string{TargetAnnotationKey: "10"}, cc: 1, wantTarget: 1, wantTotal: 1, wantMetric: Concurrency},
		{name: "target annotation with soft limit", cfg: base(nil),
			ann: map[string]string{TargetAnnotationKey: "10"}, wantTarget: 10, wantTotal: 10, wantMetric: Concurrency},
		{name: "target clamped to minimum", cfg: base(func(c *Config) { c.ContainerConcurrencyTargetFraction = 0.001 }),
			ann: map[string]string{TargetAnnotationKey: "1"}, wantTarget: 0.01, wantTotal: 1, wantMetric: Concurrency},
		{name: "rps default", cfg: base(nil), ann: map[string]string{MetricAnnotationKey: RPS},
			wantTarget: 140, wantTotal: 200, wantMetric: RPS, tolerance: 1e-9},
		{name: "rps target 300", cfg: base(nil), ann: map[string]string{MetricAnnotationKey: RPS, TargetAnnotationKey: "300"},
			wantTarget: 210, wantTotal: 300, wantMetric: RPS, tolerance: 1e-9},
		{name: "rps TU 75", cfg: base(nil), ann: map[string]string{MetricAnnotationKey: RPS, TargetUtilizationPercentageKey: "75"},
			wantTarget: 150, wantTotal: 200, wantMetric: RPS},
		{name: "rps target 1", cfg: base(nil), ann: map[string]string{MetricAnnotationKey: RPS, TargetAnnotationKey: "1"},
			wantTarget: 0.7, wantTotal: 1, wantMetric: RPS},
		{name: "rps ignores cc", cfg: base(nil), ann: map[string]string{MetricAnnotationKey: RPS, TargetAnnotationKey: "300"}, cc: 5,
			wantTarget: 210, wantTotal: 300, wantMetric: RPS, tolerance: 1e-9},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			target, total, metric := ResolveTarget(tt.cfg, tt.ann, tt.cc)
			if math.Abs(target-tt.wantTarget) > tt.tolerance || total != tt.wantTotal || metric != tt.wantMetric {
				t.Errorf("ResolveTarget = (%v, %v, %q), want (%v, %v, %q)", target, total, metric, tt.wantTarget, tt.wantTotal, tt.wantMetric)
			}
		})
	}
}

// TestSeedScenario: containerConcurrency 10 at 70% utilization gives a
// target of 7 per pod, so 100 concurrent requests want 15 pods.
func TestSeedScenario(t *testing.T) {
	cfg, err := NewConfigFromMap(map[string]string{"container-concurrency-target-percentage": "70"})
	if err != nil {
		t.Fatal(err)
	}
	spec := NewDeciderSpec(cfg, nil, 10, true)
	if got := int(math.Ceil(100 / spec.TargetValue)); got != 15 || spec.TotalValue != 10 {
		t.Errorf("target %v total %v → %d pods for 100 requests, want 15 pods and total 10", spec.TargetValue, spec.TotalValue, got)
	}
}

func TestInitialScale(t *testing.T) {
	zeroOK := DefaultConfig()
	zeroOK.AllowZeroInitialScale = true
	three := DefaultConfig()
	three.InitialScale = 3
	tests := []struct {
		cfg  *Config
		ann  map[string]string
		want int32
	}{
		{DefaultConfig(), nil, 1},
		{three, nil, 3},
		{DefaultConfig(), map[string]string{InitialScaleAnnotationKey: "5"}, 5},
		{DefaultConfig(), map[string]string{legacyInitialScaleAnnotationKey: "4"}, 4},
		{DefaultConfig(), map[string]string{InitialScaleAnnotationKey: "5", legacyInitialScaleAnnotationKey: "4"}, 5},
		{three, map[string]string{InitialScaleAnnotationKey: "0"}, 3},
		{zeroOK, map[string]string{InitialScaleAnnotationKey: "0"}, 0},
		{three, map[string]string{InitialScaleAnnotationKey: "x"}, 3},
	}
	for i, tt := range tests {
		if got := InitialScale(tt.cfg, tt.ann); got != tt.want {
			t.Errorf("%d: InitialScale(%v) = %d, want %d", i, tt.ann, got, tt.want)
		}
	}
}

func TestMinMaxScale(t *testing.T) {
	cfg := DefaultConfig()
	cfg.MinScale, cfg.MaxScale = 1, 10
	tests := []struct {
		ann              map[string]string
		reachable        bool
		wantMin, wantMax int32
	}{
		{nil, true, 1, 10},
		{nil, false, 0, 10},
		{map[string]string{MinScaleAnnotationKey: "3", legacyMaxScaleAnnotationKey: "7"}, true, 3, 7},
		{map[string]string{MinScaleAnnotationKey: "3", MaxScaleAnnotationKey: "0"}, false, 0, 0},
	}
	for i, tt := range tests {
		gotMin, gotMax := MinMaxScale(cfg, tt.ann, tt.reachable)
		if gotMin != tt.wantMin || gotMax != tt.wantMax {
			t.Errorf("%d: MinMaxScale = (%d, %d), want (%d, %d)", i, gotMin, gotMax, tt.wantMin, tt.wantMax)
		}
	}
}

func TestWindowsAndPeriods(t *testing.T) {
	cfg := DefaultConfig()
	cfg.ScaleToZeroPodRetentionPeriod = 10 * time.Second
	tests := []struct {
		ann       map[string]string
		stable    time.Duration
		panic     time.Duration
		retention time.Duration
		algorithm string
	}{
		{nil, 60 * time.Second, 6 * time.Second, 10 * time.Second, MetricAggregationAlgorithmLinear},
		{map[string]string{WindowAnnotationKey: "10s", PanicWindowPercentageAnnotationKey: "1"}, 10 * time.Second, time.Second, 10 * time.Second, MetricAggregationAlgorithmLinear},
		{map[string]string{WindowAnnotationKey: "15s", legacyPanicWindowPercentageKey: "23"}, 15 * time.Second, 3 * time.Second, 10 * time.Second, MetricAggregationAlgorithmLinear},
		{map[string]string{legacyScaleToZeroPodRetentionPeriodKey: "1m", MetricAggregationAlgorithmKey: "weightedExponential"}, 60 * time.Second, 6 * time.Second, time.Minute, MetricAggregationAlgorithmWeightedExponential},
	}
	for i, tt := range tests {
		got := []any{StableWindow(cfg, tt.ann), PanicWindow(cfg, tt.ann), ScaleToZeroPodRetention(cfg, tt.ann, true), Algorithm(tt.ann)}
		want := []any{tt.stable, tt.panic, tt.retention, tt.algorithm}
		if diff := cmp.Diff(want, got); diff != "" {
			t.Errorf("%d: (-want +got):\n%s", i, diff)
		}
	}
	if got := ScaleToZeroPodRetention(cfg, nil, false); got != 0 {
		t.Errorf("retention of an unreachable revision = %v, want 0", got)
	}
	if got := ProgressDeadline(nil, 0); got != 600*time.Second {
		t.Errorf("default progress deadline = %v", got)
	}
	if got := ProgressDeadline(map[string]string{ProgressDeadlineAnnotationKey: "90s"}, 0); got != 90*time.Second {
		t.Errorf("annotated progress deadline = %v", got)
	}
}

func TestNewDeciderSpec(t *testing.T) {
	cfg := DefaultConfig()
	got := NewDeciderSpec(cfg, map[string]string{
		legacyPanicThresholdPercentageKey: "150",
		TargetBurstCapacityKey:            "-1",
		legacyScaleDownDelayKey:           "20s",
		ActivationScaleKey:                "3",
		WindowAnnotationKey:               "30s",
		InitialScaleAnnotationKey:         "2",
	}, 0, false)
	want := DeciderSpec{
		MaxScaleUpRate:      1000,
		MaxScaleDownRate:    2,
		ScalingMetric:       Concurrency,
		TargetValue:         70,
		TotalValue:          100,
		TargetBurstCapacity: -1,
		ActivatorCapacity:   100,
		PanicThreshold:      1.5,
		StableWindow:        30 * time.Second,
		ScaleDownDelay:      20 * time.Second,
		InitialScale:        2,
		Reachable:           false,
		ActivationScale:     3,
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("spec (-want +got):\n%s", diff)
	}
	def := NewDeciderSpec(cfg, nil, 0, true)
	if def.PanicThreshold != 2 || def.TargetBurstCapacity != 211 || def.ActivationScale != 0 || def.InitialScale != 1 || !def.Reachable {
		t.Errorf("default spec %+v", def)
	}
}
