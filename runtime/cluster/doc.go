// Package cluster runs ebb's rendered state in a Kubernetes cluster: it
// applies a repository state through runtime/cluster/apply and registers
// its revisions with the autoscaler, implements the autoscaler's Scaler,
// PodLister and ModeSetter over the Kubernetes API (the scale subresource,
// the private Services' EndpointSlices, the public Services'
// EndpointSlices, which it writes as proxy/kube's contract says), and
// records what changed as Events and a status ConfigMap. The gateway's own
// informers are in proxy/kube.
package cluster
