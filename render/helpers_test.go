package render

import (
	"fmt"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"sigs.k8s.io/yaml"

	"github.com/ebb-dev/ebb/serving"
)

// testService is a Service named name in namespace default running image.
func testService(name string) *serving.Service {
	return &serving.Service{
		TypeMeta:   metav1.TypeMeta{APIVersion: "serving.knative.dev/v1", Kind: "Service"},
		ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: "default"},
		Spec: serving.ServiceSpec{Template: serving.RevisionTemplateSpec{
			Spec: serving.RevisionSpec{PodSpec: corev1.PodSpec{Containers: []corev1.Container{{
				Name:  "user-container",
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
			Template: t,
		})
		l.Latest = name
	}
	l.Generation = int64(len(templates))
	l.Traffic = []serving.Target{{RevisionName: l.Latest, LatestRevision: true, Percent: 100}}
	return l
}

func toYAML(t testing.TB, objs []*unstructured.Unstructured) string {
	t.Helper()
	var out []byte
	for _, o := range objs {
		b, err := yaml.Marshal(o.Object)
		if err != nil {
			t.Fatal(err)
		}
		out = append(out, "---\n"...)
		out = append(out, b...)
	}
	return string(out)
}
