package autoscaling

import (
	"errors"
	"fmt"
	"math"
	"slices"
	"strconv"
	"strings"
	"time"
)

// AnnotationError is one invalid autoscaling annotation. Message is
// Knative's text; Key is the annotation name as written (an alias when the
// alias was used).
type AnnotationError struct {
	Key     string
	Message string
}

// Error formats the error as Knative's field errors do: "message: key".
func (e AnnotationError) Error() string {
	return e.Message + ": " + e.Key
}

// ValidateAnnotations checks the autoscaling.knative.dev/* annotations of a
// revision template against cfg and returns every violation, in Knative's
// order. Unknown autoscaling keys are allowed.
func ValidateAnnotations(cfg *Config, annotations map[string]string) []AnnotationError {
	var errs []AnnotationError
	errs = append(errs, validateClass(annotations)...)
	errs = append(errs, validateMinMaxScale(cfg, annotations)...)
	errs = append(errs, validateFloats(annotations)...)
	errs = append(errs, validateDuration(annotations, windowAnnotation, WindowMin, WindowMax, true)...)
	errs = append(errs, validateDuration(annotations, retentionAnnotation, 0, WindowMax, false)...)
	errs = append(errs, validateDuration(annotations, scaleDownDelayAnnotation, 0, WindowMax, true)...)
	errs = append(errs, validateMetric(cfg, annotations)...)
	errs = append(errs, validateAlgorithm(annotations)...)
	errs = append(errs, validateInitialScale(cfg, annotations)...)
	return errs
}

// ValidateNoAutoscalingAnnotations rejects autoscaling annotations placed on
// Service or Configuration metadata, where they would have no effect. The
// result is sorted by key.
func ValidateNoAutoscalingAnnotations(annotations map[string]string) []AnnotationError {
	var errs []AnnotationError
	for key := range annotations {
		if strings.HasPrefix(key, GroupName) {
			errs = append(errs, AnnotationError{
				Key:     key,
				Message: fmt.Sprintf(`invalid key name %q: autoscaling annotations must be put under "spec.template.metadata.annotations" to work`, key),
			})
		}
	}
	slices.SortFunc(errs, func(a, b AnnotationError) int { return strings.Compare(a.Key, b.Key) })
	return errs
}

func invalidValue(v, key string) AnnotationError {
	return AnnotationError{Key: key, Message: "invalid value: " + v}
}

func outOfBounds(v, lower, upper any, key string) AnnotationError {
	return AnnotationError{Key: key, Message: fmt.Sprintf("expected %v <= %v <= %v", lower, v, upper)}
}

// intGE0 reads a non-negative int32 annotation; absent is 0.
func intGE0(m map[string]string, k keyPriority) (int32, []AnnotationError) {
	key, v, ok := k.get(m)
	if !ok {
		return 0, nil
	}
	i, err := strconv.ParseInt(v, 10, 32)
	if err != nil {
		if errors.Is(err, strconv.ErrRange) {
			return 0, []AnnotationError{outOfBounds(v, 0, math.MaxInt32, key)}
		}
		return 0, []AnnotationError{invalidValue(v, key)}
	}
	if i < 0 {
		return 0, []AnnotationError{outOfBounds(v, 0, math.MaxInt32, key)}
	}
	return int32(i), nil
}

func validateClass(m map[string]string) []AnnotationError {
	if k, v, ok := classAnnotation.get(m); ok {
		if strings.HasSuffix(v, classDomainSuffix) && v != KPA && v != HPA {
			return []AnnotationError{invalidValue(v, k)}
		}
	}
	return nil
}

func validateAlgorithm(m map[string]string) []AnnotationError {
	// Other classes may define their own algorithms.
	if _, v, _ := classAnnotation.get(m); v != KPA {
		return nil
	}
	if k, v, _ := algorithmAnnotation.get(m); v != "" {
		switch v {
		case MetricAggregationAlgorithmLinear,
			MetricAggregationAlgorithmWeightedExponential,
			MetricAggregationAlgorithmWeightedExponentialAlt:
		default:
			return []AnnotationError{invalidValue(v, k)}
		}
	}
	return nil
}

