package serving

import (
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/ebb-dev/ebb/serving/traffic"
)

// Group and versions that ebb reads from a serving repository.
const (
	Group             = "serving.knative.dev"
	VersionV1         = "v1"
	KindService       = "Service"
	KindDomainMapping = "DomainMapping"
)

// Service is a serving.knative.dev/v1 Service as written in Git.
type Service struct {
	metav1.TypeMeta   `json:",inline"`
	metav1.ObjectMeta `json:"metadata,omitempty"`

	Spec ServiceSpec `json:"spec,omitempty"`
}

// ServiceSpec is the Service's desired state: one template and the traffic
// split across the revisions made from it.
type ServiceSpec struct {
	// Template describes the revisions to create. A change to it (spec or
	// metadata) makes a new revision.
	Template RevisionTemplateSpec `json:"template"`

	// Traffic splits requests across revisions. Empty means all traffic to
	// the latest revision.
	Traffic []TrafficTarget `json:"traffic,omitempty"`
}

// RevisionTemplateSpec is the template a revision is made from.
type RevisionTemplateSpec struct {
	metav1.ObjectMeta `json:"metadata,omitempty"`
	Spec              RevisionSpec `json:"spec,omitempty"`
}

// RevisionSpec is a pod spec plus the serving knobs Knative adds to it.
type RevisionSpec struct {
	corev1.PodSpec `json:",inline"`

	// ContainerConcurrency is the hard limit of requests in flight per pod;
	// 0 means no limit.
	ContainerConcurrency *int64 `json:"containerConcurrency,omitempty"`

	// TimeoutSeconds is the deadline for a whole request.
	TimeoutSeconds *int64 `json:"timeoutSeconds,omitempty"`

	// ResponseStartTimeoutSeconds bounds the wait for the first byte.
	ResponseStartTimeoutSeconds *int64 `json:"responseStartTimeoutSeconds,omitempty"`

	// IdleTimeoutSeconds bounds the gap between two writes of a response.
	IdleTimeoutSeconds *int64 `json:"idleTimeoutSeconds,omitempty"`
}

// TrafficTarget is one entry of spec.traffic.
type TrafficTarget struct {
	Tag               string           `json:"tag,omitempty"`
	RevisionName      string           `json:"revisionName,omitempty"`
	ConfigurationName string           `json:"configurationName,omitempty"`
	LatestRevision    *bool            `json:"latestRevision,omitempty"`
	Percent           *traffic.Percent `json:"percent,omitempty"`
	// URL is output only; setting it in Git is an error.
	URL string `json:"url,omitempty"`
}

// DomainMapping maps a custom domain (its name) onto a Service.
// Read as serving.knative.dev/v1beta1 or v1alpha1.
type DomainMapping struct {
	metav1.TypeMeta   `json:",inline"`
	metav1.ObjectMeta `json:"metadata,omitempty"`

	Spec DomainMappingSpec `json:"spec,omitempty"`
}

// DomainMappingSpec names the target and the optional TLS secret.
type DomainMappingSpec struct {
	Ref KReference `json:"ref"`
	TLS *SecretTLS `json:"tls,omitempty"`
}

// KReference points at an addressable object in the same namespace.
type KReference struct {
	APIVersion string `json:"apiVersion,omitempty"`
	Kind       string `json:"kind"`
	Namespace  string `json:"namespace,omitempty"`
	Name       string `json:"name"`
}

// SecretTLS names a kubernetes.io/tls Secret for a DomainMapping.
type SecretTLS struct {
	SecretName string `json:"secretName"`
}
