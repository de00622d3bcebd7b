package render

import (
	"testing"

	"github.com/google/go-cmp/cmp"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/util/intstr"

	"github.com/ebb-dev/ebb/proxy/route"
	"github.com/ebb-dev/ebb/serving/config"
)

func TestRevisionServices(t *testing.T) {
	port := func(name string, p, target int32) corev1.ServicePort {
		return corev1.ServicePort{Name: name, Protocol: corev1.ProtocolTCP, Port: p, TargetPort: intstr.FromInt32(target)}
	}
	h2c := port("http2", 81, 8013)
	h2c.AppProtocol = new("kubernetes.io/h2c")
	metrics := []corev1.ServicePort{port("http-autometric", 9090, 9090), port("http-usermetric", 9091, 9091), port("http-istio", 8012, 8012)}
	tests := []struct {
		name     string
		portName string
		serving  corev1.ServicePort
	}{
		{"http1", "", port("http", 80, 8012)},
		{"h2c", "h2c", h2c},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tmpl := testService("hello").Spec.Template
			tmpl.Spec.Containers[0].Ports = []corev1.ContainerPort{{Name: tt.portName, ContainerPort: 8080}}
			tmpl.Annotations = map[string]string{"autoscaling.knative.dev/metric": "rps", "autoscaling.knative.dev/target": "50"}
			rev, _ := buildDeployment(t, tmpl, config.Default())

			public, private := makePublicService(rev), makePrivateService(rev)
			servingPorts := []corev1.ServicePort{tt.serving, port("https", 443, 8112)}
			if d := cmp.Diff(servingPorts, public.Spec.Ports); d != "" {
				t.Errorf("public ports (-want +got):\n%s", d)
			}
			if d := cmp.Diff(append(servingPorts, metrics...), private.Spec.Ports); d != "" {
				t.Errorf("private ports (-want +got):\n%s", d)
			}
			if public.Spec.Selector != nil {
				t.Errorf("public Service selects %v", public.Spec.Selector)
			}
			if d := cmp.Diff(map[string]string{LabelRevisionUID: rev.uid}, private.Spec.Selector); d != "" {
				t.Errorf("private selector (-want +got):\n%s", d)
			}
			if public.Name != "hello-00002" || private.Name != "hello-00002-private" {
				t.Errorf("names %q, %q", public.Name, private.Name)
			}
			if public.Labels[LabelServiceType] != "Public" || private.Labels[LabelServiceType] != "Private" ||
				private.Labels[LabelServerlessService] != "hello-00002" || private.Labels[route.RevisionLabel] != "hello-00002" {
				t.Errorf("labels %v / %v", public.Labels, private.Labels)
			}
			if d := cmp.Diff(map[string]string{"autoscaling.knative.dev/metric": "rps"}, private.Annotations); d != "" {
				t.Errorf("annotations (-want +got):\n%s", d)
			}
		})
	}
}
