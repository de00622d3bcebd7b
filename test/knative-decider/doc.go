// Package knativedecider checks ebb's autoscaler against Knative's own:
// the decider (knative.dev/serving/pkg/autoscaler/scaling) and the metric
// windows (pkg/autoscaler/aggregation) are fed identical randomized input
// and must agree exactly.
package knativedecider
