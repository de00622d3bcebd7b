// Package scaler is ebb's request-driven autoscaler: Knative's KPA
// decisions, metric windows and scale-to-zero sequencing.
package scaler
