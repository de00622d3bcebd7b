package serving

import (
	"reflect"
	"slices"
	"strconv"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/intstr"

	"github.com/ebb-dev/ebb/serving/config"
	"github.com/ebb-dev/ebb/serving/names"
	"github.com/ebb-dev/ebb/serving/traffic"
)

// DefaultTemplate applies Knative's defaults (reference §1.7) to a
// revision template in place: timeouts, containerConcurrency, container
// names, resources from config-defaults, the user container's readiness
// probe and probe thresholds, read-only volume mounts, enableServiceLinks
// and, with secure-pod-defaults, the containers' security contexts. owner is the
// Service's metadata (container-name-template runs on it; name and
// namespace are enough). The ledger keeps templates as written; render
// calls this for each revision so a config-defaults change never mints
// revisions.
func DefaultTemplate(t *RevisionTemplateSpec, owner metav1.ObjectMeta, cfg *config.Config) {
	d := cfg.Defaults
	rs := &t.Spec
	if rs.TimeoutSeconds == nil || *rs.TimeoutSeconds == 0 {
		rs.TimeoutSeconds = ptr(d.RevisionTimeoutSeconds)
	}
	if rs.ContainerConcurrency == nil {
		rs.ContainerConcurrency = ptr(d.ContainerConcurrency)
	}
	if rs.ResponseStartTimeoutSeconds == nil && d.RevisionResponseStartTimeoutSeconds != 0 &&
		d.RevisionResponseStartTimeoutSeconds < *rs.TimeoutSeconds {
		rs.ResponseStartTimeoutSeconds = ptr(d.RevisionResponseStartTimeoutSeconds)
	}
	if rs.IdleTimeoutSeconds == nil && d.RevisionIdleTimeoutSeconds != 0 &&
		d.RevisionIdleTimeoutSeconds < *rs.TimeoutSeconds {
		rs.IdleTimeoutSeconds = ptr(d.RevisionIdleTimeoutSeconds)
	}
	if rs.EnableServiceLinks == nil {
		rs.EnableServiceLinks = ptr(d.EnableServiceLinks)
	}
	taken := map[string]bool{}
	for _, cs := range [][]corev1.Container{rs.Containers, rs.InitContainers} {
		for _, c := range cs {
			taken[c.Name] = true
		}
	}
	defaultContainerNames(rs.Containers, taken, d.UserContainerName(owner))
	defaultContainerNames(rs.InitContainers, taken, d.InitContainerName(owner))
	for i := range rs.Containers {
		c := &rs.Containers[i]
		defaultResources(c, d)
		defaultMounts(c, rs.Volumes)
		// As Knative: the default probe goes to the container that
		// serves (the only one, or the one naming a port); every
		// readiness probe gets the thresholds.
		if len(rs.Containers) == 1 || len(c.Ports) > 0 {
			defaultHandler(c)
		}
		defaultProbes(c)
		defaultSecurityContext(rs.SecurityContext, c, cfg.Features)
	}
	for i := range rs.InitContainers {
		c := &rs.InitContainers[i]
		// Knative leaves init containers' mounts as written: one that is
		// not read-only where it must be is an error, not made read-only.
		defaultSecurityContext(rs.SecurityContext, c, cfg.Features)
	}
}

// defaultSecurityContext applies secure-pod-defaults (Enabled or
// AllowRootBounded) to a container as Knative does: no privilege
// escalation, the RuntimeDefault seccomp profile unless the pod sets one,
// capabilities dropped (NET_BIND_SERVICE kept for a port below 1024)
// unless the container sets its own, and, when Enabled, runAsNonRoot
// unless the pod or the container says otherwise.
func defaultSecurityContext(psc *corev1.PodSecurityContext, c *corev1.Container, f *config.Features) {
	if !securePodDefaults(f) {
		return
	}
	if psc == nil {
		psc = &corev1.PodSecurityContext{}
	}
	sc := c.SecurityContext
	if sc == nil {
		sc = &corev1.SecurityContext{}
	}
	if sc.AllowPrivilegeEscalation == nil {
		sc.AllowPrivilegeEscalation = ptr(false)
	}
	if psc.SeccompProfile == nil || psc.SeccompProfile.Type == "" {
		if sc.SeccompProfile == nil {
			sc.SeccompProfile = &corev1.SeccompProfile{}
		}
		if sc.SeccompProfile.Type == "" {
			sc.SeccompProfile.Type = corev1.SeccompProfileTypeRuntimeDefault
		}
	}
	if sc.Capabilities == nil {
		sc.Capabilities = &corev1.Capabilities{Drop: []corev1.Capability{"ALL"}}
		if slices.ContainsFunc(c.Ports, func(p corev1.ContainerPort) bool { return p.ContainerPort < 1024 }) {
			sc.Capabilities.Add = []corev1.Capability{"NET_BIND_SERVICE"}
		}
	}
	if f.IsEnabled(config.FeatureSecurePodDefaults) && psc.RunAsNonRoot == nil && sc.RunAsNonRoot == nil {
		sc.RunAsNonRoot = ptr(true)
	}
	if !reflect.DeepEqual(*sc, corev1.SecurityContext{}) {
		c.SecurityContext = sc
	}
}

// defaultContainerNames names the unnamed containers of cs as Knative
// does: name alone, or, with several containers or when name is taken,
// name-0, name-1, … skipping the names taken.
func defaultContainerNames(cs []corev1.Container, taken map[string]bool, name string) {
	next := 0
	for i := range cs {
		if cs[i].Name != "" {
			continue
		}
		n := name
		if len(cs) > 1 || taken[n] {
			for {
				n = names.Child(name, "-"+strconv.Itoa(next))
				next++
				if !taken[n] {
					break
				}
			}
		}
		cs[i].Name = n
	}
}

