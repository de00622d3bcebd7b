package render

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"

	"github.com/ebb-dev/ebb/proxy/route"
	"github.com/ebb-dev/ebb/serving/config"
)

// kingressClasses are the classes TestGoldenKIngress renders for, by the
// short name of their golden file, with config-network's data.
var kingressClasses = []struct {
	name string
	data map[string]string
}{
	{"kourier", map[string]string{"ingress-class": "kourier.ingress.networking.knative.dev"}},
	{"contour", map[string]string{"ingress-class": "contour.ingress.networking.knative.dev"}},
	{"net-istio", map[string]string{"ingress-class": "istio", "kingress-classes": "istio"}},
	{"net-gateway-api", map[string]string{"ingress-class": "gateway-api.ingress.networking.knative.dev", "kingress-classes": "gateway-api"}},
	{"alb", map[string]string{"ingress-class": "alb", "http-protocol": "Redirected"}},
	{"mse", map[string]string{"ingress-class": "mse.ingress.networking.knative.dev"}},
	{"other", map[string]string{"ingress-class": "edge.example.com"}},
}

// TestGoldenKIngress renders the traffic (tags) and domain (a
// DomainMapping, config-domain) examples with each KIngress class to
// testdata/kingress/<class>.golden.yaml, keeping the routing objects: the
// KIngresses and the placeholder Services. Run with -update to accept a
// change.
func TestGoldenKIngress(t *testing.T) {
	for _, c := range kingressClasses {
		t.Run(c.name, func(t *testing.T) {
			var got bytes.Buffer
			for _, ex := range []string{"traffic", "domain"} {
				in := exampleInput(t, filepath.Join("..", "examples", ex))
				if err := in.Config.Apply(config.NetworkName, c.data); err != nil {
					t.Fatal(err)
				}
				objs, err := Render(in)
				if err != nil {
					t.Fatal(err)
				}
				if err := WriteYAML(&got, routingObjects(objs)); err != nil {
					t.Fatal(err)
				}
			}
			golden := filepath.Join("testdata", "kingress", c.name+".golden.yaml")
			if *update {
				if err := os.MkdirAll(filepath.Dir(golden), 0o755); err != nil {
					t.Fatal(err)
				}
				if err := os.WriteFile(golden, got.Bytes(), 0o644); err != nil {
					t.Fatal(err)
				}
				return
			}
			want, err := os.ReadFile(golden)
			if err != nil {
				t.Fatalf("%v (run go test ./render -run TestGoldenKIngress -update)", err)
			}
			if d := cmp.Diff(string(want), got.String()); d != "" {
				t.Errorf("%s is stale; if the change is intended, run go test ./render -run TestGoldenKIngress -update (-want +got):\n%s", golden, d)
			}
			if !strings.Contains(got.String(), "kind: Ingress\n") {
				t.Errorf("%s renders no KIngress", c.name)
			}
		})
	}
}

// routingObjects are the KIngresses and the Services that no revision
// owns (the placeholders).
func routingObjects(objs []*unstructured.Unstructured) []*unstructured.Unstructured {
	var out []*unstructured.Unstructured
	for _, o := range objs {
		switch {
		case o.GetAPIVersion() == KIngressAPIVersion,
			o.GetKind() == "Service" && o.GetLabels()[route.RevisionLabel] == "":
			out = append(out, o)
		}
	}
	return out
}
