package render

import (
	"cmp"
	"encoding/json"
	"fmt"
	"strconv"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	"k8s.io/apimachinery/pkg/util/intstr"

	"github.com/ebb-dev/ebb/proxy/header"
	"github.com/ebb-dev/ebb/serving/config"
)

// Queue-proxy protocol constants, with Knative's names.
const (
	// probeHost is where the queue-proxy reaches the user container.
	probeHost = "127.0.0.1"

	// Per-revision overrides of the queue-proxy's resources.
	queueAnnotationPrefix = "queue.sidecar.serving.knative.dev/"
	// AnnotationHTTPFullDuplex turns on full-duplex HTTP/1 in the queue-proxy.
	AnnotationHTTPFullDuplex = "features.knative.dev/http-full-duplex"
)

// makeQueueContainer builds the injected queue-proxy for a revision; readiness
// is the serving container's (defaulted) readiness probe, which the
// queue-proxy runs in its place.
func makeQueueContainer(r *revision, cfg *config.Config, readiness *corev1.Probe) (*corev1.Container, error) {
	res, err := queueResources(r.tmpl.Annotations, cfg)
	if err != nil {
		return nil, fmt.Errorf("revision %s/%s: %w", r.namespace, r.name, err)
	}
	userProbe := queueUserProbe(readiness, r.userPort)
	probeJSON := ""
	if userProbe != nil {
		b, err := json.Marshal(userProbe)
		if err != nil {
			return nil, fmt.Errorf("revision %s/%s: readiness probe: %w", r.namespace, r.name, err)
		}
		probeJSON = string(b)
	}
	kubelet := &corev1.Probe{ProbeHandler: corev1.ProbeHandler{HTTPGet: &corev1.HTTPGetAction{
		Port:        intstr.FromInt32(r.queuePort()),
		HTTPHeaders: []corev1.HTTPHeader{{Name: header.Probe, Value: header.ProbeQueue}},
	}}}
	if readiness != nil {
		kubelet.InitialDelaySeconds = readiness.InitialDelaySeconds
		kubelet.TimeoutSeconds = readiness.TimeoutSeconds
		kubelet.PeriodSeconds = readiness.PeriodSeconds
		kubelet.SuccessThreshold = readiness.SuccessThreshold
		kubelet.FailureThreshold = readiness.FailureThreshold
	}
	fullDuplex := r.tmpl.Annotations[AnnotationHTTPFullDuplex] == string(config.Enabled)
	autoHTTP2 := cfg.Features.Flags[config.FeatureAutoDetectHTTP2] == config.Enabled
	multiProbe := cfg.Features.Flags[config.FeatureMultiContainerProbing] == config.Enabled
	return &corev1.Container{
		Name:  QueueContainerName,
		Image: cfg.Deployment.QueueSidecarImage,
		Args:  []string{"queue"},
		Ports: []corev1.ContainerPort{
			{Name: QueuePortName, ContainerPort: r.queuePort(), Protocol: corev1.ProtocolTCP},
			{Name: QueueAdminPortName, ContainerPort: QueueAdminPort, Protocol: corev1.ProtocolTCP},
			{Name: QueueHTTPSPortName, ContainerPort: QueueHTTPSPort, Protocol: corev1.ProtocolTCP},
			{Name: AutometricPortName, ContainerPort: QueueAutometricPort, Protocol: corev1.ProtocolTCP},
			{Name: UsermetricPortName, ContainerPort: QueueUsermetricPort, Protocol: corev1.ProtocolTCP},
		},
		Env: []corev1.EnvVar{
			{Name: "SERVING_NAMESPACE", Value: r.namespace},
			{Name: "SERVING_SERVICE", Value: r.service},
			{Name: "SERVING_CONFIGURATION", Value: r.service},
			{Name: "SERVING_REVISION", Value: r.name},
			{Name: "QUEUE_SERVING_PORT", Value: itoa32(r.queuePort())},
			{Name: "QUEUE_SERVING_TLS_PORT", Value: itoa32(QueueHTTPSPort)},
			{Name: "CONTAINER_CONCURRENCY", Value: strconv.FormatInt(r.cc, 10)},
			{Name: "REVISION_TIMEOUT_SECONDS", Value: strconv.FormatInt(r.timeout, 10)},
			{Name: "REVISION_RESPONSE_START_TIMEOUT_SECONDS", Value: strconv.FormatInt(r.responseStart, 10)},
			{Name: "REVISION_IDLE_TIMEOUT_SECONDS", Value: strconv.FormatInt(r.idle, 10)},
			{Name: "SERVING_POD", ValueFrom: fieldRef("metadata.name")},
			{Name: "SERVING_POD_IP", ValueFrom: fieldRef("status.podIP")},
			{Name: "HOST_IP", ValueFrom: fieldRef("status.hostIP")},
			{Name: "USER_PORT", Value: itoa32(r.userPort)},
			{Name: "SERVING_READINESS_PROBE", Value: probeJSON},
			{Name: "ENABLE_HTTP2_AUTO_DETECTION", Value: strconv.FormatBool(autoHTTP2)},
			{Name: "ENABLE_HTTP_FULL_DUPLEX", Value: strconv.FormatBool(fullDuplex)},
			{Name: "ENABLE_MULTI_CONTAINER_PROBES", Value: strconv.FormatBool(multiProbe)},
		},
		Resources:      res,
		ReadinessProbe: kubelet,
		SecurityContext: &corev1.SecurityContext{
			AllowPrivilegeEscalation: new(false),
			ReadOnlyRootFilesystem:   new(true),
			RunAsNonRoot:             new(true),
			Capabilities:             &corev1.Capabilities{Drop: []corev1.Capability{"ALL"}},
			SeccompProfile:           &corev1.SeccompProfile{Type: corev1.SeccompProfileTypeRuntimeDefault},
		},
	}, nil
}

