package serving

import (
	"strings"
	"testing"
	"testing/fstest"

	"github.com/google/go-cmp/cmp"
)

// tagHeaderSample is Knative's docs sample
// serving/tag-header-based-routing/sample.yaml: one Service written twice
// in one file, the second naming the first's revision.
const tagHeaderSample = `apiVersion: serving.knative.dev/v1
kind: Service
metadata:
  name: tag-header
  namespace: default
spec:
  template:
    metadata:
      name: tag-header-revision-1
    spec:
      containers:
        - image: docker.io/example/helloworld-go
          env:
            - name: TARGET
              value: "First Revision"
---
apiVersion: serving.knative.dev/v1
kind: Service
metadata:
  name: tag-header
  namespace: default
spec:
  template:
    metadata:
      name: tag-header-revision-2
    spec:
      containers:
        - image: docker.io/example/helloworld-go
          env:
            - name: TARGET
              value: "Second Revision"
  traffic:
    - tag: rev1
      revisionName: tag-header-revision-1
      percent: 0
    - revisionName: tag-header-revision-2
      percent: 100
`

// TestSameServiceTwiceInAFile: the documents of one file are applied in
// turn, as kubectl apply -f does: the earlier ones make their revisions,
// the last one is the Service; planning again changes nothing.
func TestSameServiceTwiceInAFile(t *testing.T) {
	tree, err := Load(fstest.MapFS{"sample.yaml": file(tagHeaderSample)})
	if err != nil {
		t.Fatal(err)
	}
	if len(tree.Services) != 1 || tree.Services[0].Spec.Template.Name != "tag-header-revision-2" {
		t.Fatalf("services = %+v, want the second document", tree.Services)
	}
	next, changes, err := tree.Plan(stamp("c1", 1), Observed{})
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, c := range changes {
		got = append(got, c.String())
	}
	want := []string{
		"default/tag-header: new revision tag-header-revision-1",
		"default/tag-header: new revision tag-header-revision-2",
		"default/tag-header: " + FormatTraffic([]Target{{Tag: "rev1", RevisionName: "tag-header-revision-1"}, {RevisionName: "tag-header-revision-2", Percent: 100}}),
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("changes (-want +got):\n%s", diff)
	}
	tree.Ledgers = next
	if _, again, err := tree.Plan(stamp("c2", 2), Observed{}); err != nil || len(again) != 0 {
		t.Errorf("planned again: changes %v, err %v; want none", again, err)
	}

	// Errors of the earlier document are located in it.
	bad := strings.Replace(tagHeaderSample, `value: "First Revision"`, "value: \"First Revision\"\n          stdin: true", 1)
	_, err = Load(fstest.MapFS{"sample.yaml": file(bad)})
	if want := "sample.yaml:16: spec.template.spec.containers[0].stdin: must not set the field(s)"; err == nil || err.Error() != want {
		t.Errorf("earlier document's error = %v, want %s", err, want)
	}

	// In two files, the same Service is still defined twice.
	first, second, _ := strings.Cut(tagHeaderSample, "---\n")
	_, err = Load(fstest.MapFS{"a.yaml": file(first), "b.yaml": file(second)})
	if want := "b.yaml:4: metadata.name: Service.serving.knative.dev default/tag-header is defined twice (first at a.yaml:1)"; err == nil || err.Error() != want {
		t.Errorf("two files: %v, want %s", err, want)
	}
}
