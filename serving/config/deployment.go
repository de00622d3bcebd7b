package config

import (
	"errors"
	"fmt"
	"sort"
	"strings"
	"time"

	"k8s.io/apimachinery/pkg/api/resource"
)

// DefaultQueueSidecarImage is ebb's queue-proxy: the sidecar build of ebb
// (cmd/ebb/sidecar, `ebb queue` alone), built ko-style. The full ebb image
// runs the same queue-proxy (`ebb queue`) and may be named instead.
const DefaultQueueSidecarImage = "ko://github.com/ebb-dev/ebb/cmd/ebb/sidecar"

// Affinity types for default-affinity-type.
const (
	AffinityPreferSpreadOverNodes = "prefer-spread-revision-over-nodes"
	AffinityNone                  = "none"
)

// Deployment is config-deployment: how a revision's Deployment and its
// queue-proxy sidecar are built.
type Deployment struct {
	QueueSidecarImage string
	ProgressDeadline  time.Duration
	// DigestResolutionTimeout is carried for parity (ebb does not resolve
	// tags to digests).
	DigestResolutionTimeout time.Duration
	// RegistriesSkippingTagResolving is the set of registries whose tags
	// are never resolved.
	RegistriesSkippingTagResolving map[string]bool

	QueueSidecarCPURequest              *resource.Quantity
	QueueSidecarCPULimit                *resource.Quantity
	QueueSidecarMemoryRequest           *resource.Quantity
	QueueSidecarMemoryLimit             *resource.Quantity
	QueueSidecarEphemeralStorageRequest *resource.Quantity
	QueueSidecarEphemeralStorageLimit   *resource.Quantity
	QueueSidecarTokenAudiences          []string

	DefaultAffinityType    string
	RuntimeClassName       string
	PodIsAlwaysSchedulable bool
}

// DefaultDeployment returns config-deployment's defaults for ebb.
func DefaultDeployment() *Deployment {
	cpu := resource.MustParse("25m")
	return &Deployment{
		QueueSidecarImage:       DefaultQueueSidecarImage,
		ProgressDeadline:        600 * time.Second,
		DigestResolutionTimeout: 10 * time.Second,
		RegistriesSkippingTagResolving: map[string]bool{
			"kind.local": true, "ko.local": true, "dev.local": true,
		},
		QueueSidecarCPURequest: &cpu,
		DefaultAffinityType:    AffinityPreferSpreadOverNodes,
	}
}

// NewDeploymentFromMap parses config-deployment over the defaults.
func NewDeploymentFromMap(data map[string]string) (*Deployment, error) {
	d := DefaultDeployment()
	asString(data, &d.QueueSidecarImage, "queue-sidecar-image", "queueSidecarImage")
	if strings.TrimSpace(d.QueueSidecarImage) == "" {
		return nil, errors.New("queue-sidecar-image cannot be empty or whitespace")
	}
	if err := asDuration(data, &d.ProgressDeadline, "progress-deadline", "progressDeadline"); err != nil {
		return nil, err
	}
	if d.ProgressDeadline <= 0 {
		return nil, fmt.Errorf("progress-deadline cannot be a non-positive duration, was %v", d.ProgressDeadline)
	}
	if d.ProgressDeadline.Truncate(time.Second) != d.ProgressDeadline {
		return nil, fmt.Errorf("progress-deadline must be rounded to a whole second, was: %v", d.ProgressDeadline)
	}
	if err := asDuration(data, &d.DigestResolutionTimeout, "digest-resolution-timeout", "digestResolutionTimeout"); err != nil {
		return nil, err
	}
	if d.DigestResolutionTimeout <= 0 {
		return nil, fmt.Errorf("digest-resolution-timeout cannot be a non-positive duration, was %v", d.DigestResolutionTimeout)
	}
	if v, _, ok := lookup(data, "registries-skipping-tag-resolving", "registriesSkippingTagResolving"); ok {
		d.RegistriesSkippingTagResolving = map[string]bool{}
		for _, r := range strings.Split(v, ",") {
			if r = strings.TrimSpace(r); r != "" {
				d.RegistriesSkippingTagResolving[r] = true
			}
		}
	}
	for _, f := range []struct {
		dst **resource.Quantity
		key string
	}{
		{&d.QueueSidecarCPURequest, "queue-sidecar-cpu-request"},
		{&d.QueueSidecarCPULimit, "queue-sidecar-cpu-limit"},
		{&d.QueueSidecarMemoryRequest, "queue-sidecar-memory-request"},
		{&d.QueueSidecarMemoryLimit, "queue-sidecar-memory-limit"},
		{&d.QueueSidecarEphemeralStorageRequest, "queue-sidecar-ephemeral-storage-request"},
		{&d.QueueSidecarEphemeralStorageLimit, "queue-sidecar-ephemeral-storage-limit"},
	} {
		if err := asQuantity(data, f.dst, f.key); err != nil {
			return nil, err
		}
	}
	if v, _, ok := lookup(data, "queue-sidecar-token-audiences"); ok {
		for _, a := range strings.Split(v, ",") {
			if a = strings.TrimSpace(a); a != "" {
				d.QueueSidecarTokenAudiences = append(d.QueueSidecarTokenAudiences, a)
			}
		}
		sort.Strings(d.QueueSidecarTokenAudiences)
	}
	asString(data, &d.DefaultAffinityType, "default-affinity-type")
	switch d.DefaultAffinityType {
	case AffinityPreferSpreadOverNodes, AffinityNone:
	default:
		return nil, fmt.Errorf("unsupported %s value: %q", "default-affinity-type", d.DefaultAffinityType)
	}
	asString(data, &d.RuntimeClassName, "runtime-class-name")
	if err := asBool(data, &d.PodIsAlwaysSchedulable, "pod-is-always-schedulable"); err != nil {
		return nil, err
	}
	return d, nil
}

// SkipsTagResolving reports whether images from registry keep their tag.
func (d *Deployment) SkipsTagResolving(registry string) bool {
	return d.RegistriesSkippingTagResolving[registry]
}
