package render

import (
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/ebb-dev/ebb/serving"
	"github.com/ebb-dev/ebb/serving/config"
)

// The KIngress classes refuse what Knative fills from objects ebb does
// not make, and an httpOption annotation Knative refuses, naming the
// Service and the setting.
func TestKIngressRefuses(t *testing.T) {
	tests := []struct {
		name        string
		network     map[string]string
		annotations map[string]string
		want        string
	}{
		{"external-domain-tls", map[string]string{"ingress-class": "kourier", "external-domain-tls": "Enabled"}, nil,
			"service default/hello: ingress class kourier.ingress.networking.knative.dev: config-network external-domain-tls: Enabled is not supported"},
		{"cluster-local-domain-tls", map[string]string{"ingress-class": "contour", "cluster-local-domain-tls": "Enabled"}, nil,
			"service default/hello: ingress class contour.ingress.networking.knative.dev: config-network cluster-local-domain-tls: Enabled is not supported"},
		{"http-protocol annotation", map[string]string{"ingress-class": "mse"}, map[string]string{AnnotationHTTPProtocol: "Sometimes"},
			"service default/hello: incorrect http-protocol annotation: sometimes"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := testService("hello")
			s.Annotations = tt.annotations
			l := testLedger(s, s.Spec.Template)
			cfg := testConfig(t, map[string]map[string]string{config.NetworkName: tt.network})
			_, err := Render(Input{Services: []*serving.Service{s}, Ledgers: []*serving.Ledger{l}, Config: cfg})
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("Render: %v, want an error containing %q", err, tt.want)
			}
		})
	}
}

// The httpOption annotation (either spelling) wins over config-network
// http-protocol; Disabled gives none, as Knative's GetHTTPOption.
func TestHTTPOption(t *testing.T) {
	tests := []struct {
		protocol    string
		annotations map[string]string
		want        string
	}{
		{"Enabled", nil, "Enabled"},
		{"Redirected", nil, "Redirected"},
		{"Disabled", nil, ""},
		{"Redirected", map[string]string{AnnotationHTTPProtocol: "enabled"}, "Enabled"},
		{"Enabled", map[string]string{AnnotationHTTPOption: "Redirected", AnnotationHTTPProtocol: "Enabled"}, "Redirected"},
	}
	for _, tt := range tests {
		cfg := testConfig(t, map[string]map[string]string{config.NetworkName: {"http-protocol": tt.protocol}})
		got, err := httpOption(tt.annotations, cfg)
		if err != nil {
			t.Fatal(err)
		}
		if d := cmp.Diff(tt.want, got); d != "" {
			t.Errorf("http-protocol %s, annotations %v (-want +got):\n%s", tt.protocol, tt.annotations, d)
		}
	}
}
