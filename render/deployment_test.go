package render

import (
	"testing"

	"github.com/google/go-cmp/cmp"
	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/intstr"

	"github.com/ebb-dev/ebb/proxy/route"
	"github.com/ebb-dev/ebb/serving"
	"github.com/ebb-dev/ebb/serving/config"
)

// buildDeployment defaults a template as Render does and builds its
// revision's Deployment.
func buildDeployment(t *testing.T, tmpl serving.RevisionTemplateSpec, cfg *config.Config) (*revision, *appsv1.Deployment) {
	t.Helper()
	tp := tmpl.DeepCopy()
	serving.DefaultTemplate(tp, metav1.ObjectMeta{Name: "hello", Namespace: "default"}, cfg)
	rev, err := newRevision("default", "hello", &serving.Revision{Name: "hello-00002", Generation: 2}, tp)
	if err != nil {
		t.Fatal(err)
	}
	d, err := makeDeployment(rev, cfg, cfg.Autoscaler)
	if err != nil {
		t.Fatal(err)
	}
	return rev, d
}

func envOf(c corev1.Container) map[string]string {
	m := map[string]string{}
	for _, e := range c.Env {
		m[e.Name] = e.Value
	}
	return m
}

func TestDeploymentUserContainer(t *testing.T) {
	tmpl := testService("hello").Spec.Template
	c := &tmpl.Spec.Containers[0]
	c.Ports = []corev1.ContainerPort{{Name: "http1", ContainerPort: 9000, HostPort: 80}}
	c.Env = []corev1.EnvVar{{Name: "TARGET", Value: "world"}}
	c.ReadinessProbe = &corev1.Probe{ProbeHandler: corev1.ProbeHandler{HTTPGet: &corev1.HTTPGetAction{Path: "/ready"}}, PeriodSeconds: 3}
	c.LivenessProbe = &corev1.Probe{ProbeHandler: corev1.ProbeHandler{TCPSocket: &corev1.TCPSocketAction{}}}
	c.Stdin, c.TTY = true, true
	_, d := buildDeployment(t, tmpl, config.Default())

	got := d.Spec.Template.Spec.Containers[0]
	want := corev1.Container{
		Name:  "user-container",
		Image: "ghcr.io/example/hello:v1",
		Ports: []corev1.ContainerPort{{Name: "user-port", ContainerPort: 9000, Protocol: corev1.ProtocolTCP}},
		Env: []corev1.EnvVar{
			{Name: "TARGET", Value: "world"},
			{Name: "PORT", Value: "9000"},
			{Name: "K_REVISION", Value: "hello-00002"},
			{Name: "K_CONFIGURATION", Value: "hello"},
			{Name: "K_SERVICE", Value: "hello"},
		},
		LivenessProbe: &corev1.Probe{ProbeHandler: corev1.ProbeHandler{TCPSocket: &corev1.TCPSocketAction{Port: intstr.FromInt32(9000)}}},
		Lifecycle: &corev1.Lifecycle{PreStop: &corev1.LifecycleHandler{
			HTTPGet: &corev1.HTTPGetAction{Path: "/wait-for-drain", Port: intstr.FromInt32(8022)},
		}},
		TerminationMessagePolicy: corev1.TerminationMessageFallbackToLogsOnError,
	}
	if d := cmp.Diff(want, got); d != "" {
		t.Errorf("user container (-want +got):\n%s", d)
	}

	qp := d.Spec.Template.Spec.Containers[1]
	if e := envOf(qp)["SERVING_READINESS_PROBE"]; e != `{"httpGet":{"path":"/ready","port":9000,"host":"127.0.0.1","scheme":"HTTP"},"timeoutSeconds":1,"periodSeconds":3,"successThreshold":1,"failureThreshold":3}` {
		t.Errorf("SERVING_READINESS_PROBE = %s", e)
	}
	wantProbe := &corev1.Probe{
		ProbeHandler: corev1.ProbeHandler{HTTPGet: &corev1.HTTPGetAction{
			Port: intstr.FromInt32(8012), HTTPHeaders: []corev1.HTTPHeader{{Name: "K-Network-Probe", Value: "queue"}},
		}},
		TimeoutSeconds: 1, PeriodSeconds: 3, SuccessThreshold: 1, FailureThreshold: 3,
	}
	if d := cmp.Diff(wantProbe, qp.ReadinessProbe); d != "" {
		t.Errorf("queue-proxy readiness (-want +got):\n%s", d)
	}
}

