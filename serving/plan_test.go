package serving

import (
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	sigsyaml "sigs.k8s.io/yaml"

	"github.com/ebb-dev/ebb/serving/traffic"
)

func stamp(commit string, minute int) Stamp {
	return Stamp{Commit: commit, Time: metav1.NewTime(time.Date(2026, 11, 22, 4, minute, 0, 0, time.UTC))}
}

// svc builds a Service "hello" with one container of image img.
func svc(img string, mut ...func(*Service)) *Service {
	s := &Service{
		ObjectMeta: metav1.ObjectMeta{Name: "hello", Namespace: "default"},
		Spec: ServiceSpec{Template: RevisionTemplateSpec{Spec: RevisionSpec{PodSpec: corev1.PodSpec{
			Containers: []corev1.Container{{Image: img}},
		}}}},
	}
	for _, m := range mut {
		m(s)
	}
	return s
}

func named(name string) func(*Service) { return func(s *Service) { s.Name = name } }

func byo(name string) func(*Service) { return func(s *Service) { s.Spec.Template.Name = name } }

func routes(ts ...TrafficTarget) func(*Service) {
	return func(s *Service) { s.Spec.Traffic = ts }
}

func pin(rev string, pct traffic.Percent, tag string) TrafficTarget {
	return TrafficTarget{RevisionName: rev, Percent: &pct, Tag: tag}
}

func latest(pct traffic.Percent, tag string) TrafficTarget {
	t := true
	return TrafficTarget{LatestRevision: &t, Percent: &pct, Tag: tag}
}

// run plans each step in order, feeding the ledgers forward, and returns
// every step's change strings and the final ledger.
func run(t *testing.T, steps [][]*Service) ([][]string, []*Ledger, error) {
	t.Helper()
	var ledgers []*Ledger
	var all [][]string
	for i, services := range steps {
		next, changes, err := Plan(services, ledgers, stamp(strings.Repeat("c", i+1), i), Observed{})
		if err != nil {
			return all, ledgers, err
		}
		var got []string
		for _, c := range changes {
			got = append(got, string(c.Kind)+": "+c.String())
		}
		all = append(all, got)
		ledgers = next
	}
	return all, ledgers, nil
}