func validateFloats(m map[string]string) []AnnotationError {
	var errs []AnnotationError
	if k, v, ok := panicWindowAnnotation.get(m); ok {
		if f, err := strconv.ParseFloat(v, 64); err != nil {
			errs = append(errs, invalidValue(v, k))
		} else if f < PanicWindowPercentageMin || f > PanicWindowPercentageMax {
			errs = append(errs, outOfBounds(v, PanicWindowPercentageMin, PanicWindowPercentageMax, k))
		}
	}
	if k, v, ok := panicThresholdAnnotation.get(m); ok {
		if f, err := strconv.ParseFloat(v, 64); err != nil {
			errs = append(errs, invalidValue(v, k))
		} else if f < PanicThresholdPercentageMin || f > PanicThresholdPercentageMax {
			errs = append(errs, outOfBounds(v, PanicThresholdPercentageMin, PanicThresholdPercentageMax, k))
		}
	}
	if k, v, ok := targetAnnotation.get(m); ok {
		if f, err := strconv.ParseFloat(v, 64); err != nil {
			errs = append(errs, invalidValue(v, k))
		} else if f < TargetMin {
			errs = append(errs, AnnotationError{Key: k, Message: fmt.Sprintf("target %s should be at least %g", v, TargetMin)})
		}
	}
	if k, v, ok := targetUtilizationAnnotation.get(m); ok {
		if f, err := strconv.ParseFloat(v, 64); err != nil {
			errs = append(errs, invalidValue(v, k))
		} else if f < 1 || f > 100 {
			errs = append(errs, outOfBounds(v, 1, 100, k))
		}
	}
	if k, v, ok := targetBurstCapacityAnnotation.get(m); ok {
		if f, err := strconv.ParseFloat(v, 64); err != nil || f < 0 && f != -1 {
			errs = append(errs, invalidValue(v, k))
		}
	}
	return errs
}

// validateDuration checks a duration annotation: it parses, lies in
// [lo, hi], and, if wholeSeconds, has at most second precision.
func validateDuration(m map[string]string, a keyPriority, lo, hi time.Duration, wholeSeconds bool) []AnnotationError {
	k, v, ok := a.get(m)
	if !ok {
		return nil
	}
	d, err := time.ParseDuration(v)
	switch {
	case err != nil:
		return []AnnotationError{invalidValue(v, k)}
	case d < lo || d > hi:
		return []AnnotationError{outOfBounds(v, lo, hi, k)}
	case wholeSeconds && d.Truncate(time.Second) != d:
		return []AnnotationError{{Key: k, Message: "must be specified with at most second precision"}}
	}
	return nil
}

func validateMinMaxScale(cfg *Config, m map[string]string) []AnnotationError {
	minScale, errs := intGE0(m, minScaleAnnotation)
	maxScale, maxErrs := intGE0(m, maxScaleAnnotation)
	errs = append(errs, maxErrs...)

	if maxScale != 0 && maxScale < minScale {
		errs = append(errs, AnnotationError{
			Key:     MaxScaleAnnotationKey,
			Message: fmt.Sprintf("max-scale=%d is less than min-scale=%d", maxScale, minScale),
		})
	}
	if k, _, ok := maxScaleAnnotation.get(m); ok && cfg.MaxScaleLimit != 0 {
		if maxScale > cfg.MaxScaleLimit {
			errs = append(errs, outOfBounds(maxScale, 1, cfg.MaxScaleLimit, k))
		}
		if maxScale == 0 {
			errs = append(errs, AnnotationError{Key: k, Message: fmt.Sprint("max-scale=0 (unlimited), must be less than ", cfg.MaxScaleLimit)})
		}
	}
	if k, v, ok := activationScaleAnnotation.get(m); ok {
		n, err := strconv.ParseInt(v, 10, 32)
		switch {
		case err != nil:
			errs = append(errs, invalidValue(v, k))
		case minScale > int32(n):
			errs = append(errs, AnnotationError{Key: k, Message: fmt.Sprintf("min-scale=%d is greater than activation-scale=%d", minScale, n)})
		case maxScale < int32(n) && maxScale != 0:
			errs = append(errs, AnnotationError{Key: k, Message: fmt.Sprintf("max-scale=%d is less than activation-scale=%d", maxScale, n)})
		case n < 2:
			errs = append(errs, AnnotationError{Key: k, Message: fmt.Sprintf("activation-scale=%d must be greater than 1", n)})
		}
	}
	return errs
}

func validateMetric(cfg *Config, m map[string]string) []AnnotationError {
	_, metric, ok := metricAnnotation.get(m)
	if !ok {
		return nil
	}
	class := cfg.PodAutoscalerClass
	if _, c, ok := classAnnotation.get(m); ok {
		class = c
	}
	switch class {
	case KPA:
		if metric == Concurrency || metric == RPS {
			return nil
		}
	case HPA:
		if metric != "" {
			return nil
		}
	default:
		// Custom autoscalers define their own metrics.
		return nil
	}
	return []AnnotationError{invalidValue(metric, MetricAnnotationKey)}
}

func validateInitialScale(cfg *Config, m map[string]string) []AnnotationError {
	k, v, ok := initialScaleAnnotation.get(m)
	if !ok {
		return nil
	}
	n, err := strconv.Atoi(v)
	switch {
	case err != nil:
		return []AnnotationError{invalidValue(v, k)}
	case n < 0:
		// Knative puts the detail in the field path; it is kept in the
		// message here so that Key stays the annotation's name.
		return []AnnotationError{{Key: k, Message: "invalid value: " + v + ": " + k + " must be greater than 0"}}
	case n == 0 && !cfg.AllowZeroInitialScale:
		return []AnnotationError{{Key: k, Message: "invalid value: " + v + ": " + k + "=0 not allowed by cluster"}}
	}
	return nil
}
