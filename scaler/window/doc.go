// Package window computes windowed averages of per-second load samples:
// the autoscaler's stable and panic windows, as a linear average over
// one-second buckets (Knative's default) or a weighted-exponential one.
package window