func TestDeploymentExecProbeStays(t *testing.T) {
	tmpl := testService("hello").Spec.Template
	exec := &corev1.Probe{ProbeHandler: corev1.ProbeHandler{Exec: &corev1.ExecAction{Command: []string{"true"}}}}
	tmpl.Spec.Containers[0].ReadinessProbe = exec
	_, d := buildDeployment(t, tmpl, config.Default())
	user, qp := d.Spec.Template.Spec.Containers[0], d.Spec.Template.Spec.Containers[1]
	if user.ReadinessProbe == nil || user.ReadinessProbe.Exec == nil {
		t.Errorf("exec readiness probe left the user container: %+v", user.ReadinessProbe)
	}
	if e := envOf(qp)["SERVING_READINESS_PROBE"]; e != `{"tcpSocket":{"port":8080,"host":"127.0.0.1"},"successThreshold":1}` {
		t.Errorf("SERVING_READINESS_PROBE = %s", e)
	}
}

func TestDeploymentQueueProxy(t *testing.T) {
	tmpl := testService("hello").Spec.Template
	tmpl.Spec.Containers[0].Ports = []corev1.ContainerPort{{Name: "h2c", ContainerPort: 8081}}
	tmpl.Spec.ContainerConcurrency = new(int64(10))
	tmpl.Spec.TimeoutSeconds = new(int64(60))
	tmpl.Annotations = map[string]string{
		"queue.sidecar.serving.knative.dev/memory-resource-limit": "200Mi",
		AnnotationHTTPFullDuplex:                                  "Enabled",
	}
	cfg := testConfig(t, map[string]map[string]string{
		config.DeploymentName: {"queue-sidecar-image": "ghcr.io/ebb-dev/ebb:v1", "queue-sidecar-cpu-request": "50m"},
		config.FeaturesName:   {config.FeatureAutoDetectHTTP2: "Enabled"},
	})
	_, d := buildDeployment(t, tmpl, cfg)
	qp := d.Spec.Template.Spec.Containers[1]
	if qp.Name != "queue-proxy" || qp.Image != "ghcr.io/ebb-dev/ebb:v1" || !cmp.Equal(qp.Args, []string{"queue"}) {
		t.Errorf("queue-proxy %q image %q args %q", qp.Name, qp.Image, qp.Args)
	}
	wantEnv := map[string]string{
		"SERVING_NAMESPACE": "default", "SERVING_SERVICE": "hello", "SERVING_CONFIGURATION": "hello",
		"SERVING_REVISION": "hello-00002", "QUEUE_SERVING_PORT": "8013", "QUEUE_SERVING_TLS_PORT": "8112",
		"CONTAINER_CONCURRENCY": "10", "REVISION_TIMEOUT_SECONDS": "60",
		"REVISION_RESPONSE_START_TIMEOUT_SECONDS": "0", "REVISION_IDLE_TIMEOUT_SECONDS": "0",
		"SERVING_POD": "", "SERVING_POD_IP": "", "HOST_IP": "", "USER_PORT": "8081",
		"SERVING_READINESS_PROBE":     `{"tcpSocket":{"port":8081,"host":"127.0.0.1"},"successThreshold":1}`,
		"ENABLE_HTTP2_AUTO_DETECTION": "true", "ENABLE_HTTP_FULL_DUPLEX": "true", "ENABLE_MULTI_CONTAINER_PROBES": "false",
	}
	if d := cmp.Diff(wantEnv, envOf(qp)); d != "" {
		t.Errorf("queue-proxy env (-want +got):\n%s", d)
	}
	for _, e := range qp.Env {
		if (e.Name == "SERVING_POD") != (e.ValueFrom != nil && e.ValueFrom.FieldRef.FieldPath == "metadata.name") {
			t.Errorf("env %s: valueFrom %+v", e.Name, e.ValueFrom)
		}
	}
	wantPorts := []corev1.ContainerPort{
		{Name: "queue-port", ContainerPort: 8013, Protocol: corev1.ProtocolTCP},
		{Name: "queue-admin", ContainerPort: 8022, Protocol: corev1.ProtocolTCP},
		{Name: "https-port", ContainerPort: 8112, Protocol: corev1.ProtocolTCP},
		{Name: "http-autometric", ContainerPort: 9090, Protocol: corev1.ProtocolTCP},
		{Name: "http-usermetric", ContainerPort: 9091, Protocol: corev1.ProtocolTCP},
	}
	if d := cmp.Diff(wantPorts, qp.Ports); d != "" {
		t.Errorf("queue-proxy ports (-want +got):\n%s", d)
	}
	wantRes := corev1.ResourceRequirements{
		Requests: corev1.ResourceList{corev1.ResourceCPU: resource.MustParse("50m")},
		Limits:   corev1.ResourceList{corev1.ResourceMemory: resource.MustParse("200Mi")},
	}
	if !cmp.Equal(wantRes.Requests.Cpu().String(), qp.Resources.Requests.Cpu().String()) ||
		!cmp.Equal(wantRes.Limits.Memory().String(), qp.Resources.Limits.Memory().String()) ||
		len(qp.Resources.Requests) != 1 || len(qp.Resources.Limits) != 1 {
		t.Errorf("queue-proxy resources %+v", qp.Resources)
	}
	sc := qp.SecurityContext
	if sc == nil || !*sc.RunAsNonRoot || !*sc.ReadOnlyRootFilesystem || *sc.AllowPrivilegeEscalation ||
		!cmp.Equal(sc.Capabilities.Drop, []corev1.Capability{"ALL"}) || sc.SeccompProfile.Type != corev1.SeccompProfileTypeRuntimeDefault {
		t.Errorf("queue-proxy security context %+v", sc)
	}
	if got := *d.Spec.Template.Spec.TerminationGracePeriodSeconds; got != 60 {
		t.Errorf("terminationGracePeriodSeconds = %d, want the timeout 60", got)
	}
}

