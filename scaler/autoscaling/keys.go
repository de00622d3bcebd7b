package autoscaling

import "time"

// ConfigName is the name of the ConfigMap that holds the autoscaler's
// cluster-wide defaults.
const ConfigName = "config-autoscaler"

// Annotation keys on a revision template (spec.template.metadata.annotations).
const (
	GroupName = "autoscaling.knative.dev"

	ClassAnnotationKey                    = GroupName + "/class"
	MetricAnnotationKey                   = GroupName + "/metric"
	TargetAnnotationKey                   = GroupName + "/target"
	TargetUtilizationPercentageKey        = GroupName + "/target-utilization-percentage"
	MinScaleAnnotationKey                 = GroupName + "/min-scale"
	MaxScaleAnnotationKey                 = GroupName + "/max-scale"
	InitialScaleAnnotationKey             = GroupName + "/initial-scale"
	ActivationScaleKey                    = GroupName + "/activation-scale"
	WindowAnnotationKey                   = GroupName + "/window"
	PanicWindowPercentageAnnotationKey    = GroupName + "/panic-window-percentage"
	PanicThresholdPercentageAnnotationKey = GroupName + "/panic-threshold-percentage"
	TargetBurstCapacityKey                = GroupName + "/target-burst-capacity"
	ScaleDownDelayAnnotationKey           = GroupName + "/scale-down-delay"
	ScaleToZeroPodRetentionPeriodKey      = GroupName + "/scale-to-zero-pod-retention-period"
	MetricAggregationAlgorithmKey         = GroupName + "/metric-aggregation-algorithm"
	ProgressDeadlineAnnotationKey         = "serving.knative.dev/progress-deadline"
)

// Legacy camelCase aliases; the kebab-case name wins when both are set.
const (
	legacyInitialScaleAnnotationKey        = GroupName + "/initialScale"
	legacyMinScaleAnnotationKey            = GroupName + "/minScale"
	legacyMaxScaleAnnotationKey            = GroupName + "/maxScale"
	legacyTargetUtilizationPercentageKey   = GroupName + "/targetUtilizationPercentage"
	legacyPanicWindowPercentageKey         = GroupName + "/panicWindowPercentage"
	legacyPanicThresholdPercentageKey      = GroupName + "/panicThresholdPercentage"
	legacyTargetBurstCapacityKey           = GroupName + "/targetBurstCapacity"
	legacyScaleDownDelayKey                = GroupName + "/scaleDownDelay"
	legacyScaleToZeroPodRetentionPeriodKey = GroupName + "/scaleToZeroPodRetentionPeriod"
	legacyMetricAggregationAlgorithmKey    = GroupName + "/metricAggregationAlgorithm"
	classDomainSuffix                      = ".knative.dev"
)

// Autoscaler classes.
const (
	KPA = "kpa.autoscaling.knative.dev"
	HPA = "hpa.autoscaling.knative.dev"
)

// Metrics.
const (
	Concurrency = "concurrency"
	RPS         = "rps"
	CPU         = "cpu"
	Memory      = "memory"
)

// Metric aggregation algorithms.
const (
	MetricAggregationAlgorithmLinear                 = "linear"
	MetricAggregationAlgorithmWeightedExponential    = "weighted-exponential"
	MetricAggregationAlgorithmWeightedExponentialAlt = "weightedExponential"
)

// Bounds and hidden constants of the KPA.
const (
	// TargetMin is the smallest per-pod target.
	TargetMin = 0.01
	// WindowMin and WindowMax bound the stable window.
	WindowMin = 6 * time.Second
	WindowMax = 1 * time.Hour
	// PanicWindowPercentageMin and Max bound panic-window-percentage.
	PanicWindowPercentageMin = 1.0
	PanicWindowPercentageMax = 100.0
	// PanicThresholdPercentageMin and Max bound the per-revision annotation.
	PanicThresholdPercentageMin = 110.0
	PanicThresholdPercentageMax = 1000.0

	// TickInterval is how often the decider runs per revision.
	TickInterval = 2 * time.Second
	// ScrapeInterval is how often queue-proxies are scraped.
	ScrapeInterval = 1 * time.Second
	// ScrapeTimeout bounds one scrape.
	ScrapeTimeout = 3 * time.Second
	// BucketSize is the granularity of the metric windows.
	BucketSize = 1 * time.Second
	// DefaultProgressDeadline is the revision progress deadline when the
	// serving.knative.dev/progress-deadline annotation is absent.
	DefaultProgressDeadline = 600 * time.Second
	// ActivationTimeoutBuffer is added to the progress deadline to give up
	// on a revision that is activating.
	ActivationTimeoutBuffer = 30 * time.Second
	// MinActivators is the least number of activators put in a revision's
	// path.
	MinActivators int32 = 2
)

// keyPriority lists an annotation's accepted names, the preferred one first.
type keyPriority []string

// get returns the first of the names present in m, with its value.
func (k keyPriority) get(m map[string]string) (key, value string, ok bool) {
	for _, name := range k {
		if v, ok := m[name]; ok {
			return name, v, true
		}
	}
	return "", "", false
}

var (
	classAnnotation               = keyPriority{ClassAnnotationKey}
	metricAnnotation              = keyPriority{MetricAnnotationKey}
	targetAnnotation              = keyPriority{TargetAnnotationKey}
	windowAnnotation              = keyPriority{WindowAnnotationKey}
	activationScaleAnnotation     = keyPriority{ActivationScaleKey}
	initialScaleAnnotation        = keyPriority{InitialScaleAnnotationKey, legacyInitialScaleAnnotationKey}
	minScaleAnnotation            = keyPriority{MinScaleAnnotationKey, legacyMinScaleAnnotationKey}
	maxScaleAnnotation            = keyPriority{MaxScaleAnnotationKey, legacyMaxScaleAnnotationKey}
	targetUtilizationAnnotation   = keyPriority{TargetUtilizationPercentageKey, legacyTargetUtilizationPercentageKey}
	panicWindowAnnotation         = keyPriority{PanicWindowPercentageAnnotationKey, legacyPanicWindowPercentageKey}
	panicThresholdAnnotation      = keyPriority{PanicThresholdPercentageAnnotationKey, legacyPanicThresholdPercentageKey}
	targetBurstCapacityAnnotation = keyPriority{TargetBurstCapacityKey, legacyTargetBurstCapacityKey}
	scaleDownDelayAnnotation      = keyPriority{ScaleDownDelayAnnotationKey, legacyScaleDownDelayKey}
	retentionAnnotation           = keyPriority{ScaleToZeroPodRetentionPeriodKey, legacyScaleToZeroPodRetentionPeriodKey}
	algorithmAnnotation           = keyPriority{MetricAggregationAlgorithmKey, legacyMetricAggregationAlgorithmKey}
	progressDeadlineAnnotation    = keyPriority{ProgressDeadlineAnnotationKey}
)
