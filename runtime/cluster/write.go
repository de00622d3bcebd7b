package cluster

import (
	"context"
	"fmt"

	corev1 "k8s.io/api/core/v1"
	discoveryv1 "k8s.io/api/discovery/v1"

	"github.com/ebb-dev/ebb/internal/kube"
)

// Slice is an EndpointSlice ebb writes: ready IPv4 addresses behind named
// TCP ports.
type Slice struct {
	Namespace, Name string
	Labels          map[string]string
	Annotations     map[string]string
	Ports           []SlicePort
	Addresses       []string
}

// SlicePort is a named TCP port of a Slice.
type SlicePort struct {
	Name string
	Port int32
}

// ApplySlice applies s with server-side apply under manager, taking
// conflicting fields over, and returns the EndpointSlice as stored.
func ApplySlice(ctx context.Context, k *kube.Clients, s Slice, manager string) (*discoveryv1.EndpointSlice, error) {
	body := sliceBody{APIVersion: "discovery.k8s.io/v1", Kind: "EndpointSlice",
		Metadata:    metaBody{Name: s.Name, Namespace: s.Namespace, Labels: s.Labels, Annotations: s.Annotations},
		AddressType: string(discoveryv1.AddressTypeIPv4)}
	for _, p := range s.Ports {
		body.Ports = append(body.Ports, portBody{Name: p.Name, Port: p.Port, Protocol: string(corev1.ProtocolTCP)})
	}
	for _, ip := range s.Addresses {
		e := endpointBody{Addresses: []string{ip}}
		e.Conditions.Ready = true
		body.Endpoints = append(body.Endpoints, e)
	}
	req, err := kube.Apply(k.Discovery, "endpointslices", s.Namespace, s.Name, body, manager, true)
	if err != nil {
		return nil, err
	}
	var out discoveryv1.EndpointSlice
	if err := req.Do(ctx).Into(&out); err != nil {
		return nil, fmt.Errorf("apply EndpointSlice %s/%s: %w", s.Namespace, s.Name, err)
	}
	return &out, nil
}

// The apply bodies of what ebb writes itself: only the fields it sets, so
// that its field manager owns those and no others.
type (
	metaBody struct {
		Name        string            `json:"name"`
		Namespace   string            `json:"namespace"`
		Labels      map[string]string `json:"labels,omitempty"`
		Annotations map[string]string `json:"annotations,omitempty"`
	}
	sliceBody struct {
		APIVersion  string         `json:"apiVersion"`
		Kind        string         `json:"kind"`
		Metadata    metaBody       `json:"metadata"`
		AddressType string         `json:"addressType"`
		Ports       []portBody     `json:"ports,omitempty"`
		Endpoints   []endpointBody `json:"endpoints,omitempty"`
	}
	portBody struct {
		Name     string `json:"name"`
		Port     int32  `json:"port"`
		Protocol string `json:"protocol"`
	}
	endpointBody struct {
		Addresses  []string `json:"addresses"`
		Conditions struct {
			Ready bool `json:"ready"`
		} `json:"conditions"`
	}
	configMapBody struct {
		APIVersion string            `json:"apiVersion"`
		Kind       string            `json:"kind"`
		Metadata   metaBody          `json:"metadata"`
		Data       map[string]string `json:"data,omitempty"`
		BinaryData map[string][]byte `json:"binaryData,omitempty"`
	}
)
