package serving

import (
	"errors"
	"strconv"
	"strings"
	"testing"
	"testing/fstest"

	"github.com/google/go-cmp/cmp"
)

const helloYAML = `apiVersion: serving.knative.dev/v1
kind: Service
metadata:
  name: hello
spec:
  template:
    spec:
      containers:
        - image: ko://example.com/hello
          env:
            - name: TARGET
              value: World
`

// helloLedgerYAML is the ledger helloYAML plans to.
const helloLedgerYAML = `apiVersion: ebb.dev/v1alpha1
kind: Ledger
namespace: default
service: hello
generation: 1
latest: hello-00001
revisions:
  - name: hello-00001
    generation: 1
    hash: sha256:3750f180cfc940c99a5ddfc51fb05199be5767e704d1b62d9719846cf7172cc3
    created:
      commit: uncommitted
      time: "1970-01-01T00:00:00Z"
    template:
      spec:
        containers:
          - image: ko://example.com/hello
traffic:
  - revisionName: hello-00001
    latestRevision: true
    percent: 100
`

func file(s string) *fstest.MapFile { return &fstest.MapFile{Data: []byte(s)} }

func TestLoadTree(t *testing.T) {
	fsys := fstest.MapFS{
		"apps/hello/service.yaml": file(helloYAML + `---
apiVersion: v1
kind: ServiceAccount
metadata:
  name: hello
  namespace: default
`),
		"apps/hello/notes.txt": file("not yaml"),
		"config/domain.yml": file(`apiVersion: v1
kind: ConfigMap
metadata:
  name: config-domain
  namespace: ebb-system
data:
  example.com: ""
`),
		"config/other.yaml": file(`# only a comment
---
apiVersion: v1
kind: ConfigMap
metadata:
  name: config-domain
  namespace: default
data:
  x: y
`),
		"dm.yaml": file(`apiVersion: serving.knative.dev/v1beta1
kind: DomainMapping
metadata:
  name: hello.example.org
spec:
  ref:
    apiVersion: serving.knative.dev/v1
    kind: Service
    name: hello
`),
		".hidden/svc.yaml":        file("this: [is not loaded"),
		".ebb/default/hello.yaml": file(helloLedgerYAML),
	}
	tree, err := Load(fsys)
	if err != nil {
		t.Fatalf("Load: %v", err)
	}
	var got []string
	for _, s := range tree.Services {
		got = append(got, "svc "+s.Namespace+"/"+s.Name)
	}
	for _, d := range tree.DomainMappings {
		got = append(got, "dm "+d.Namespace+"/"+d.Name)
	}
	for _, o := range tree.Objects {
		got = append(got, "obj "+o.GetKind()+" "+o.GetNamespace()+"/"+o.GetName())
	}
	for _, l := range tree.Ledgers {
		got = append(got, "ledger "+l.Namespace+"/"+l.Service)
	}
	got = append(got, "domain "+tree.Config.Domain.LookupDomain(nil))
	want := []string{
		"svc default/hello",
		"dm default/hello.example.org",
		"obj ServiceAccount default/hello",
		"obj ConfigMap default/config-domain",
		"ledger default/hello",
		"domain example.com",
	}
	if d := cmp.Diff(want, got); d != "" {
		t.Errorf("tree (-want +got):\n%s", d)
	}
	src, ok := tree.Source(ServiceRef("default", "hello"))
	if !ok || src.File != "apps/hello/service.yaml" || src.Line != 1 || src.LineOf("spec.template.spec.containers[0].env[0].value") != 12 {
		t.Errorf("source = %+v", src)
	}
}

// koImages is one Service per file (named after it), each with image.
func koImages(images map[string]string) fstest.MapFS {
	fsys := fstest.MapFS{}
	for name, image := range images {
		svc := strings.Replace(helloYAML, "name: hello", "name: "+strings.TrimSuffix(name, ".yaml"), 1)
		fsys[name] = file(strings.Replace(svc, "ko://example.com/hello", strconv.Quote(image), 1))
	}
	return fsys
}

