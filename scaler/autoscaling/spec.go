package autoscaling

import (
	"math"
	"strconv"
	"time"
)

// Annotation readers. Like Knative's, they treat a value that does not
// parse as absent: validation has rejected it before it gets here.

func annotationInt32(m map[string]string, k keyPriority) (int32, bool) {
	if _, s, ok := k.get(m); ok {
		i, err := strconv.ParseInt(s, 10, 32)
		return int32(i), err == nil
	}
	return 0, false
}

func annotationFloat(m map[string]string, k keyPriority) (float64, bool) {
	if _, s, ok := k.get(m); ok {
		f, err := strconv.ParseFloat(s, 64)
		return f, err == nil
	}
	return 0, false
}

func annotationDuration(m map[string]string, k keyPriority) (time.Duration, bool) {
	if _, s, ok := k.get(m); ok {
		d, err := time.ParseDuration(s)
		return d, err == nil
	}
	return 0, false
}

// Class returns the revision's autoscaler class: the class annotation, else
// the configured pod-autoscaler-class.
func Class(cfg *Config, annotations map[string]string) string {
	if _, c, ok := classAnnotation.get(annotations); ok {
		return c
	}
	return cfg.PodAutoscalerClass
}

// Metric returns the scaling metric: the metric annotation, else the class
// default (concurrency for KPA, cpu for HPA, "" for other classes).
func Metric(cfg *Config, annotations map[string]string) string {
	if _, m, ok := metricAnnotation.get(annotations); ok {
		return m
	}
	switch Class(cfg, annotations) {
	case KPA:
		return Concurrency
	case HPA:
		return CPU
	}
	return ""
}

// InitialScale is the number of pods a new revision starts with: the
// initial-scale annotation, unless it is absent or a 0 the cluster does not
// allow, in which case the configured initial-scale.
func InitialScale(cfg *Config, annotations map[string]string) int32 {
	n, ok := annotationInt32(annotations, initialScaleAnnotation)
	if !ok || (n == 0 && !cfg.AllowZeroInitialScale) {
		return cfg.InitialScale
	}
	return n
}

// MinMaxScale returns the revision's scale bounds: min-scale and max-scale
// annotations over the configured defaults. min is 0 for an unreachable
// revision; max 0 means unlimited.
func MinMaxScale(cfg *Config, annotations map[string]string, reachable bool) (minScale, maxScale int32) {
	if reachable {
		minScale = cfg.MinScale
		if n, ok := annotationInt32(annotations, minScaleAnnotation); ok {
			minScale = n
		}
	}
	maxScale = cfg.MaxScale
	if n, ok := annotationInt32(annotations, maxScaleAnnotation); ok {
		maxScale = n
	}
	return minScale, maxScale
}

// ActivationScale returns the activation-scale annotation, 0 when absent.
func ActivationScale(annotations map[string]string) int32 {
	n, _ := annotationInt32(annotations, activationScaleAnnotation)
	return n
}

// StableWindow returns the window annotation, else the configured
// stable-window.
func StableWindow(cfg *Config, annotations map[string]string) time.Duration {
	if d, ok := annotationDuration(annotations, windowAnnotation); ok {
		return d
	}
	return cfg.StableWindow
}

// PanicWindow returns the stable window times panic-window-percentage
// (annotation, else config), rounded to whole seconds and at least one
// bucket.
func PanicWindow(cfg *Config, annotations map[string]string) time.Duration {
	pct, ok := annotationFloat(annotations, panicWindowAnnotation)
	if !ok {
		pct = cfg.PanicWindowPercentage
	}
	w := time.Duration(float64(StableWindow(cfg, annotations)) * pct / 100.0).Round(time.Second)
	return max(w, BucketSize)
}

// ScaleToZeroPodRetention returns how long the last pod is kept after the
// revision went inactive: the annotation, else the config; 0 for an
// unreachable revision.
func ScaleToZeroPodRetention(cfg *Config, annotations map[string]string, reachable bool) time.Duration {
	if !reachable {
		return 0
	}
	if d, ok := annotationDuration(annotations, retentionAnnotation); ok {
		return d
	}
	return cfg.ScaleToZeroPodRetentionPeriod
}

// ProgressDeadline returns the serving.knative.dev/progress-deadline
// annotation, else def (DefaultProgressDeadline when def is 0).
func ProgressDeadline(annotations map[string]string, def time.Duration) time.Duration {
	if d, ok := annotationDuration(annotations, progressDeadlineAnnotation); ok {
		return d
	}
	if def == 0 {
		return DefaultProgressDeadline
	}
	return def
}

