package serving

import (
	"errors"
	"strings"
	"testing"
	"testing/fstest"

	"github.com/google/go-cmp/cmp"
)

func TestLoadKustomize(t *testing.T) {
	fsys := fstest.MapFS{
		"kustomization.yaml":            file("namespace: demo\nresources:\n  - apps/hello\n  - config.yaml\n"),
		"apps/hello/kustomization.yaml": file("resources:\n  - service.yaml\n"),
		"apps/hello/service.yaml":       file(helloYAML),
		"apps/hello/unused.yaml":        file("not: [valid"),
		"config.yaml":                   file("apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: app-settings\ndata:\n  a: b\n"),
	}
	tree, err := Load(fsys)
	if err != nil {
		t.Fatalf("Load: %v", err)
	}
	if len(tree.Services) != 1 || tree.Services[0].Namespace != "demo" || tree.Services[0].Annotations != nil {
		t.Fatalf("services = %+v", tree.Services)
	}
	if len(tree.Objects) != 1 || tree.Objects[0].GetNamespace() != "demo" || len(tree.Objects[0].GetAnnotations()) != 0 {
		t.Fatalf("objects = %+v", tree.Objects)
	}
	src, _ := tree.Source(ServiceRef("demo", "hello"))
	if src.File != "apps/hello/service.yaml" || src.LineOf("spec.template.spec.containers[0].image") != 9 {
		t.Errorf("source = %s:%d", src.File, src.LineOf("spec.template.spec.containers[0].image"))
	}
}

func TestLoadKustomizeErrors(t *testing.T) {
	tests := []struct {
		name string
		fsys fstest.MapFS
		want []string
	}{
		{"located in the origin file", fstest.MapFS{
			"kustomization.yaml": file("resources:\n  - service.yaml\n"),
			"service.yaml":       file(helloYAML + "  traffic:\n    - percent: 90\n"),
		}, []string{"service.yaml:13: spec.traffic: Traffic targets sum to 90, want 100"}},
		{"remote refused", fstest.MapFS{
			"kustomization.yaml": file("resources:\n  - https://example.com/app.yaml\n  - github.com/org/repo//base?ref=v1\n"),
		}, []string{
			`kustomization.yaml: resources[0]: remote resources "https://example.com/app.yaml": ebb builds kustomizations offline; vendor it into the repository`,
			`kustomization.yaml: resources[1]: remote resources "github.com/org/repo//base?ref=v1": ebb builds kustomizations offline; vendor it into the repository`,
		}},
		{"build error", fstest.MapFS{
			"kustomization.yaml": file("resources:\n  - missing.yaml\n"),
		}, []string{"kustomization.yaml: kustomize build: "}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := Load(tt.fsys)
			var list ErrorList
			if !errors.As(err, &list) {
				t.Fatalf("Load error = %v, want an ErrorList", err)
			}
			got := strings.Split(list.Error(), "\n")
			if len(got) == 1 && len(tt.want) == 1 && strings.HasPrefix(got[0], tt.want[0]) {
				return
			}
			if d := cmp.Diff(tt.want, got); d != "" {
				t.Errorf("errors (-want +got):\n%s", d)
			}
		})
	}
}
