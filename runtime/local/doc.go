// Package local runs revision pods as processes on this machine, for
// `ebb up`: it builds ko:// images with the Go toolchain, starts and
// supervises user containers, and stops them without leaving orphans.
//
// A container that exits is restarted with the kubelet's back-off
// (DefaultBackoff); one of a revision no route reaches (Options.Reachable)
// is not. Each revision has a Ready condition with Knative's reasons:
// Runtime.Readiness reads it at once, Runtime.Watch tells when it (or the
// revision's ready pods) changes, Runtime.Status lists it with the pods.
// Runtime.Shutdown stops every pod within its grace period. Target is the
// runtime as the engine's Target, and reports revision health as
// engine.Health reads it.
package local
