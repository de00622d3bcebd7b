package serving

import (
	"testing"

	"github.com/google/go-cmp/cmp"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/ebb-dev/ebb/serving/config"
	"github.com/ebb-dev/ebb/serving/traffic"
)

func TestDefaultTemplate(t *testing.T) {
	tcp := &corev1.Probe{ProbeHandler: corev1.ProbeHandler{TCPSocket: &corev1.TCPSocketAction{}}, SuccessThreshold: 1}
	tests := []struct {
		name     string
		cm       map[string]string
		features map[string]string
		in       RevisionSpec
		want     RevisionSpec
	}{{
		name: "Knative's defaults",
		in:   RevisionSpec{PodSpec: corev1.PodSpec{Containers: []corev1.Container{{Image: "a"}}}},
		want: RevisionSpec{
			PodSpec: corev1.PodSpec{
				Containers:         []corev1.Container{{Name: "user-container", Image: "a", ReadinessProbe: tcp}},
				EnableServiceLinks: ptr(false),
			},
			TimeoutSeconds: ptr(int64(300)), ContainerConcurrency: ptr(int64(0)),
		},
	}, {
		name: "written values stay; timeout 0 is defaulted; probe timing filled",
		in: RevisionSpec{
			PodSpec: corev1.PodSpec{Containers: []corev1.Container{{Name: "app", Image: "a",
				ReadinessProbe: &corev1.Probe{ProbeHandler: corev1.ProbeHandler{HTTPGet: &corev1.HTTPGetAction{Path: "/ready"}}, PeriodSeconds: 5}}},
				EnableServiceLinks: ptr(true)},
			TimeoutSeconds: ptr(int64(0)), ContainerConcurrency: ptr(int64(10)),
		},
		want: RevisionSpec{
			PodSpec: corev1.PodSpec{Containers: []corev1.Container{{Name: "app", Image: "a",
				ReadinessProbe: &corev1.Probe{ProbeHandler: corev1.ProbeHandler{HTTPGet: &corev1.HTTPGetAction{Path: "/ready"}}, PeriodSeconds: 5, SuccessThreshold: 1, FailureThreshold: 3, TimeoutSeconds: 1}}},
				EnableServiceLinks: ptr(true)},
			TimeoutSeconds: ptr(int64(300)), ContainerConcurrency: ptr(int64(10)),
		},
	}, {
		name: "config-defaults: timeouts below timeoutSeconds, resources, name template, init containers, mounts (an init container's as written)",
		cm: map[string]string{"revision-timeout-seconds": "100", "revision-response-start-timeout-seconds": "50",
			"revision-idle-timeout-seconds": "100", "revision-cpu-request": "100m", "container-name-template": "{{.Name}}-app"},
		in: RevisionSpec{PodSpec: corev1.PodSpec{
			InitContainers: []corev1.Container{{Image: "i", VolumeMounts: []corev1.VolumeMount{{Name: "cfg", MountPath: "/cfg"}}}},
			Containers: []corev1.Container{{Image: "a", Ports: []corev1.ContainerPort{{ContainerPort: 9000}},
				VolumeMounts: []corev1.VolumeMount{{Name: "cfg", MountPath: "/cfg"}, {Name: "scratch", MountPath: "/scratch"}}}, {Image: "b"}},
			Volumes: []corev1.Volume{{Name: "cfg", VolumeSource: corev1.VolumeSource{ConfigMap: &corev1.ConfigMapVolumeSource{}}},
				{Name: "scratch", VolumeSource: corev1.VolumeSource{EmptyDir: &corev1.EmptyDirVolumeSource{}}}},
		}},
		want: RevisionSpec{
			PodSpec: corev1.PodSpec{
				InitContainers: []corev1.Container{{Name: "init-container", Image: "i", VolumeMounts: []corev1.VolumeMount{{Name: "cfg", MountPath: "/cfg"}}}},
				Containers: []corev1.Container{{Name: "hello-app-0", Image: "a", Ports: []corev1.ContainerPort{{ContainerPort: 9000}},
					VolumeMounts:   []corev1.VolumeMount{{Name: "cfg", MountPath: "/cfg", ReadOnly: true}, {Name: "scratch", MountPath: "/scratch"}},
					Resources:      corev1.ResourceRequirements{Requests: corev1.ResourceList{corev1.ResourceCPU: resource.MustParse("100m")}},
					ReadinessProbe: tcp,
				}, {Name: "hello-app-1", Image: "b", Resources: corev1.ResourceRequirements{Requests: corev1.ResourceList{corev1.ResourceCPU: resource.MustParse("100m")}}}},
				Volumes: []corev1.Volume{{Name: "cfg", VolumeSource: corev1.VolumeSource{ConfigMap: &corev1.ConfigMapVolumeSource{}}},
					{Name: "scratch", VolumeSource: corev1.VolumeSource{EmptyDir: &corev1.EmptyDirVolumeSource{}}}},
				EnableServiceLinks: ptr(false),
			},
			TimeoutSeconds: ptr(int64(100)), ContainerConcurrency: ptr(int64(0)), ResponseStartTimeoutSeconds: ptr(int64(50)),
		},
	}, {
		name: "unnamed containers are numbered as Knative numbers them, skipping names taken",
		in: RevisionSpec{PodSpec: corev1.PodSpec{
			Containers:     []corev1.Container{{Image: "a", Ports: []corev1.ContainerPort{{ContainerPort: 8080}}}, {Name: "user-container-0", Image: "b"}, {Image: "c"}},
			InitContainers: []corev1.Container{{Image: "i"}},
		}},
		want: RevisionSpec{
			PodSpec: corev1.PodSpec{
				Containers: []corev1.Container{{Name: "user-container-1", Image: "a", Ports: []corev1.ContainerPort{{ContainerPort: 8080}}, ReadinessProbe: tcp},
					{Name: "user-container-0", Image: "b"}, {Name: "user-container-2", Image: "c"}},
				InitContainers:     []corev1.Container{{Name: "init-container", Image: "i"}},
				EnableServiceLinks: ptr(false),
			},
			TimeoutSeconds: ptr(int64(300)), ContainerConcurrency: ptr(int64(0)),
		},
	}, {
		name:     "secure-pod-defaults Enabled: a sidecar's probe gets its thresholds, containers a restricted security context",
		features: map[string]string{"secure-pod-defaults": "Enabled"},
		in: RevisionSpec{PodSpec: corev1.PodSpec{Containers: []corev1.Container{
			{Name: "app", Image: "a", Ports: []corev1.ContainerPort{{ContainerPort: 80}}},
			{Name: "side", Image: "b", ReadinessProbe: &corev1.Probe{ProbeHandler: corev1.ProbeHandler{GRPC: &corev1.GRPCAction{Port: 9}}},
				SecurityContext: &corev1.SecurityContext{RunAsNonRoot: ptr(false), Capabilities: &corev1.Capabilities{}}},
		}}},
		want: RevisionSpec{
			PodSpec: corev1.PodSpec{Containers: []corev1.Container{
				{Name: "app", Image: "a", Ports: []corev1.ContainerPort{{ContainerPort: 80}}, ReadinessProbe: tcp,
					SecurityContext: &corev1.SecurityContext{AllowPrivilegeEscalation: ptr(false), RunAsNonRoot: ptr(true),
						SeccompProfile: &corev1.SeccompProfile{Type: corev1.SeccompProfileTypeRuntimeDefault},
						Capabilities:   &corev1.Capabilities{Drop: []corev1.Capability{"ALL"}, Add: []corev1.Capability{"NET_BIND_SERVICE"}}}},
				{Name: "side", Image: "b",
					ReadinessProbe: &corev1.Probe{ProbeHandler: corev1.ProbeHandler{GRPC: &corev1.GRPCAction{Port: 9, Service: ptr("")}}, SuccessThreshold: 1},
					SecurityContext: &corev1.SecurityContext{AllowPrivilegeEscalation: ptr(false), RunAsNonRoot: ptr(false),
						SeccompProfile: &corev1.SeccompProfile{Type: corev1.SeccompProfileTypeRuntimeDefault}, Capabilities: &corev1.Capabilities{}}},
			}, EnableServiceLinks: ptr(false)},
			TimeoutSeconds: ptr(int64(300)), ContainerConcurrency: ptr(int64(0)),
		},
	}, {
		name:     "secure-pod-defaults AllowRootBounded: root stays allowed; the pod's seccomp profile stands",
		features: map[string]string{"secure-pod-defaults": "AllowRootBounded"},
		in: RevisionSpec{PodSpec: corev1.PodSpec{Containers: []corev1.Container{{Name: "app", Image: "a"}},
			SecurityContext: &corev1.PodSecurityContext{SeccompProfile: &corev1.SeccompProfile{Type: corev1.SeccompProfileTypeUnconfined}}}},
		want: RevisionSpec{
			PodSpec: corev1.PodSpec{Containers: []corev1.Container{{Name: "app", Image: "a", ReadinessProbe: tcp,
				SecurityContext: &corev1.SecurityContext{AllowPrivilegeEscalation: ptr(false), Capabilities: &corev1.Capabilities{Drop: []corev1.Capability{"ALL"}}}}},
				SecurityContext:    &corev1.PodSecurityContext{SeccompProfile: &corev1.SeccompProfile{Type: corev1.SeccompProfileTypeUnconfined}},
				EnableServiceLinks: ptr(false)},
			TimeoutSeconds: ptr(int64(300)), ContainerConcurrency: ptr(int64(0)),
		},
	}}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cfg := config.Default()
			if err := cfg.Apply(config.DefaultsName, tt.cm); err != nil {
				t.Fatal(err)
			}
			if err := cfg.Apply(config.FeaturesName, tt.features); err != nil {
				t.Fatal(err)
			}
			got := RevisionTemplateSpec{Spec: tt.in}
			DefaultTemplate(&got, metav1.ObjectMeta{Name: "hello"}, cfg)
			if d := cmp.Diff(plain(tt.want), plain(got.Spec)); d != "" {
				t.Errorf("(-want +got):\n%s", d)
			}
		})
	}
}