// queueUserProbe is the user's readiness probe as the queue-proxy runs it:
// against 127.0.0.1 on the user port; an exec probe (which stays on the
// user container) becomes a TCP check. nil when there is no probe.
func queueUserProbe(p *corev1.Probe, port int32) *corev1.Probe {
	if p == nil {
		return nil
	}
	q := p.DeepCopy()
	switch {
	case q.HTTPGet != nil:
		q.HTTPGet.Host = probeHost
		q.HTTPGet.Port = intstr.FromInt32(port)
		if q.HTTPGet.Scheme == "" {
			q.HTTPGet.Scheme = corev1.URISchemeHTTP
		}
	case q.TCPSocket != nil:
		q.TCPSocket.Host = probeHost
		q.TCPSocket.Port = intstr.FromInt32(port)
	case q.Exec != nil:
		q.Exec = nil
		q.TCPSocket = &corev1.TCPSocketAction{Host: probeHost, Port: intstr.FromInt32(port)}
	case q.GRPC != nil:
		q.GRPC.Port = port
	}
	if q.PeriodSeconds > 0 && q.TimeoutSeconds < 1 {
		q.TimeoutSeconds = 1
	}
	return q
}

// queueResources are config-deployment's queue-sidecar resources, each
// overridden by the revision's queue.sidecar.serving.knative.dev/*
// annotation when present.
func queueResources(annotations map[string]string, cfg *config.Config) (corev1.ResourceRequirements, error) {
	d := cfg.Deployment
	// With queueproxy.resource-defaults, Knative also bounds the sidecar.
	cpuLimit, memRequest, memLimit := d.QueueSidecarCPULimit, d.QueueSidecarMemoryRequest, d.QueueSidecarMemoryLimit
	if cfg.Features.Flags[config.FeatureQueueProxyResourceDefs] == config.Enabled {
		cpuLimit = cmp.Or(cpuLimit, &queueDefaultCPULimit)
		memRequest = cmp.Or(memRequest, &queueDefaultMemoryRequest)
		memLimit = cmp.Or(memLimit, &queueDefaultMemoryLimit)
	}
	var rr corev1.ResourceRequirements
	for _, f := range []struct {
		name   corev1.ResourceName
		key    string
		limit  bool
		config *resource.Quantity
	}{
		{corev1.ResourceCPU, "cpu-resource-request", false, d.QueueSidecarCPURequest},
		{corev1.ResourceCPU, "cpu-resource-limit", true, cpuLimit},
		{corev1.ResourceMemory, "memory-resource-request", false, memRequest},
		{corev1.ResourceMemory, "memory-resource-limit", true, memLimit},
		{corev1.ResourceEphemeralStorage, "ephemeral-storage-resource-request", false, d.QueueSidecarEphemeralStorageRequest},
		{corev1.ResourceEphemeralStorage, "ephemeral-storage-resource-limit", true, d.QueueSidecarEphemeralStorageLimit},
	} {
		q := f.config
		if v, ok := annotations[queueAnnotationPrefix+f.key]; ok {
			parsed, err := resource.ParseQuantity(v)
			if err != nil {
				return rr, fmt.Errorf("annotation %s%s: %w", queueAnnotationPrefix, f.key, err)
			}
			q = &parsed
		}
		if q == nil {
			continue
		}
		dst := &rr.Requests
		if f.limit {
			dst = &rr.Limits
		}
		if *dst == nil {
			*dst = corev1.ResourceList{}
		}
		(*dst)[f.name] = q.DeepCopy()
	}
	return rr, nil
}

// The queue-proxy bounds Knative applies with queueproxy.resource-defaults.
var (
	queueDefaultCPULimit      = resource.MustParse("1000m")
	queueDefaultMemoryRequest = resource.MustParse("400Mi")
	queueDefaultMemoryLimit   = resource.MustParse("800Mi")
)

func fieldRef(path string) *corev1.EnvVarSource {
	return &corev1.EnvVarSource{FieldRef: &corev1.ObjectFieldSelector{FieldPath: path}}
}

func itoa32(n int32) string { return strconv.FormatInt(int64(n), 10) }
