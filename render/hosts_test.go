package render

import (
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/ebb-dev/ebb/serving"
	"github.com/ebb-dev/ebb/serving/config"
)

func TestURLs(t *testing.T) {
	tagged := func(s *serving.Service) *serving.Ledger {
		l := testLedger(s)
		l.Traffic = append(l.Traffic, serving.Target{Tag: "blue", RevisionName: l.Latest})
		return l
	}
	tests := []struct {
		name   string
		maps   map[string]map[string]string
		labels map[string]string
		annots map[string]string
		want   Addresses
	}{{
		name: "default domain is cluster-local",
		want: Addresses{
			URL:     "http://hello.default.svc.cluster.local",
			Address: "http://hello.default.svc.cluster.local",
			Tags:    []TagURL{{"blue", "http://blue-hello.default.svc.cluster.local"}},
		},
	}, {
		name: "default domain",
		maps: map[string]map[string]string{config.DomainName: {"example.com": ""}},
		want: Addresses{
			URL:     "http://hello.default.example.com",
			Address: "http://hello.default.svc.cluster.local",
			Tags:    []TagURL{{"blue", "http://blue-hello.default.example.com"}},
		},
	}, {
		name: "most selector keys wins",
		maps: map[string]map[string]string{config.DomainName: {
			"example.com": "",
			"one.example": "selector:\n  app: web\n",
			"two.example": "selector:\n  app: web\n  tier: front\n",
		}},
		labels: map[string]string{"app": "web", "tier": "front"},
		want:   Addresses{URL: "http://hello.default.two.example", Address: "http://hello.default.svc.cluster.local", Tags: []TagURL{{"blue", "http://blue-hello.default.two.example"}}},
	}, {
		name: "ties go to the smallest domain",
		maps: map[string]map[string]string{config.DomainName: {
			"example.com": "",
			"b.example":   "selector:\n  app: web\n",
			"a.example":   "selector:\n  tier: front\n",
		}},
		labels: map[string]string{"app": "web", "tier": "front"},
		want:   Addresses{URL: "http://hello.default.a.example", Address: "http://hello.default.svc.cluster.local", Tags: []TagURL{{"blue", "http://blue-hello.default.a.example"}}},
	}, {
		name:   "visibility label keeps the route in the cluster",
		maps:   map[string]map[string]string{config.DomainName: {"example.com": ""}},
		labels: map[string]string{LabelVisibility: VisibilityClusterLocal},
		want:   Addresses{URL: "http://hello.default.svc.cluster.local", Address: "http://hello.default.svc.cluster.local", Tags: []TagURL{{"blue", "http://blue-hello.default.svc.cluster.local"}}},
	}, {
		name: "the implicit default follows the cluster domain",
		maps: map[string]map[string]string{config.NetworkName: {"cluster-domain": "corp.local"}},
		want: Addresses{
			URL:     "http://hello.default.svc.corp.local",
			Address: "http://hello.default.svc.corp.local",
			Tags:    []TagURL{{"blue", "http://blue-hello.default.svc.corp.local"}},
		},
	}, {
		name: "templates, scheme and cluster domain",
		maps: map[string]map[string]string{
			config.DomainName: {"example.com": ""},
			config.NetworkName: {
				"domain-template":         "{{.Name}}-{{.Namespace}}.{{index .Annotations \"team\"}}.{{.Domain}}",
				"tag-template":            "{{.Name}}-{{.Tag}}",
				"default-external-scheme": "https",
				"cluster-domain":          "corp.local",
			},
		},
		annots: map[string]string{"team": "core"},
		want: Addresses{
			URL:     "https://hello-default.core.example.com",
			Address: "http://hello.default.svc.corp.local",
			Tags:    []TagURL{{"blue", "https://hello-blue-default.core.example.com"}},
		},
	}}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := testService("hello")
			s.Labels, s.Annotations = tt.labels, tt.annots
			got, err := URLs(s, tagged(s), testConfig(t, tt.maps))
			if err != nil {
				t.Fatal(err)
			}
			if d := cmp.Diff(tt.want, got); d != "" {
				t.Errorf("URLs (-want +got):\n%s", d)
			}
		})
	}
}

func TestURLsInvalidHost(t *testing.T) {
	s := testService("hello")
	s.Annotations = map[string]string{"sub": "Not_A_Host"}
	cfg := testConfig(t, map[string]map[string]string{
		config.DomainName:  {"example.com": ""},
		config.NetworkName: {"domain-template": "{{index .Annotations \"sub\"}}.{{.Domain}}"},
	})
	_, err := URLs(s, testLedger(s), cfg)
	if err == nil || !strings.Contains(err.Error(), `"Not_A_Host.example.com"`) {
		t.Errorf("URLs with an invalid host: err %v", err)
	}
}