func TestDeploymentMetadataAndSpec(t *testing.T) {
	tmpl := testService("hello").Spec.Template
	tmpl.Labels = map[string]string{"app": "mine", "serving.knative.dev/routingState": "active", "team": "core"}
	tmpl.Annotations = map[string]string{
		"autoscaling.knative.dev/initial-scale":    "3",
		"autoscaling.knative.dev/min-scale":        "1",
		"serving.knative.dev/progress-deadline":    "120s",
		"serving.knative.dev/routes":               "hello",
		"serving.knative.dev/no-gc":                "true",
		"example.com/keep":                         "yes",
		"serving.knative.dev/routingStateModified": "2026-01-01T00:00:00Z",
	}
	cfg := testConfig(t, map[string]map[string]string{config.DeploymentName: {"default-affinity-type": "none"}})
	rev, d := buildDeployment(t, tmpl, cfg)

	wantLabels := map[string]string{
		"app": "mine", "team": "core",
		LabelService: "hello", LabelConfiguration: "hello", LabelConfigurationGeneration: "2",
		route.RevisionLabel: "hello-00002", LabelRevisionUID: rev.uid,
	}
	if d := cmp.Diff(wantLabels, d.Labels); d != "" {
		t.Errorf("labels (-want +got):\n%s", d)
	}
	if d := cmp.Diff(map[string]string{"serving.knative.dev/progress-deadline": "120s", "example.com/keep": "yes"}, d.Annotations); d != "" {
		t.Errorf("annotations (-want +got):\n%s", d)
	}
	if d.Spec.Template.Annotations[AnnotationDefaultContainer] != "user-container" {
		t.Errorf("pod annotations %v", d.Spec.Template.Annotations)
	}
	if got := d.Spec.Selector.MatchLabels; !cmp.Equal(got, map[string]string{LabelRevisionUID: rev.uid}) {
		t.Errorf("selector %v", got)
	}
	if *d.Spec.Replicas != 3 || *d.Spec.ProgressDeadlineSeconds != 120 || *d.Spec.RevisionHistoryLimit != 0 ||
		d.Spec.Strategy.RollingUpdate.MaxUnavailable.IntValue() != 0 {
		t.Errorf("replicas %d, progressDeadlineSeconds %d, revisionHistoryLimit %d, strategy %+v",
			*d.Spec.Replicas, *d.Spec.ProgressDeadlineSeconds, *d.Spec.RevisionHistoryLimit, d.Spec.Strategy)
	}
	pod := d.Spec.Template.Spec
	if pod.Affinity != nil || pod.EnableServiceLinks == nil || *pod.EnableServiceLinks {
		t.Errorf("affinity %+v, enableServiceLinks %v", pod.Affinity, pod.EnableServiceLinks)
	}

	_, d = buildDeployment(t, testService("hello").Spec.Template, config.Default())
	if *d.Spec.Replicas != 1 || d.Labels["app"] != "hello-00002" || d.Spec.Template.Spec.Affinity == nil {
		t.Errorf("defaults: replicas %d, app %q, affinity %+v", *d.Spec.Replicas, d.Labels["app"], d.Spec.Template.Spec.Affinity)
	}
}
