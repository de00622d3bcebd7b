package render

import (
	"fmt"
	"strconv"

	corev1 "k8s.io/api/core/v1"

	"github.com/ebb-dev/ebb/proxy/route"
	"github.com/ebb-dev/ebb/serving"
)

// Ports of a revision's pod, with Knative's numbers.
const (
	QueueHTTPPort         = 8012
	QueueH2CPort          = 8013
	QueueHTTPSPort        = 8112
	QueueAdminPort        = 8022
	QueueAutometricPort   = 9090
	QueueUsermetricPort   = 9091
	ServiceHTTPPort       = 80
	ServiceH2CPort        = 81
	ServiceHTTPSPort      = 443
	QueueContainerName    = "queue-proxy"
	UserPortName          = "user-port"
	QueuePortName         = "queue-port"
	QueueHTTPSPortName    = "https-port"
	AutometricPortName    = "http-autometric"
	UsermetricPortName    = "http-usermetric"
	QueueAdminPortName    = "queue-admin"
	appProtocolH2C        = "kubernetes.io/h2c"
	defaultTimeoutSeconds = 300
)

// revision is one ledger revision prepared for rendering: its defaulted
// template and the facts every builder needs.
type revision struct {
	namespace  string
	service    string
	name       string
	generation string
	uid        string
	tmpl       *serving.RevisionTemplateSpec
	// user is the index of the serving container (the one with a port, or
	// the only one).
	user     int
	userPort int32
	protocol string // route.ProtocolHTTP1 or route.ProtocolH2C

	cc, timeout, responseStart, idle int64
}

// newRevision prepares a ledger revision. tmpl must already be a defaulted
// copy that the caller owns (serving.DefaultTemplate).
func newRevision(namespace, service string, r *serving.Revision, tmpl *serving.RevisionTemplateSpec) (*revision, error) {
	rev := &revision{
		namespace:  namespace,
		service:    service,
		name:       r.Name,
		generation: strconv.FormatInt(r.Generation, 10),
		uid:        RevisionUID(namespace, r.Name),
		tmpl:       tmpl,
		protocol:   route.ProtocolHTTP1,
		timeout:    defaultTimeoutSeconds,
	}
	if len(tmpl.Spec.Containers) == 0 {
		return nil, fmt.Errorf("revision %s/%s: template has no container", namespace, r.Name)
	}
	rev.user = serving.ServingContainer(&tmpl.Spec)
	port, h2c := serving.UserPort(&tmpl.Spec)
	rev.userPort = port
	if h2c {
		rev.protocol = route.ProtocolH2C
	}
	s := &tmpl.Spec
	if s.ContainerConcurrency != nil {
		rev.cc = *s.ContainerConcurrency
	}
	if s.TimeoutSeconds != nil && *s.TimeoutSeconds > 0 {
		rev.timeout = *s.TimeoutSeconds
	}
	if s.ResponseStartTimeoutSeconds != nil {
		rev.responseStart = *s.ResponseStartTimeoutSeconds
	}
	if s.IdleTimeoutSeconds != nil {
		rev.idle = *s.IdleTimeoutSeconds
	}
	return rev, nil
}

func (r *revision) h2c() bool { return r.protocol == route.ProtocolH2C }

// queuePort is the queue-proxy port requests arrive on.
func (r *revision) queuePort() int32 {
	if r.h2c() {
		return QueueH2CPort
	}
	return QueueHTTPPort
}

// servicePort is the port the revision's k8s Services serve on, and its name.
func (r *revision) servicePort() (int32, string) {
	if r.h2c() {
		return ServiceH2CPort, "http2"
	}
	return ServiceHTTPPort, "http"
}

// routeRevision is what the gateway needs to know of the revision.
func (r *revision) routeRevision() route.Revision {
	return route.Revision{
		Namespace:                   r.namespace,
		Name:                        r.name,
		Service:                     r.service,
		Protocol:                    r.protocol,
		ContainerConcurrency:        int(r.cc),
		TimeoutSeconds:              r.timeout,
		ResponseStartTimeoutSeconds: r.responseStart,
		IdleTimeoutSeconds:          r.idle,
	}
}

// userContainer is the serving container of the template.
func (r *revision) userContainer() *corev1.Container { return &r.tmpl.Spec.Containers[r.user] }
