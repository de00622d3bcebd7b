package render

import (
	"bytes"
	"encoding/json"
	"fmt"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"

	"github.com/ebb-dev/ebb/serving"
	"github.com/ebb-dev/ebb/serving/config"
)

// testService is a Service named name in namespace default running image.
func testService(name string) *serving.Service {
	return &serving.Service{
		TypeMeta:   metav1.TypeMeta{APIVersion: "serving.knative.dev/v1", Kind: "Service"},
		ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: "default"},
		Spec: serving.ServiceSpec{Template: serving.RevisionTemplateSpec{
			Spec: serving.RevisionSpec{PodSpec: corev1.PodSpec{Containers: []corev1.Container{{
				Image: "ghcr.io/example/" + name + ":v1",
			}}}},
		}},
	}
}

// testLedger plans svc by hand: one revision per template given (the
// service's own when none), the latest taking all traffic.
func testLedger(svc *serving.Service, templates ...serving.RevisionTemplateSpec) *serving.Ledger {
	if len(templates) == 0 {
		templates = []serving.RevisionTemplateSpec{svc.Spec.Template}
	}
	l := &serving.Ledger{
		APIVersion: serving.LedgerAPIVersion, Kind: serving.LedgerKind,
		Namespace: svc.Namespace, Service: svc.Name,
	}
	for i, t := range templates {
		name := fmt.Sprintf("%s-%05d", svc.Name, i+1)
		l.Revisions = append(l.Revisions, serving.Revision{
			Name: name, Generation: int64(i + 1), Hash: fmt.Sprintf("h%d", i+1),
			Created:  serving.Stamp{Commit: "c0ffee", Time: metav1.NewTime(time.Date(2026, 11, 1, 12, 0, 0, 0, time.UTC))},
			Template: *t.DeepCopy(),
		})
		l.Latest = name
	}
	l.Generation = int64(len(templates))
	l.Traffic = []serving.Target{{RevisionName: l.Latest, LatestRevision: true, Percent: 100}}
	return l
}

// testConfig is the default configuration with ConfigMap data applied,
// through the real parser.
func testConfig(t testing.TB, maps map[string]map[string]string) *config.Config {
	t.Helper()
	cfg := config.Default()
	for name, data := range maps {
		if err := cfg.Apply(name, data); err != nil {
			t.Fatal(err)
		}
	}
	return cfg
}

func toYAML(t testing.TB, objs []*unstructured.Unstructured) string {
	t.Helper()
	var b bytes.Buffer
	if err := WriteYAML(&b, objs); err != nil {
		t.Fatal(err)
	}
	return b.String()
}

// benchInput is n Services spread over 10 namespaces, each with revs
// revisions (the newest 90%, the one before 10% behind the tag
// "previous"), env, resources and an HTTP readiness probe.
func benchInput(n, revs int) Input {
	in := Input{}
	for i := range n {
		s := testService(fmt.Sprintf("svc-%05d", i))
		s.Namespace = fmt.Sprintf("team-%d", i%10)
		s.Labels = map[string]string{"team": s.Namespace}
		c := &s.Spec.Template.Spec.Containers[0]
		c.Env = []corev1.EnvVar{{Name: "TARGET", Value: "world"}, {Name: "LOG_LEVEL", Value: "info"}}
		c.Resources = corev1.ResourceRequirements{Requests: corev1.ResourceList{
			corev1.ResourceCPU: resource.MustParse("100m"), corev1.ResourceMemory: resource.MustParse("128Mi"),
		}}
		c.ReadinessProbe = &corev1.Probe{ProbeHandler: corev1.ProbeHandler{HTTPGet: &corev1.HTTPGetAction{Path: "/healthz"}}}
		var tmpls []serving.RevisionTemplateSpec
		for r := range revs {
			t := s.Spec.Template.DeepCopy()
			t.Spec.Containers[0].Image = fmt.Sprintf("ghcr.io/example/app:v%d", r+1)
			tmpls = append(tmpls, *t)
		}
		l := testLedger(s, tmpls...)
		if revs > 1 {
			l.Traffic = []serving.Target{
				{RevisionName: l.Revisions[revs-1].Name, LatestRevision: true, Percent: 90},
				{RevisionName: l.Revisions[revs-2].Name, Percent: 10, Tag: "previous"},
			}
		}
		in.Services = append(in.Services, s)
		in.Ledgers = append(in.Ledgers, l)
	}
	return in
}

// richInputs exercise every builder: the three ingress classes, h2c, tags
// with tag-header routing, a DomainMapping, an exec probe, custom domains,
// a cluster-local Service and a pass-through object.
func richInputs() []Input {
	var t testing.T
	base := benchInput(3, 2)

	h2c := testService("grpc")
	h2c.Spec.Template.Spec.Containers[0].Ports = []corev1.ContainerPort{{Name: "h2c", ContainerPort: 9000}}
	h2c.Spec.Template.Annotations = map[string]string{"autoscaling.knative.dev/initial-scale": "3", "autoscaling.knative.dev/metric": "rps"}
	h2c.Labels = map[string]string{LabelVisibility: VisibilityClusterLocal}

	exec := testService("exec")
	exec.Spec.Template.Spec.Containers[0].ReadinessProbe = &corev1.Probe{
		ProbeHandler:  corev1.ProbeHandler{Exec: &corev1.ExecAction{Command: []string{"cat", "/ready"}}},
		PeriodSeconds: 5,
	}
	exec.Spec.Template.Spec.Containers[0].LivenessProbe = &corev1.Probe{
		ProbeHandler: corev1.ProbeHandler{HTTPGet: &corev1.HTTPGetAction{Path: "/live"}},
	}

	dm := &serving.DomainMapping{
		TypeMeta:   metav1.TypeMeta{APIVersion: "serving.knative.dev/v1beta1", Kind: "DomainMapping"},
		ObjectMeta: metav1.ObjectMeta{Name: "www.example.org", Namespace: "team-0"},
		Spec:       serving.DomainMappingSpec{Ref: serving.KReference{APIVersion: "serving.knative.dev/v1", Kind: "Service", Name: "svc-00000"}},
	}
	sa := &unstructured.Unstructured{Object: map[string]any{
		"apiVersion": "v1", "kind": "ServiceAccount",
		"metadata": map[string]any{"name": "runner", "namespace": "team-0"},
	}}
	with := func(cfg *config.Config) Input {
		in := Input{Config: cfg, DomainMappings: []*serving.DomainMapping{dm}, Objects: []*unstructured.Unstructured{sa}}
		in.Services = append(append(in.Services, base.Services...), h2c, exec)
		in.Ledgers = append(append(in.Ledgers, base.Ledgers...), testLedger(h2c), testLedger(exec))
		return in
	}
	domains := map[string]string{"example.com": "", "internal.example.com": "selector:\n  team: team-1\n"}
	var out []Input
	for _, class := range []string{config.IngressClassEbb, config.IngressClassGatewayAPI, config.IngressClassIstio} {
		out = append(out, with(testConfig(&t, map[string]map[string]string{
			config.NetworkName:  {"ingress-class": class},
			config.DomainName:   domains,
			config.FeaturesName: {config.FeatureTagHeaderBasedRouting: "Enabled"},
		})))
	}
	return out
}

func jsonUnmarshal(s string, v any) error { return json.Unmarshal([]byte(s), v) }
