// Package kube holds ebb's narrow clients of the Kubernetes API: REST
// clients of the few API groups ebb reads and writes, over a scheme that
// knows only their types, and informers over them.
package kube