func TestPlan(t *testing.T) {
	tests := []struct {
		name  string
		steps [][]*Service
		want  [][]string
		check func(t *testing.T, l []*Ledger)
	}{
		{
			name:  "first revision",
			steps: [][]*Service{{svc("a")}},
			want: [][]string{{
				"revision: default/hello: new revision hello-00001",
				"traffic: default/hello: hello-00001 at 100% (latestRevision)",
			}},
		},
		{
			name:  "template change makes a revision, old one retired",
			steps: [][]*Service{{svc("a")}, {svc("b")}},
			want: [][]string{nil, {
				"revision: default/hello: new revision hello-00002",
				"traffic: default/hello: hello-00002 at 100% (latestRevision)",
				"retired: default/hello: revision hello-00001 retired (no traffic, no tag)",
			}},
			check: func(t *testing.T, l []*Ledger) {
				if r := l[0].Revisions[0].Retired; r == nil || r.Commit != "cc" {
					t.Errorf("hello-00001 retired = %+v, want at commit cc", r)
				}
			},
		},
		{
			name: "template metadata change makes a revision",
			steps: [][]*Service{{svc("a")}, {svc("a", func(s *Service) {
				s.Spec.Template.Annotations = map[string]string{"autoscaling.knative.dev/target": "10"}
			})}},
			want: [][]string{nil, {
				"revision: default/hello: new revision hello-00002",
				"traffic: default/hello: hello-00002 at 100% (latestRevision)",
				"retired: default/hello: revision hello-00001 retired (no traffic, no tag)",
			}},
		},
		{
			name:  "service metadata change makes none",
			steps: [][]*Service{{svc("a")}, {svc("a", func(s *Service) { s.Labels = map[string]string{"team": "x"} })}},
			want:  [][]string{nil, nil},
		},
		{
			name:  "traffic-only change makes none; latestRevision resolves; tags kept",
			steps: [][]*Service{{svc("a")}, {svc("b")}, {svc("b", routes(latest(10, ""), pin("hello-00001", 90, "stable")))}},
			want: [][]string{nil, nil, {
				"traffic: default/hello: hello-00002 at 10% (latestRevision), hello-00001 at 90% (tag stable)",
			}},
			check: func(t *testing.T, l []*Ledger) {
				if l[0].Revisions[0].Retired != nil {
					t.Errorf("hello-00001 is routed again but still retired")
				}
				want := []Target{{RevisionName: "hello-00002", LatestRevision: true, Percent: 10}, {Tag: "stable", RevisionName: "hello-00001", Percent: 90}}
				if d := cmp.Diff(want, l[0].Traffic); d != "" {
					t.Errorf("traffic (-want +got):\n%s", d)
				}
			},
		},
		{
			name: "a 0% tag keeps a revision from retiring; same revision twice sums on the main split",
			steps: [][]*Service{{svc("a")}, {svc("b", routes(latest(100, ""), pin("hello-00001", 0, "old")))},
				{svc("b", routes(latest(60, ""), pin("hello-00002", 40, "cur")))}},
			want: [][]string{nil, {
				"revision: default/hello: new revision hello-00002",
				"traffic: default/hello: hello-00002 at 100% (latestRevision), hello-00001 at 0% (tag old)",
			}, {
				"traffic: default/hello: hello-00002 at 60% (latestRevision), hello-00002 at 40% (tag cur)",
				"retired: default/hello: revision hello-00001 retired (no traffic, no tag)",
			}},
			check: func(t *testing.T, l []*Ledger) {
				want := []Target{{RevisionName: "hello-00002", LatestRevision: true, Percent: 100}}
				if d := cmp.Diff(want, MainSplit(l[0].Traffic)); d != "" {
					t.Errorf("main split (-want +got):\n%s", d)
				}
				if d := cmp.Diff(map[string]string{"cur": "hello-00002"}, Tags(l[0].Traffic)); d != "" {
					t.Errorf("tags (-want +got):\n%s", d)
				}
			},
		},
		{
			name:  "reverting without a BYO name makes a new generation",
			steps: [][]*Service{{svc("a")}, {svc("b")}, {svc("a")}},
			want: [][]string{nil, nil, {
				"revision: default/hello: new revision hello-00003",
				"traffic: default/hello: hello-00003 at 100% (latestRevision)",
				"retired: default/hello: revision hello-00002 retired (no traffic, no tag)",
			}},
		},
		{
			name:  "BYO name reused on revert: true rollback",
			steps: [][]*Service{{svc("a", byo("hello-v1"))}, {svc("b", byo("hello-v2"))}, {svc("a", byo("hello-v1"))}},
			want: [][]string{{
				"revision: default/hello: new revision hello-v1",
				"traffic: default/hello: hello-v1 at 100% (latestRevision)",
			}, {
				"revision: default/hello: new revision hello-v2",
				"traffic: default/hello: hello-v2 at 100% (latestRevision)",
				"retired: default/hello: revision hello-v1 retired (no traffic, no tag)",
			}, {
				"rollback: default/hello: revision hello-v1 is latest again",
				"traffic: default/hello: hello-v1 at 100% (latestRevision)",
				"retired: default/hello: revision hello-v2 retired (no traffic, no tag)",
			}},
			check: func(t *testing.T, l []*Ledger) {
				if n := len(l[0].Revisions); n != 2 || l[0].Latest != "hello-v1" || l[0].Generation != 3 {
					t.Errorf("ledger: %d revisions, latest %s, generation %d; want 2, hello-v1, 3", n, l[0].Latest, l[0].Generation)
				}
				if l[0].Revisions[0].Retired != nil {
					t.Errorf("hello-v1 is latest again but retired")
				}
			},
		},
		{
			name:  "removal withdraws routes and keeps revisions; coming back restores",
			steps: [][]*Service{{svc("a")}, {}, {}, {svc("a")}},
			want: [][]string{nil, {
				"removed: default/hello: service removed: routes withdrawn, revisions kept for garbage collection",
			}, nil, {
				"restored: default/hello: service is back",
				"traffic: default/hello: hello-00001 at 100% (latestRevision)",
			}},
			check: func(t *testing.T, l []*Ledger) {
				if l[0].Removed != nil || l[0].Revisions[0].Retired != nil || len(l[0].Revisions) != 1 {
					t.Errorf("restored ledger = %+v", l[0])
				}
			},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, ledgers, err := run(t, tt.steps)
			if err != nil {
				t.Fatalf("Plan: %v", err)
			}
			for i := range tt.want {
				if i < len(got) && tt.want[i] == nil && i < len(tt.want)-1 {
					continue // not checked
				}
				if d := cmp.Diff(tt.want[i], got[i]); d != "" {
					t.Errorf("step %d changes (-want +got):\n%s", i, d)
				}
			}
			if tt.check != nil {
				tt.check(t, ledgers)
			}
			// Idempotence: planning the result again, later, changes nothing.
			last := tt.steps[len(tt.steps)-1]
			again, changes, err := Plan(last, ledgers, stamp("later", 59), Observed{})
			if err != nil || len(changes) != 0 {
				t.Fatalf("replan: changes %v, err %v", changes, err)
			}
			if d := cmp.Diff(ledgers, again); d != "" {
				t.Errorf("replan changed the ledger (-want +got):\n%s", d)
			}
		})
	}
}