func TestLoadErrors(t *testing.T) {
	tests := []struct {
		name string
		fsys fstest.MapFS
		want []string
	}{
		{"malformed yaml", fstest.MapFS{"a.yaml": file("apiVersion: v1\nkind: [\n")}, []string{
			"a.yaml:2: did not find expected node content",
		}},
		{"unknown fields", fstest.MapFS{"s.yaml": file(strings.Replace(helloYAML, "          env:", "          imagePullPolice: Always\n          env:", 1) + "  traffik: []\n")}, []string{
			"s.yaml:10: spec.template.spec.containers[0].imagePullPolice: unknown field",
			"s.yaml:14: spec.traffik: unknown field",
		}},
		{"wrong type", fstest.MapFS{"s.yaml": file(helloYAML + "  traffic:\n    - percent: lots\n")}, []string{
			"s.yaml:14: spec.traffic.percent: cannot decode string into int64",
		}},
		{"traffic", fstest.MapFS{"apps/hello/service.yaml": file(helloYAML + `  traffic:
    - latestRevision: true
      percent: 40
      tag: current
    - revisionName: hello-00001
      percent: 50
      tag: current
    - revisionName: hello-00001
      latestRevision: true
      percent: 101
      tag: Bad_Tag
      configurationName: hello
      url: http://x
`)}, []string{
			"apps/hello/service.yaml:13: spec.traffic: Traffic targets sum to 191, want 100",
			"apps/hello/service.yaml:19: spec.traffic[0].tag, spec.traffic[1].tag: Multiple definitions for \"current\"",
			"apps/hello/service.yaml:21: spec.traffic[2].latestRevision: may not set revisionName \"hello-00001\" when latestRevision is true",
			"apps/hello/service.yaml:22: spec.traffic[2].percent: expected 0 <= 101 <= 100",
			"apps/hello/service.yaml:23: spec.traffic[2].tag: invalid value: not a DNS 1035 label: [a DNS-1035 label must consist of lower case alphanumeric characters or '-', start with an alphabetic character, and end with an alphanumeric character (e.g. 'my-name',  or 'abc-123', regex used for validation is '[a-z]([-a-z0-9]*[a-z0-9])?')]",
			"apps/hello/service.yaml:24: spec.traffic[2].configurationName: must not set the field(s)",
			"apps/hello/service.yaml:25: spec.traffic[2].url: must not set the field(s)",
		}},
		{"annotations", fstest.MapFS{"s.yaml": file(strings.Replace(strings.Replace(helloYAML, "  name: hello\n", "  name: hello\n  annotations:\n    autoscaling.knative.dev/min-scale: \"1\"\n    serving.knative.dev/rollout-duration: 1.5s\n", 1),
			"  template:\n", "  template:\n    metadata:\n      name: world-v1\n      annotations:\n        autoscaling.knative.dev/max-scale: \"1\"\n        autoscaling.knative.dev/min-scale: \"3\"\n        autoscaling.knative.dev/window: 2s\n", 1))}, []string{
			`s.yaml:6: metadata.annotations.autoscaling.knative.dev/min-scale: invalid key name "autoscaling.knative.dev/min-scale": autoscaling annotations must be put under "spec.template.metadata.annotations" to work`,
			"s.yaml:7: metadata.annotations.serving.knative.dev/rollout-duration: rollout-duration=1.5s is not at second precision",
			`s.yaml:11: spec.template.metadata.name: "world-v1" must have prefix "hello-"`,
			"s.yaml:13: spec.template.metadata.annotations.autoscaling.knative.dev/max-scale: max-scale=1 is less than min-scale=3",
			"s.yaml:15: spec.template.metadata.annotations.autoscaling.knative.dev/window: expected 6s <= 2s <= 1h0m0s",
		}},
		{"canary annotations", fstest.MapFS{"s.yaml": file(strings.Replace(helloYAML, "  name: hello\n", "  name: hello\n  annotations:\n    canary.ebb.dev/interval: 500ms\n    canary.ebb.dev/step-weights: \"10,5\"\n    canary.ebb.dev/threshold: \"0\"\n", 1))}, []string{
			"s.yaml:6: metadata.annotations.canary.ebb.dev/interval: 500ms must be at least 1s",
			`s.yaml:7: metadata.annotations.canary.ebb.dev/step-weights: invalid value "10,5": weights must rise`,
			`s.yaml:8: metadata.annotations.canary.ebb.dev/threshold: invalid value "0": want a whole number, at least 1`,
		}},
		{"config-rollout", fstest.MapFS{"s.yaml": file(helloYAML), "config.yaml": file("apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: config-rollout\n  namespace: ebb-system\ndata:\n  interval: soon\n")}, []string{
			`config.yaml:7: data.interval: config-rollout: interval: invalid value "soon": want a duration such as 30s or 1m`,
		}},
		{"config-network rollout-duration", fstest.MapFS{"s.yaml": file(helloYAML), "config.yaml": file("apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: config-network\n  namespace: ebb-system\ndata:\n  rollout-duration: \"-1\"\n")}, []string{
			`config.yaml:7: data.rollout-duration: config-network: rollout-duration must be at least 0, was -1`,
		}},
		{"container rules", fstest.MapFS{"s.yaml": file(`apiVersion: serving.knative.dev/v1
kind: Service
metadata:
  name: hello
spec:
  template:
    spec:
      timeoutSeconds: 601
      containerConcurrency: 1001
      nodeName: node-1
      nodeSelector:
        disk: ssd
      volumes:
        - name: data
          persistentVolumeClaim:
            claimName: data
      containers:
        - name: queue-proxy
          env:
            - name: PORT
              value: "1"
          ports:
            - containerPort: 8012
              name: grpc
          volumeMounts:
            - name: data
              mountPath: /dev/
            - name: data
              mountPath: /tmp
`)}, []string{
			"s.yaml:8: spec.template.spec.timeoutSeconds: expected 0 <= 601 <= 600",
			"s.yaml:9: spec.template.spec.containerConcurrency: expected 0 <= 1001 <= 1000",
			"s.yaml:11: spec.template.spec.nodeName, spec.template.spec.nodeSelector: must not set the field(s)",
			"s.yaml:15: Persistent volume claim support is disabled, but found persistent volume claim data",
			"s.yaml:15: Persistent volume write support is disabled, but found persistent volume claim data that is not read-only",
			"s.yaml:15: spec.template.spec.volumes[0].persistentVolumeClaim: must not set the field(s)",
			"s.yaml:18: spec.template.spec.containers[0].image: missing field(s)",
			`s.yaml:18: spec.template.spec.containers[0].name: "queue-proxy" is a reserved container name`,
			`s.yaml:20: spec.template.spec.containers[0].env[0].name: "PORT" is a reserved environment variable`,
			"s.yaml:22: spec.template.spec.containers[0].ports: Port name grpc is not allowed",
			"\tName must be empty, or one of: 'h2c', 'http1'",
			"s.yaml:23: spec.template.spec.containers[0].ports.containerPort: invalid value: 8012 is a reserved port",
			"\t8012 is a reserved port, please use a different value",
			`s.yaml:27: spec.template.spec.containers[0].volumeMounts[0].mountPath: mountPath "/dev" is a reserved path`,
		}},
		{"objects", fstest.MapFS{"o.yaml": file("kind: ConfigMap\nmetadata:\n  name: a\n---\napiVersion: serving.knative.dev/v1\nkind: Route\nmetadata:\n  name: r\n---\n- a\n"),
			"p.yaml": file(helloYAML), "q.yaml": file(helloYAML)}, []string{
			"o.yaml:1: apiVersion: missing field(s)",
			"o.yaml:6: kind: kind Route is not supported: ebb reads Services and DomainMappings of serving.knative.dev",
			"o.yaml:10: expected a Kubernetes object (a YAML mapping)",
			"q.yaml:4: metadata.name: Service.serving.knative.dev default/hello is defined twice (first at p.yaml:1)",
		}},
		{"config", fstest.MapFS{"c.yaml": file("apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: config-gc\n  namespace: knative-serving\ndata:\n  min-non-active-revisions: \"5\"\n  max-non-active-revisions: \"2\"\n")}, []string{
			"c.yaml:8: data.max-non-active-revisions: config-gc: max-non-active-revisions(2) must be >= min-non-active-revisions(5)",
		}},
		{"domain mapping", fstest.MapFS{"d.yaml": file("apiVersion: serving.knative.dev/v1beta1\nkind: DomainMapping\nmetadata:\n  name: x.svc.cluster.local\nspec:\n  ref:\n    kind: Service\n    name: nope\n")}, []string{
			`d.yaml:4: metadata.name: invalid value: x.svc.cluster.local: must not be a subdomain of cluster local domain "cluster.local"`,
			`d.yaml:8: spec.ref.name: Service "nope" referenced by the DomainMapping not found.`,
		}},
		{"ko images", koImages(map[string]string{
			"a.yaml": "ko://-toolexec=/tmp/x",
			"b.yaml": "ko://example.com/../../etc",
			"c.yaml": "ko:///home/me/app",
			"d.yaml": "ko://example.com/app name",
			"e.yaml": "ko://example.com//app",
			"f.yaml": "ko://",
			"g.yaml": "ko://example.com/app@v1.2.3",
			"h.yaml": "ko://example.com/app.",
			"i.yaml": "ko://example.com/.hidden/x_y~z+v1-2/ok", // a Go import path
			"j.yaml": "registry.example.com/app:v1",            // not built: any reference
			"k.yaml": "ko://-n",
		}), []string{
			`a.yaml:9: spec.template.spec.containers[0].image: invalid value: ko://-toolexec=/tmp/x: an import path cannot start with "-"`,
			`b.yaml:9: spec.template.spec.containers[0].image: invalid value: ko://example.com/../../etc: path element ".."`,
			`c.yaml:9: spec.template.spec.containers[0].image: invalid value: ko:///home/me/app: an import path cannot be absolute`,
			`d.yaml:9: spec.template.spec.containers[0].image: invalid value: ko://example.com/app name: character ' ' is not allowed in an import path`,
			`e.yaml:9: spec.template.spec.containers[0].image: invalid value: ko://example.com//app: empty path element`,
			`f.yaml:9: spec.template.spec.containers[0].image: invalid value: ko://: missing import path`,
			`g.yaml:9: spec.template.spec.containers[0].image: invalid value: ko://example.com/app@v1.2.3: character '@' is not allowed in an import path`,
			`h.yaml:9: spec.template.spec.containers[0].image: invalid value: ko://example.com/app.: path element "app." ends in a dot`,
			`k.yaml:9: spec.template.spec.containers[0].image: invalid value: ko://-n: an import path cannot start with "-"`,
		}},
		{"ledger", fstest.MapFS{".ebb/default/hello.yaml": file("apiVersion: ebb.dev/v1alpha1\nkind: Ledger\nnamespace: default\nservice: other\ngeneration: 1\nlatest: x\nrevisions: []\ntraffic: []\n")}, []string{
			`.ebb/default/hello.yaml:6: latest: Revision "x" not found.`,
			".ebb/default/hello.yaml:8: traffic: Traffic targets sum to 0, want 100",
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := Load(tt.fsys)
			var list ErrorList
			if !errors.As(err, &list) {
				t.Fatalf("Load error = %v (%T), want an ErrorList", err, err)
			}
			if d := cmp.Diff(tt.want, strings.Split(list.Error(), "\n")); d != "" {
				t.Errorf("errors (-want +got):\n%s", d)
			}
		})
	}
}

func TestFeatureFlagsAllowFields(t *testing.T) {
	svc := strings.Replace(helloYAML, "      containers:", "      nodeSelector:\n        disk: ssd\n      containers:", 1)
	fsys := fstest.MapFS{"s.yaml": file(svc)}
	if _, err := Load(fsys); err == nil || !strings.Contains(err.Error(), "spec.template.spec.nodeSelector: must not set the field(s)") {
		t.Fatalf("nodeSelector with the flag off: err = %v", err)
	}
	fsys["features.yaml"] = file("apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: config-features\n  namespace: ebb-system\ndata:\n  kubernetes.podspec-nodeselector: Enabled\n")
	if _, err := Load(fsys); err != nil {
		t.Fatalf("nodeSelector with the flag on: %v", err)
	}
}
