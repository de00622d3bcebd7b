// Package autoscaling holds the autoscaler's configuration: the
// config-autoscaler ConfigMap keys with Knative's defaults and validation,
// the autoscaling.knative.dev/* revision annotations, and the per-revision
// values derived from both (target, bounds, initial scale, decider spec).
//
// It depends on the standard library only, so that parsing, validation and
// rendering can use it without pulling in the scaler's runtime parts.
package autoscaling
