// Package stats computes the load a reporter (a queue-proxy or an
// activator) sends to the autoscaler: the time-weighted average number of
// requests in flight over each full second and the number that arrived, with
// the part that came through an activator kept apart; and the second's
// answers (how many, how many failed, their latencies), which the reporter
// that answered the client counts.
package stats
