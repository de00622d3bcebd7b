// Package traffic holds the percent of a route's traffic: one type from a
// Service's spec.traffic through the ledger, the plan, a gradual rollout
// and a canary to the route table and the weights of an ingress. It
// imports nothing of ebb, so that the data plane, which reads the route
// table, links none of serving.
package traffic
