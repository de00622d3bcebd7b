package route

import (
	"testing"

	"github.com/google/go-cmp/cmp"
)

func TestCodec(t *testing.T) {
	tab := Table{
		Routes: []Route{{Namespace: "apps", Name: "hello", Rules: []Rule{{Hosts: []string{"hello.apps.example.com"}, Visibility: ExternalIP,
			Paths: []Path{{Splits: []Split{{Revision: "hello-00001", Percent: 100}}}}}}}},
		Revisions: []Revision{{Namespace: "apps", Name: "hello-00001", Protocol: ProtocolH2C, TimeoutSeconds: 300}},
	}
	b, err := Encode(tab)
	if err != nil {
		t.Fatal(err)
	}
	got, err := Decode(b)
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(tab, got); diff != "" {
		t.Errorf("Decode(Encode(t)) (-want +got):\n%s", diff)
	}
	for _, bad := range []string{
		``,
		`{"routes": [`,
		`{"routes": [], "revisions": [], "weights": {}}`,
		`{"routes": [{"namespace": "apps", "name": "hello", "rules": [{"hosts": ["h"], "retries": 3}]}]}`,
		`{"routes": []} {"routes": []}`,
	} {
		if _, err := Decode([]byte(bad)); err == nil {
			t.Errorf("Decode(%q) = nil error", bad)
		}
	}
}
