// Package serving holds ebb's model of a serving repository: Knative-style
// Services and DomainMappings as decoded from Git, their defaults and
// validation, and the ledger that records every revision and the resolved
// traffic of each Service.
package serving
