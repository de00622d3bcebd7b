// Package scaler is ebb's request-driven autoscaler: Knative's KPA
// decisions, metric windows and scale-to-zero sequencing.
//
// The parts, from the inside out:
//   - Decide is the pure scaling step (stable and panic modes, rate limits,
//     activation scale, scale-down delay, excess burst capacity).
//   - Reconcile is the pure step from a decision to replicas and a traffic
//     mode (bounds, initial scale, the scale-to-zero sequence).
//   - Series holds a revision's metric windows (package window) and
//     Scraper samples its pods' stats over HTTP.
//   - Autoscaler is the loop: a tick every 2 s per revision, a poke when
//     load reaches a revision at zero, scraping every second and pushed
//     activator stats. Ticks and scrapes run on timers (no goroutine
//     waits per revision between them). It acts through the Scaler,
//     ModeSetter and PodLister interfaces that a runtime implements.
package scaler
