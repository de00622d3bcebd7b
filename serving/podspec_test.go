package serving

import (
	"strings"
	"testing"
	"testing/fstest"

	"github.com/google/go-cmp/cmp"
)

// TestKnativePodRules: the rules Knative's webhook applies to a pod spec
// and ebb used to let through, each located by file, line and Knative's
// field path. (test/knative-validate compares them with Knative itself.)
func TestKnativePodRules(t *testing.T) {
	svc := `apiVersion: serving.knative.dev/v1
kind: Service
metadata:
  name: hello
spec:
  template:
    spec:
      containers:
        - name: app
          image: ghcr.io/knative/helloworld-go
          ports:
            - containerPort: 8080
              hostPort: 80
          stdin: true
          tty: true
          lifecycle:
            preStop: {exec: {command: ["true"]}}
          securityContext:
            privileged: true
            capabilities:
              add: [SYS_ADMIN]
          readinessProbe:
            httpGet: {port: metrics}
            tcpSocket: {port: 8080}
            periodSeconds: -1
          livenessProbe:
            exec: {command: ["true"]}
            failureThreshold: 3
        - name: side
          image: ghcr.io/knative/sidecar
          readinessProbe:
            exec: {command: ["true"]}
      volumes:
        - name: unused
          configMap: {name: c}
`
	_, err := Load(fstest.MapFS{"s.yaml": file(svc)})
	want := []string{
		"s.yaml:13: spec.template.spec.containers[0].ports.hostPort: must not set the field(s)",
		"s.yaml:15: spec.template.spec.containers[0].lifecycle, spec.template.spec.containers[0].stdin, spec.template.spec.containers[0].tty: must not set the field(s)",
		"s.yaml:19: spec.template.spec.containers[0].securityContext.privileged: must not set the field(s)",
		"s.yaml:21: spec.template.spec.containers[0].securityContext.capabilities.add: must not set the field(s)",
		"s.yaml:24: spec.template.spec.containers[0].readinessProbe.httpGet, spec.template.spec.containers[0].readinessProbe.tcpSocket: expected exactly one, got both",
		"s.yaml:24: spec.template.spec.containers[0].readinessProbe.tcpSocket.httpGet.port: invalid value: metrics",
		"\tProbe port must match container port",
		"s.yaml:25: spec.template.spec.containers[0].readinessProbe.periodSeconds: expected 0 <= -1 <= 2147483647",
		"s.yaml:31: spec.template.spec.containers[1].readinessProbe, spec.template.spec.containers[1].readinessProbe.successThreshold: must not set the field(s)",
		"s.yaml:34: spec.template.spec.volumes[0].name: volume with name \"unused\" not mounted",
	}
	if err == nil {
		t.Fatal("loaded")
	}
	if diff := cmp.Diff(want, strings.Split(err.Error(), "\n")); diff != "" {
		t.Errorf("(-want +got):\n%s", diff)
	}
}

func TestLineOfUnindexedPaths(t *testing.T) {
	src := Source{Line: 1, Fields: map[string]int{
		"spec.containers":                  5,
		"spec.containers[0].ports":         7,
		"spec.containers[0].ports[0].x":    8,
		"spec.containers[1].ports":         12,
		"spec.containers[1].ports[0].x":    13,
		"spec.containers[1].ports[1].x":    14,
		"spec.volumes[0].projected":        19,
		"spec.volumes[0].projected.a[0]":   20,
		"spec.volumes[0].projected.a[1]":   21,
		"spec.volumes[0].projected.a[1].b": 22,
	}}
	for _, tt := range []struct {
		path string
		want int
	}{
		{"spec.containers[1].ports[1].x", 14},
		{"spec.containers[1].ports.x", 13},
		{"spec.containers[*].ports", 7},
		{"spec.containers.ports", 7},
		{"spec.containers[2].ports", 5},
		{"spec.volumes[0].projected[1].b", 19},
		{"spec.nope", 1},
	} {
		if got := src.LineOf(tt.path); got != tt.want {
			t.Errorf("LineOf(%q) = %d, want %d", tt.path, got, tt.want)
		}
	}
}

// TestImageReference: go-containerregistry's weak validation, which
// Knative's webhook applies to images.
func TestImageReference(t *testing.T) {
	hex := strings.Repeat("0123456789abcdef", 4)
	for _, tt := range []struct {
		image string
		ok    bool
	}{
		{"gcr.io/knative-samples/helloworld-go", true},
		{"helloworld", true},
		{"localhost:5000/app:v1", true},
		{"app@sha256:" + hex, true},
		{"app:v1@sha256:" + hex, true},
		{"ko://github.com/ebb-dev/ebb/cmd/ebb", true},
		{"x", false},
		{"UPPER/case", false},
		{"app:bad tag", false},
		{"app@sha256:abc", false},
		{"app@md5:" + hex, false},
		{"app:" + strings.Repeat("a", 129), false},
		{"ex ample.com/app", false},
	} {
		if got := checkImageReference(tt.image) == nil; got != tt.ok {
			t.Errorf("checkImageReference(%q) ok = %v, want %v", tt.image, got, tt.ok)
		}
	}
}
