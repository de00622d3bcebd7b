//go:build linux

package nodetest

import (
	"testing"

	"github.com/google/go-cmp/cmp"
)

func TestServiceName(t *testing.T) {
	type split struct {
		Svc, NS string
		OK      bool
	}
	for _, tc := range []struct {
		name string
		want split
	}{
		{"ebb-controller.ebb-system.svc.cluster.local", split{"ebb-controller", "ebb-system", true}},
		{"kubernetes.default.svc.cluster.local", split{"kubernetes", "default", true}},
		// The pods' search path tries these first.
		{"ebb-controller.ebb-system.svc.ebb-system.svc.cluster.local", split{}},
		{"ebb-controller.ebb-system.svc.svc.cluster.local", split{}},
		{"default.svc.cluster.local", split{}},
		{"example.com", split{}},
		{"github.com.cluster.local", split{}},
	} {
		svc, ns, ok := serviceName(tc.name)
		if diff := cmp.Diff(tc.want, split{svc, ns, ok}); diff != "" {
			t.Errorf("serviceName(%q) (-want +got):\n%s", tc.name, diff)
		}
	}
}
