// Package rollout computes Knative's gradual rollout of a Service's latest
// revision (serving.knative.dev/rollout-duration) as pure functions of the
// previous state, the desired traffic and the time: which revisions share
// a configuration's traffic, in what percents, and when the next step is
// due.
package rollout
