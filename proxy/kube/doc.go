// Package kube is the cluster gateway's view of the Kubernetes API and the
// wire contract between ebb's controller and its gateways: informers of
// the EndpointSlices (a revision's ready pods, its public slice's mode,
// activators and failure), of the route-table ConfigMaps with the host
// claims, and of the revision Deployments' queue-proxy settings. The
// controller writes what these read; it imports this package, never the
// other way round, so the gateway links no renderer, engine or apply code.
package kube