// Algorithm returns the metric aggregation algorithm, normalised to
// MetricAggregationAlgorithmLinear or
// MetricAggregationAlgorithmWeightedExponential.
func Algorithm(annotations map[string]string) string {
	_, v, _ := algorithmAnnotation.get(annotations)
	switch v {
	case MetricAggregationAlgorithmWeightedExponential, MetricAggregationAlgorithmWeightedExponentialAlt:
		return MetricAggregationAlgorithmWeightedExponential
	}
	return MetricAggregationAlgorithmLinear
}

// ResolveTarget returns the per-pod scaling target, the per-pod total
// capacity and the metric they are in.
//
// For concurrency, total is containerConcurrency (or
// container-concurrency-target-default when it is 0); a target annotation
// replaces it but never exceeds a non-zero containerConcurrency. For rps,
// total is the target annotation or requests-per-second-target-default.
// target = max(TargetMin, total × utilization), with utilization from the
// target-utilization-percentage annotation or the config.
func ResolveTarget(cfg *Config, annotations map[string]string, containerConcurrency int64) (target, total float64, metric string) {
	metric = Metric(cfg, annotations)
	var utilization float64
	switch metric {
	case RPS:
		total = cfg.RPSTargetDefault
		utilization = cfg.TargetUtilization
	default:
		total = float64(containerConcurrency)
		if total == 0 {
			total = cfg.ContainerConcurrencyTargetDefault
		}
		utilization = cfg.ContainerConcurrencyTargetFraction
	}
	if t, ok := annotationFloat(annotations, targetAnnotation); ok {
		total = t
		if metric == Concurrency && containerConcurrency != 0 {
			total = math.Min(t, float64(containerConcurrency))
		}
	}
	if tu, ok := annotationFloat(annotations, targetUtilizationAnnotation); ok {
		utilization = tu / 100
	}
	return math.Max(TargetMin, total*utilization), total, metric
}

// DeciderSpec is everything the decider needs about one revision.
type DeciderSpec struct {
	// MaxScaleUpRate and MaxScaleDownRate bound one tick's change.
	MaxScaleUpRate   float64
	MaxScaleDownRate float64
	// ScalingMetric is Concurrency or RPS.
	ScalingMetric string
	// TargetValue is the per-pod target; TotalValue the per-pod capacity.
	TargetValue float64
	TotalValue  float64
	// TargetBurstCapacity: spare capacity wanted; 0 none, -1 unlimited.
	TargetBurstCapacity float64
	// ActivatorCapacity is the concurrency one activator takes.
	ActivatorCapacity float64
	// PanicThreshold is a ratio (2.0 for 200%).
	PanicThreshold float64
	// StableWindow is also how long panic mode outlives its last trigger.
	StableWindow time.Duration
	// ScaleDownDelay holds the maximum decision over this period.
	ScaleDownDelay time.Duration
	// InitialScale is the revision's size before its first decision.
	InitialScale int32
	// Reachable is false when no route sends traffic to the revision.
	Reachable bool
	// ActivationScale is the least non-zero scale (0 or 1: none).
	ActivationScale int32
}

// NewDeciderSpec builds a revision's DeciderSpec from the configuration,
// its template annotations, its containerConcurrency and whether a route
// reaches it.
func NewDeciderSpec(cfg *Config, annotations map[string]string, containerConcurrency int64, reachable bool) DeciderSpec {
	threshold := cfg.PanicThresholdPercentage
	if f, ok := annotationFloat(annotations, panicThresholdAnnotation); ok {
		threshold = f
	}
	tbc := cfg.TargetBurstCapacity
	if f, ok := annotationFloat(annotations, targetBurstCapacityAnnotation); ok {
		tbc = f
	}
	delay := cfg.ScaleDownDelay
	if d, ok := annotationDuration(annotations, scaleDownDelayAnnotation); ok {
		delay = d
	}
	target, total, metric := ResolveTarget(cfg, annotations, containerConcurrency)
	return DeciderSpec{
		MaxScaleUpRate:      cfg.MaxScaleUpRate,
		MaxScaleDownRate:    cfg.MaxScaleDownRate,
		ScalingMetric:       metric,
		TargetValue:         target,
		TotalValue:          total,
		TargetBurstCapacity: tbc,
		ActivatorCapacity:   cfg.ActivatorCapacity,
		PanicThreshold:      threshold / 100.0,
		StableWindow:        StableWindow(cfg, annotations),
		ScaleDownDelay:      delay,
		InitialScale:        InitialScale(cfg, annotations),
		Reachable:           reachable,
		ActivationScale:     ActivationScale(annotations),
	}
}