func TestLedgerTemplateIsACopy(t *testing.T) {
	_, ledgers, err := run(t, [][]*Service{{svc("a")}})
	if err != nil {
		t.Fatal(err)
	}
	l := ledgers[0]
	tmpl, ok := l.Template("hello-00001", config.Default())
	if !ok || tmpl.Spec.Containers[0].Name != "user-container" {
		t.Fatalf("Template = %+v, %v", tmpl, ok)
	}
	if l.Revisions[0].Template.Spec.Containers[0].Name != "" || l.Revisions[0].Hash != HashTemplate(&l.Revisions[0].Template) {
		t.Errorf("defaulting changed the ledger's template as written")
	}
	if _, ok := l.Template("hello-00002", config.Default()); ok {
		t.Errorf("Template of a missing revision: ok")
	}
}

func TestDefaultTraffic(t *testing.T) {
	got := DefaultTraffic(nil)
	want := []TrafficTarget{{LatestRevision: ptr(true), Percent: ptr(traffic.Percent(100))}}
	if d := cmp.Diff(want, got); d != "" {
		t.Errorf("empty (-want +got):\n%s", d)
	}
	got = DefaultTraffic([]TrafficTarget{{RevisionName: "a"}, {Tag: "t"}})
	want = []TrafficTarget{{RevisionName: "a", LatestRevision: ptr(false), Percent: ptr(traffic.Percent(0))}, {Tag: "t", LatestRevision: ptr(true), Percent: ptr(traffic.Percent(0))}}
	if d := cmp.Diff(want, got); d != "" {
		t.Errorf("entries (-want +got):\n%s", d)
	}
}