func TestPlanErrors(t *testing.T) {
	tests := []struct {
		name  string
		steps [][]*Service
		want  string
	}{
		{"prefix", [][]*Service{{svc("a", byo("world-v1"))}}, `Service.serving.knative.dev default/hello: spec.template.metadata.name: "world-v1" must have prefix "hello-"`},
		{"change without rename", [][]*Service{{svc("a", byo("hello-v1"))}, {svc("b", byo("hello-v1"))}},
			"Service.serving.knative.dev default/hello: spec.template.metadata.name: Saw the following changes without a name change (-old +new)\n\t"},
		{"name taken by a different template", [][]*Service{{svc("a", byo("hello-v1"))}, {svc("b", byo("hello-v2"))}, {svc("c", byo("hello-v1"))}},
			`spec.template.metadata.name: The revision name "hello-v1" is taken by a conflicting Revision, so traffic will not be migrated`},
		{"unknown revisionName", [][]*Service{{svc("a", routes(pin("hello-00009", 100, "")))}},
			`Service.serving.knative.dev default/hello: spec.traffic[0].revisionName: Revision "hello-00009" referenced in traffic not found.`},
		{"a revision name of another Service in the namespace", [][]*Service{{svc("a", named("hello-world")), svc("a", byo("hello-world-00001"))}},
			`Service.serving.knative.dev default/hello-world: spec.template.metadata.name: The revision name "hello-world-00001" is taken by a conflicting Revision, so traffic will not be migrated`},
		{"another service's revision", [][]*Service{{svc("a", routes(pin("other-00001", 100, "")))}},
			`spec.traffic[0].revisionName: Revision "other-00001" referenced in traffic not found.`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, _, err := run(t, tt.steps)
			var list ErrorList
			if !errors.As(err, &list) {
				t.Fatalf("err = %v, want an ErrorList", err)
			}
			if !strings.Contains(err.Error(), tt.want) {
				t.Errorf("err =\n%v\nwant it to contain\n%v", err, tt.want)
			}
		})
	}
}

func TestLedgerRoundTrip(t *testing.T) {
	_, ledgers, err := run(t, [][]*Service{{svc("a")}, {svc("b", routes(latest(10, "next"), pin("hello-00001", 90, "")))}})
	if err != nil {
		t.Fatal(err)
	}
	b, err := MarshalLedger(ledgers[0])
	if err != nil {
		t.Fatal(err)
	}
	b2, _ := MarshalLedger(ledgers[0])
	if string(b) != string(b2) {
		t.Errorf("MarshalLedger is not deterministic")
	}
	got, err := UnmarshalLedger("x.yaml", b)
	if err != nil {
		t.Fatalf("UnmarshalLedger: %v\n%s", err, b)
	}
	if d := cmp.Diff(ledgers[0], got); d != "" {
		t.Errorf("round trip (-want +got):\n%s", d)
	}
	for _, want := range []string{"apiVersion: ebb.dev/v1alpha1\nkind: Ledger\nnamespace: default\nservice: hello\ngeneration: 2\nlatest: hello-00002\n", "      time: \"2026-11-22T04:01:00Z\"\n"} {
		if !strings.Contains(string(b), want) {
			t.Errorf("ledger YAML lacks %q:\n%s", want, b)
		}
	}
}

