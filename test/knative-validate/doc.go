// Package knativevalidate checks ebb's loader against Knative's own
// webhook validation: a generated corpus of Services goes through
// knative.dev/serving v0.48.1's SetDefaults and Validate and through
// ebb's serving.Load, and both must accept or reject each one alike,
// naming the same field paths.
package knativevalidate
