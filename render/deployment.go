package render

import (
	"maps"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/intstr"

	"github.com/ebb-dev/ebb/proxy/route"
	"github.com/ebb-dev/ebb/scaler/autoscaling"
	"github.com/ebb-dev/ebb/serving"
	"github.com/ebb-dev/ebb/serving/config"
	"github.com/ebb-dev/ebb/serving/names"
)

// makeDeployment builds a revision's Deployment the way Knative's revision
// reconciler does: the user's pod spec with its serving container rewritten
// and the queue-proxy sidecar added.
func makeDeployment(r *revision, cfg *config.Config, scaling *autoscaling.Config) (*appsv1.Deployment, error) {
	pod, err := makePodSpec(r, cfg)
	if err != nil {
		return nil, err
	}
	labels := revisionLabels(r)
	annotations := deploymentAnnotations(r.tmpl.Annotations)
	podAnnotations := maps.Clone(annotations)
	podAnnotations[AnnotationDefaultContainer] = r.userContainer().Name

	replicas := autoscaling.InitialScale(scaling, r.tmpl.Annotations)
	deadline := int32(autoscaling.ProgressDeadline(r.tmpl.Annotations, cfg.Deployment.ProgressDeadline).Seconds())
	maxUnavailable := intstr.FromInt32(0)
	return &appsv1.Deployment{
		TypeMeta: metav1.TypeMeta{APIVersion: "apps/v1", Kind: "Deployment"},
		ObjectMeta: metav1.ObjectMeta{
			Name:        names.Deployment(r.name),
			Namespace:   r.namespace,
			Labels:      labels,
			Annotations: nilIfEmpty(annotations),
		},
		Spec: appsv1.DeploymentSpec{
			Replicas:                &replicas,
			Selector:                &metav1.LabelSelector{MatchLabels: map[string]string{LabelRevisionUID: r.uid}},
			ProgressDeadlineSeconds: &deadline,
			RevisionHistoryLimit:    new(int32(0)),
			Strategy: appsv1.DeploymentStrategy{
				Type:          appsv1.RollingUpdateDeploymentStrategyType,
				RollingUpdate: &appsv1.RollingUpdateDeployment{MaxUnavailable: &maxUnavailable},
			},
			Template: corev1.PodTemplateSpec{
				ObjectMeta: metav1.ObjectMeta{Labels: labels, Annotations: podAnnotations},
				Spec:       *pod,
			},
		},
	}, nil
}

// makePodSpec is the revision's pod: the template's pod spec with the
// serving container rewritten, the queue-proxy appended, and Knative's pod
// defaults. It edits the revision's template, which is the render's own
// defaulted copy, in place rather than copying it once more.
func makePodSpec(r *revision, cfg *config.Config) (*corev1.PodSpec, error) {
	pod := &r.tmpl.Spec.PodSpec
	user := &pod.Containers[r.user]
	readiness := user.ReadinessProbe
	makeUserContainer(r, user)
	qp, err := makeQueueContainer(r, cfg, readiness)
	if err != nil {
		return nil, err
	}
	pod.Containers = append(pod.Containers[:len(pod.Containers):len(pod.Containers)], *qp)

	pod.TerminationGracePeriodSeconds = new(r.timeout)
	if _, ok := r.tmpl.Labels[serving.PreviewLabel]; ok {
		// A preview's pods get no credentials of the namespace.
		pod.AutomountServiceAccountToken = new(false)
	}
	if pod.EnableServiceLinks == nil {
		pod.EnableServiceLinks = new(cfg.Defaults.EnableServiceLinks)
	}
	if pod.Affinity == nil && cfg.Deployment.DefaultAffinityType == config.AffinityPreferSpreadOverNodes {
		pod.Affinity = &corev1.Affinity{PodAntiAffinity: &corev1.PodAntiAffinity{
			PreferredDuringSchedulingIgnoredDuringExecution: []corev1.WeightedPodAffinityTerm{{
				Weight: 100,
				PodAffinityTerm: corev1.PodAffinityTerm{
					TopologyKey:   "kubernetes.io/hostname",
					LabelSelector: &metav1.LabelSelector{MatchLabels: map[string]string{route.RevisionLabel: r.name}},
				},
			}},
		}}
	}
	if pod.RuntimeClassName == nil && cfg.Deployment.RuntimeClassName != "" {
		pod.RuntimeClassName = new(cfg.Deployment.RuntimeClassName)
	}
	return pod, nil
}

// makeUserContainer rewrites the serving container in place: one user-port,
// the Knative env, a preStop that waits for the queue-proxy to drain, the
// readiness probe handed to the queue-proxy (exec probes stay), the liveness
// probe aimed at the user port.
func makeUserContainer(r *revision, c *corev1.Container) {
	c.Ports = []corev1.ContainerPort{{Name: UserPortName, ContainerPort: r.userPort, Protocol: corev1.ProtocolTCP}}
	env := make([]corev1.EnvVar, 0, len(c.Env)+4)
	env = append(env, c.Env...)
	c.Env = append(env,
		corev1.EnvVar{Name: "PORT", Value: itoa32(r.userPort)},
		corev1.EnvVar{Name: "K_REVISION", Value: r.name},
		corev1.EnvVar{Name: "K_CONFIGURATION", Value: r.service},
		corev1.EnvVar{Name: "K_SERVICE", Value: r.service},
	)
	c.Lifecycle = &corev1.Lifecycle{PreStop: &corev1.LifecycleHandler{
		HTTPGet: &corev1.HTTPGetAction{Path: "/wait-for-drain", Port: intstr.FromInt32(QueueAdminPort)},
	}}
	if p := c.ReadinessProbe; p != nil && p.Exec == nil {
		c.ReadinessProbe = nil
	}
	if p := c.LivenessProbe; p != nil {
		switch {
		case p.HTTPGet != nil:
			p.HTTPGet.Port = intstr.FromInt32(r.userPort)
		case p.TCPSocket != nil:
			p.TCPSocket.Port = intstr.FromInt32(r.userPort)
		case p.GRPC != nil:
			p.GRPC.Port = r.userPort
		}
	}
	c.Stdin, c.StdinOnce, c.TTY = false, false, false
	if c.TerminationMessagePolicy == "" {
		c.TerminationMessagePolicy = corev1.TerminationMessageFallbackToLogsOnError
	}
}

func nilIfEmpty(m map[string]string) map[string]string {
	if len(m) == 0 {
		return nil
	}
	return m
}
