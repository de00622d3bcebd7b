// Package cluster runs ebb's rendered state in a Kubernetes cluster: it
// applies a repository state through runtime/cluster/apply and registers its revisions
// with the autoscaler, implements the autoscaler's Scaler, PodLister and
// ModeSetter over the Kubernetes API (the scale subresource, the private
// Services' EndpointSlices, the public Services' EndpointSlices), gives the
// gateway and activator their backends and route table from EndpointSlices
// and ConfigMaps, and records what changed as Events and a status ConfigMap.
package cluster
