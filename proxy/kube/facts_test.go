package kube

import (
	"testing"

	"github.com/google/go-cmp/cmp"
	corev1 "k8s.io/api/core/v1"

	"github.com/ebb-dev/ebb/proxy/route"
)

func TestRevisionOf(t *testing.T) {
	env := func(kv ...string) []corev1.EnvVar {
		var out []corev1.EnvVar
		for i := 0; i < len(kv); i += 2 {
			out = append(out, corev1.EnvVar{Name: kv[i], Value: kv[i+1]})
		}
		return out
	}
	for _, tc := range []struct {
		name string
		env  []corev1.EnvVar
		want route.Revision
	}{
		{"defaults", nil, route.Revision{Namespace: "ns", Name: "r", Protocol: route.ProtocolHTTP1, TimeoutSeconds: 300}},
		{"all", env("SERVING_SERVICE", "s", "CONTAINER_CONCURRENCY", "7", "REVISION_TIMEOUT_SECONDS", "30",
			"REVISION_RESPONSE_START_TIMEOUT_SECONDS", "5", "REVISION_IDLE_TIMEOUT_SECONDS", "9", "QUEUE_SERVING_PORT", "8013"),
			route.Revision{Namespace: "ns", Name: "r", Service: "s", Protocol: route.ProtocolH2C, ContainerConcurrency: 7,
				TimeoutSeconds: 30, ResponseStartTimeoutSeconds: 5, IdleTimeoutSeconds: 9}},
		{"http1 port, bad numbers", env("QUEUE_SERVING_PORT", "8012", "CONTAINER_CONCURRENCY", "x", "REVISION_TIMEOUT_SECONDS", "0"),
			route.Revision{Namespace: "ns", Name: "r", Protocol: route.ProtocolHTTP1, TimeoutSeconds: 300}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if d := cmp.Diff(tc.want, RevisionOf("ns", "r", tc.env)); d != "" {
				t.Errorf("(-want +got):\n%s", d)
			}
		})
	}
}