// ServingContainer returns the index of the container that receives
// requests: the one that names a port, else the first.
func ServingContainer(rs *RevisionSpec) int {
	for i := range rs.Containers {
		if len(rs.Containers[i].Ports) > 0 {
			return i
		}
	}
	return 0
}

// DefaultUserPort is the port a container listens on when it names none.
const DefaultUserPort = 8080

// UserPort returns the serving container's port and whether it speaks h2c.
func UserPort(rs *RevisionSpec) (port int32, h2c bool) {
	if len(rs.Containers) == 0 {
		return DefaultUserPort, false
	}
	c := rs.Containers[ServingContainer(rs)]
	if len(c.Ports) == 0 {
		return DefaultUserPort, false
	}
	p := c.Ports[0]
	port = p.ContainerPort
	if port == 0 {
		port = DefaultUserPort
	}
	return port, p.Name == "h2c"
}

func defaultResources(c *corev1.Container, d *config.Defaults) {
	set := func(l *corev1.ResourceList, name corev1.ResourceName, q *resource.Quantity) {
		if q == nil {
			return
		}
		if *l == nil {
			*l = corev1.ResourceList{}
		}
		if _, has := (*l)[name]; !has {
			(*l)[name] = q.DeepCopy()
		}
	}
	set(&c.Resources.Requests, corev1.ResourceCPU, d.RevisionCPURequest)
	set(&c.Resources.Requests, corev1.ResourceMemory, d.RevisionMemoryRequest)
	set(&c.Resources.Requests, corev1.ResourceEphemeralStorage, d.RevisionEphemeralStorageRequest)
	set(&c.Resources.Limits, corev1.ResourceCPU, d.RevisionCPULimit)
	set(&c.Resources.Limits, corev1.ResourceMemory, d.RevisionMemoryLimit)
	set(&c.Resources.Limits, corev1.ResourceEphemeralStorage, d.RevisionEphemeralStorageLimit)
}

// defaultHandler gives the serving container Knative's default probe: a
// TCP probe on the user port, unless its readiness probe has a handler.
func defaultHandler(c *corev1.Container) {
	if c.ReadinessProbe == nil {
		c.ReadinessProbe = &corev1.Probe{}
	}
	h := &c.ReadinessProbe.ProbeHandler
	if h.HTTPGet == nil && h.TCPSocket == nil && h.Exec == nil && h.GRPC == nil {
		h.TCPSocket = &corev1.TCPSocketAction{Port: intstr.IntOrString{}}
	}
}

// defaultProbes applies Knative's probe defaults: a readiness probe's
// successThreshold 1 and, when it sets a period, failureThreshold 3 and
// timeoutSeconds 1; a gRPC probe's service "".
func defaultProbes(c *corev1.Container) {
	if p := c.ReadinessProbe; p != nil {
		if p.SuccessThreshold == 0 {
			p.SuccessThreshold = 1
		}
		if p.PeriodSeconds != 0 {
			if p.FailureThreshold == 0 {
				p.FailureThreshold = 3
			}
			if p.TimeoutSeconds == 0 {
				p.TimeoutSeconds = 1
			}
		}
	}
	for _, p := range []*corev1.Probe{c.ReadinessProbe, c.LivenessProbe, c.StartupProbe} {
		if p != nil && p.GRPC != nil && p.GRPC.Service == nil {
			p.GRPC.Service = ptr("")
		}
	}
}

// defaultMounts makes mounts read-only unless their volume is writable
// scratch or storage (emptyDir, PVC, ephemeral).
func defaultMounts(c *corev1.Container, vols []corev1.Volume) {
	writable := map[string]bool{}
	for _, v := range vols {
		if v.EmptyDir != nil || v.PersistentVolumeClaim != nil || v.Ephemeral != nil {
			writable[v.Name] = true
		}
	}
	for i := range c.VolumeMounts {
		if !writable[c.VolumeMounts[i].Name] {
			c.VolumeMounts[i].ReadOnly = true
		}
	}
}

// DefaultTraffic returns spec.traffic with Knative's defaults: empty
// becomes 100% to the latest revision; each entry gets latestRevision =
// (revisionName == "") and percent 0 when unset.
func DefaultTraffic(targets []TrafficTarget) []TrafficTarget {
	if len(targets) == 0 {
		return []TrafficTarget{{LatestRevision: ptr(true), Percent: ptr(traffic.Percent(100))}}
	}
	out := make([]TrafficTarget, len(targets))
	for i, t := range targets {
		if t.LatestRevision == nil {
			t.LatestRevision = ptr(t.RevisionName == "")
		}
		if t.Percent == nil {
			t.Percent = ptr(traffic.Percent(0))
		}
		out[i] = t
	}
	return out
}

func ptr[T any](v T) *T { return &v }

// Template returns a defaulted copy of a revision's template, ready to
// render, or false when the ledger has no such revision.
func (l *Ledger) Template(revision string, cfg *config.Config) (*RevisionTemplateSpec, bool) {
	for i := range l.Revisions {
		if l.Revisions[i].Name == revision {
			t := l.Revisions[i].Template.DeepCopy()
			DefaultTemplate(t, metav1.ObjectMeta{Name: l.Service, Namespace: l.Namespace}, cfg)
			return t, true
		}
	}
	return nil, false
}