func TestRevisionName(t *testing.T) {
	long := strings.Repeat("s", 60)
	for _, tc := range []struct{ svc, want string }{
		{"hello", "hello-00007"},
		{strings.Repeat("a", 57), strings.Repeat("a", 57) + "-00007"},
		{long, long[:25] + "ff6578eb5e77e407b5c03f71070665f6" + "-00007"},
	} {
		got := RevisionName(tc.svc, 7)
		if got != tc.want || len(got) > 63 {
			t.Errorf("RevisionName(%q, 7) = %q (%d), want %q", tc.svc, got, len(got), tc.want)
		}
	}
}

// TestLedgerYAMLReadsBackEverywhere checks that string values that look
// like other types stay strings for YAML 1.1 readers too.
func TestLedgerYAMLReadsBackEverywhere(t *testing.T) {
	values := []string{"yes", "On", "n", "1e3", "0x10", "010", "null", "~", "true", "3.0", " x", "a: b", "#c", "- d", "2026-11-22"}
	s := svc("a", func(s *Service) {
		for _, v := range values {
			s.Spec.Template.Spec.Containers[0].Env = append(s.Spec.Template.Spec.Containers[0].Env, corev1.EnvVar{Name: "X", Value: v})
		}
	})
	next, _, err := Plan([]*Service{s}, nil, stamp("c", 0), Observed{})
	if err != nil {
		t.Fatal(err)
	}
	b, err := MarshalLedger(next[0])
	if err != nil {
		t.Fatal(err)
	}
	var l11 Ledger
	if err := sigsyaml.UnmarshalStrict(b, &l11); err != nil {
		t.Fatalf("a YAML 1.1 reader fails on the ledger: %v\n%s", err, b)
	}
	l, err := UnmarshalLedger("x.yaml", b)
	if err != nil {
		t.Fatal(err)
	}
	for _, got := range []*Ledger{&l11, l} {
		var env []string
		for _, e := range got.Revisions[0].Template.Spec.Containers[0].Env {
			env = append(env, e.Value)
		}
		if d := cmp.Diff(values, env); d != "" {
			t.Errorf("values (-want +got):\n%s", d)
		}
		if HashTemplate(&got.Revisions[0].Template) != got.Revisions[0].Hash {
			t.Errorf("the template read back hashes differently")
		}
	}
}

func TestHashTemplateIgnoresEmptyValues(t *testing.T) {
	a := svc("a").Spec.Template
	b := svc("a", func(s *Service) {
		s.Spec.Template.Labels = map[string]string{}
		s.Spec.Template.Spec.Containers[0].Env = []corev1.EnvVar{}
		s.Spec.Template.Spec.Containers[0].Resources.Limits = corev1.ResourceList{}
	}).Spec.Template
	if HashTemplate(&a) != HashTemplate(&b) {
		t.Errorf("empty maps and lists change the hash")
	}
	for _, mut := range []func(*Service){
		func(s *Service) { s.Spec.Template.Spec.ContainerConcurrency = ptr(int64(0)) },
		func(s *Service) { s.Spec.Template.Spec.Containers[0].Env = []corev1.EnvVar{{Name: "A"}} },
		func(s *Service) { s.Spec.Template.Labels = map[string]string{"a": "b"} },
	} {
		c := svc("a", mut).Spec.Template
		if HashTemplate(&a) == HashTemplate(&c) {
			t.Errorf("a meaningful change kept the hash: %+v", c)
		}
	}
}
