// Package node holds ebb's tests on a real node (internal/nodetest): ebb
// installed from manifests/ as a user installs it, its controller and
// gateway running as pods, revisions served by real pods with the
// queue-proxy sidecar. It is a package of its own so that its slow tests
// run beside the other packages'.
package node
