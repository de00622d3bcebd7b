package config

import (
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/ebb-dev/ebb/scaler/autoscaling"
)

func TestDefaults(t *testing.T) {
	c := Default()
	got := map[string]any{
		"ingress-class":                 c.Network.IngressClass,
		"domain-template":               c.Network.DomainTemplateText,
		"tag-template":                  c.Network.TagTemplateText,
		"default-external-scheme":       c.Network.DefaultExternalScheme,
		"rollout-duration":              c.Network.RolloutDuration,
		"http-protocol":                 c.Network.HTTPProtocol,
		"domain":                        c.Domain.LookupDomain(map[string]string{"app": "x"}),
		"revision-timeout-seconds":      c.Defaults.RevisionTimeoutSeconds,
		"max-revision-timeout-seconds":  c.Defaults.MaxRevisionTimeoutSeconds,
		"response-start":                c.Defaults.RevisionResponseStartTimeoutSeconds,
		"idle":                          c.Defaults.RevisionIdleTimeoutSeconds,
		"container-concurrency":         c.Defaults.ContainerConcurrency,
		"container-concurrency-max":     c.Defaults.ContainerConcurrencyMaxLimit,
		"container-name":                c.Defaults.UserContainerName(metaNamed("hello")),
		"init-container-name":           c.Defaults.InitContainerName(metaNamed("hello")),
		"enable-service-links":          c.Defaults.EnableServiceLinks,
		"tag-header-based-routing":      c.Features.Get(FeatureTagHeaderBasedRouting),
		"multi-container":               c.Features.Get(FeatureMultiContainer),
		"retain-since-create-time":      c.GC.RetainSinceCreateTime,
		"retain-since-last-active-time": c.GC.RetainSinceLastActiveTime,
		"min-non-active-revisions":      c.GC.MinNonActiveRevisions,
		"max-non-active-revisions":      c.GC.MaxNonActiveRevisions,
		"schedule":                      c.GC.Schedule,
		"queue-sidecar-image":           c.Deployment.QueueSidecarImage,
		"progress-deadline":             c.Deployment.ProgressDeadline,
		"queue-sidecar-cpu-request":     c.Deployment.QueueSidecarCPURequest.String(),
		"default-affinity-type":         c.Deployment.DefaultAffinityType,
		"skips ko.local":                c.Deployment.SkipsTagResolving("ko.local"),
	}
	want := map[string]any{
		"ingress-class":                 "ebb",
		"domain-template":               "{{.Name}}.{{.Namespace}}.{{.Domain}}",
		"tag-template":                  "{{.Tag}}-{{.Name}}",
		"default-external-scheme":       "http",
		"rollout-duration":              time.Duration(0),
		"http-protocol":                 HTTPEnabled,
		"domain":                        "svc.cluster.local",
		"revision-timeout-seconds":      int64(300),
		"max-revision-timeout-seconds":  int64(600),
		"response-start":                int64(0),
		"idle":                          int64(0),
		"container-concurrency":         int64(0),
		"container-concurrency-max":     int64(1000),
		"container-name":                "user-container",
		"init-container-name":           "init-container",
		"enable-service-links":          false,
		"tag-header-based-routing":      Disabled,
		"multi-container":               Enabled,
		"retain-since-create-time":      48 * time.Hour,
		"retain-since-last-active-time": 15 * time.Hour,
		"min-non-active-revisions":      int64(20),
		"max-non-active-revisions":      int64(1000),
		"schedule":                      "@hourly",
		"queue-sidecar-image":           "ko://github.com/ebb-dev/ebb/cmd/ebb/sidecar",
		"progress-deadline":             600 * time.Second,
		"queue-sidecar-cpu-request":     "25m",
		"default-affinity-type":         "prefer-spread-revision-over-nodes",
		"skips ko.local":                true,
	}
	if d := cmp.Diff(want, got); d != "" {
		t.Errorf("defaults (-want +got):\n%s", d)
	}
}

func TestApplyValues(t *testing.T) {
	tests := []struct {
		name string
		cm   string
		data map[string]string
		get  func(*Config) any
		want any
	}{
		{"ingress-class", NetworkName, map[string]string{"ingress-class": IngressClassGatewayAPI}, func(c *Config) any { return c.Network.IngressClass }, IngressClassGatewayAPI},
		{"ingress.class alias", NetworkName, map[string]string{"ingress.class": IngressClassIstio}, func(c *Config) any { return c.Network.IngressClass }, IngressClassIstio},
		{"canonical key wins", NetworkName, map[string]string{"ingress.class": IngressClassIstio, "ingress-class": "ebb"}, func(c *Config) any { return c.Network.IngressClass }, "ebb"},
		{"kingress-classes", NetworkName, map[string]string{"kingress-classes": "istio, gateway-api.ingress.networking.knative.dev,"}, func(c *Config) any {
			return []bool{c.Network.RendersKIngress(IngressClassIstio), c.Network.RendersKIngress(IngressClassGatewayAPI), c.Network.RendersKIngress(IngressClassEbb), c.Network.RendersKIngress(IngressClassKourier)}
		}, []bool{true, true, false, true}},
		{"rollout-duration", NetworkName, map[string]string{"rollout-duration": "120"}, func(c *Config) any { return c.Network.RolloutDuration }, 2 * time.Minute},
		{"http-protocol any case", NetworkName, map[string]string{"http-protocol": "redirected"}, func(c *Config) any { return c.Network.HTTPProtocol }, HTTPRedirected},
		{"autoTLS alias", NetworkName, map[string]string{"autoTLS": "Enabled"}, func(c *Config) any { return c.Network.ExternalDomainTLS }, true},
		{"domain-template renders", NetworkName, map[string]string{"domain-template": "{{.Name}}-{{.Namespace}}.{{.Domain}}"}, func(c *Config) any {
			h, _ := c.Network.Host(DomainTemplateValues{Name: "hello", Namespace: "default", Domain: "example.com"})
			return h
		}, "hello-default.example.com"},
		{"tag-template renders", NetworkName, map[string]string{"tag-template": "{{.Name}}-{{.Tag}}"}, func(c *Config) any {
			h, _ := c.Network.TagName("hello", "blue")
			return h
		}, "hello-blue"},
		{"unknown keys ignored", NetworkName, map[string]string{"no-such-key": "x", ExampleKey: "docs"}, func(c *Config) any { return c.Network.IngressClass }, "ebb"},
		{"config-domain default entry", DomainName, map[string]string{"example.com": "", "example.org": "selector:\n  app: nonprofit\n"}, func(c *Config) any {
			return []string{c.Domain.LookupDomain(nil), c.Domain.LookupDomain(map[string]string{"app": "nonprofit"})}
		}, []string{"example.com", "example.org"}},
		{"config-domain adds svc.cluster.local", DomainName, map[string]string{"example.org": "selector:\n  app: nonprofit\n"}, func(c *Config) any {
			return c.Domain.LookupDomain(map[string]string{"app": "other"})
		}, "svc.cluster.local"},
		{"config-domain most keys wins", DomainName, map[string]string{"a.com": "selector: {app: x}", "b.com": "selector: {app: x, tier: web}"}, func(c *Config) any {
			return c.Domain.LookupDomain(map[string]string{"app": "x", "tier": "web"})
		}, "b.com"},
		{"config-domain tie smallest", DomainName, map[string]string{"b.com": "selector: {app: x}", "a.com": "selector: {app: x}"}, func(c *Config) any {
			return c.Domain.LookupDomain(map[string]string{"app": "x"})
		}, "a.com"},
		{"defaults timeouts", DefaultsName, map[string]string{"revision-timeout-seconds": "100", "max-revision-timeout-seconds": "200"}, func(c *Config) any {
			return []int64{c.Defaults.RevisionTimeoutSeconds, c.Defaults.MaxRevisionTimeoutSeconds}
		}, []int64{100, 200}},
		{"container-name-template", DefaultsName, map[string]string{"container-name-template": "{{.Name}}"}, func(c *Config) any { return c.Defaults.UserContainerName(metaNamed("hello")) }, "hello"},
		{"revision-cpu-request", DefaultsName, map[string]string{"revision-cpu-request": "100m"}, func(c *Config) any { return c.Defaults.RevisionCPURequest.String() }, "100m"},
		{"enable-service-links", DefaultsName, map[string]string{"enable-service-links": "true"}, func(c *Config) any { return c.Defaults.EnableServiceLinks }, true},
		{"features any case", FeaturesName, map[string]string{"tag-header-based-routing": "enabled"}, func(c *Config) any { return c.Features.TagHeaderBasedRouting() }, true},
		{"secure-pod-defaults level, any case", FeaturesName, map[string]string{"secure-pod-defaults": "allowrootbounded"}, func(c *Config) any { return c.Features.Get(FeatureSecurePodDefaults) }, AllowRootBounded},
		{"features unknown key kept", FeaturesName, map[string]string{"some.new-flag": "Allowed"}, func(c *Config) any { return c.Features.Get("some.new-flag") }, Allowed},
		{"gc disabled", GCName, map[string]string{"retain-since-create-time": "disabled", "retain-since-last-active-time": "Disabled", "max-non-active-revisions": "disabled"}, func(c *Config) any { return c.GC.Disabled() }, true},
		{"gc keep last ten", GCName, map[string]string{"min-non-active-revisions": "0", "max-non-active-revisions": "10"}, func(c *Config) any {
			return []int64{c.GC.MinNonActiveRevisions, c.GC.MaxNonActiveRevisions}
		}, []int64{0, 10}},
		{"gc schedule every", GCName, map[string]string{"schedule": "@every 10m"}, func(c *Config) any {
			at := time.Date(2026, 11, 22, 4, 0, 0, 0, time.UTC)
			return c.GC.Cron.Next(at).Sub(at)
		}, 10 * time.Minute},
		{"gc schedule cron", GCName, map[string]string{"schedule": "30 2 * * *"}, func(c *Config) any {
			return c.GC.Cron.Next(time.Date(2026, 11, 22, 4, 0, 0, 0, time.UTC))
		}, time.Date(2026, 11, 23, 2, 30, 0, 0, time.UTC)},
		{"queueSidecarImage alias", DeploymentName, map[string]string{"queueSidecarImage": "example.com/qp"}, func(c *Config) any { return c.Deployment.QueueSidecarImage }, "example.com/qp"},
		{"progress-deadline", DeploymentName, map[string]string{"progress-deadline": "5m"}, func(c *Config) any { return c.Deployment.ProgressDeadline }, 5 * time.Minute},
		{"registries", DeploymentName, map[string]string{"registries-skipping-tag-resolving": "a.io, b.io"}, func(c *Config) any {
			return []bool{c.Deployment.SkipsTagResolving("a.io"), c.Deployment.SkipsTagResolving("b.io"), c.Deployment.SkipsTagResolving("ko.local")}
		}, []bool{true, true, false}},
		{"queue-sidecar-memory-limit", DeploymentName, map[string]string{"queue-sidecar-memory-limit": "800Mi"}, func(c *Config) any { return c.Deployment.QueueSidecarMemoryLimit.String() }, "800Mi"},
		{"affinity none", DeploymentName, map[string]string{"default-affinity-type": "none"}, func(c *Config) any { return c.Deployment.DefaultAffinityType }, "none"},
		{"unknown configmap ignored", "config-observability", map[string]string{"x": "y"}, func(c *Config) any { return c.Network.IngressClass }, "ebb"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := Default()
			if err := c.Apply(tt.cm, tt.data); err != nil {
				t.Fatalf("Apply: %v", err)
			}
			if d := cmp.Diff(tt.want, tt.get(c)); d != "" {
				t.Errorf("(-want +got):\n%s", d)
			}
		})
	}
}

func TestApplyErrors(t *testing.T) {
	tests := []struct {
		cm   string
		data map[string]string
		want string
	}{
		{NetworkName, map[string]string{"ingress-class": ""}, "config-network: ingress-class cannot be empty"},
		{NetworkName, map[string]string{"domain-template": "{{.Name}}.{{.Namespace}}.{{.Domain}}/path"}, "config-network: domain-template: domain template has url path: /path"},
		{NetworkName, map[string]string{"domain-template": "{{.Name"}, "config-network: domain-template: template: domain-template:1: unclosed action"},
		{NetworkName, map[string]string{"domain-template": "{{.Nope}}"}, "can't evaluate field Nope"},
		{NetworkName, map[string]string{"tag-template": "{{.Tog}}"}, "config-network: tag-template: "},
		{NetworkName, map[string]string{"default-external-scheme": "ftp"}, `config-network: default-external-scheme "ftp" not supported`},
		{NetworkName, map[string]string{"kingress-classes": "istio,ebb"}, `config-network: kingress-classes: "ebb" is ebb's own gateway`},
		{NetworkName, map[string]string{"rollout-duration": "-1"}, "config-network: rollout-duration must be at least 0, was -1"},
		{NetworkName, map[string]string{"rollout-duration": "1m"}, `config-network: failed to parse "rollout-duration": strconv.ParseInt: parsing "1m": invalid syntax`},
		{NetworkName, map[string]string{"http-protocol": "Sometimes"}, "config-network: httpProtocol Sometimes in config-network ConfigMap is not supported"},
		{NetworkName, map[string]string{"external-domain-tls": "yes"}, `config-network: external-domain-tls with value: "yes" is not supported`},
		{DomainName, map[string]string{"example.com": "selector: [a]"}, `config-domain: failed to parse "example.com": `},
		{DomainName, map[string]string{"example.com": "selectr: {}"}, `config-domain: failed to parse "example.com": error unmarshaling JSON: while decoding JSON: json: unknown field "selectr"`},
		{DefaultsName, map[string]string{"revision-timeout-seconds": "700"}, "config-defaults: revision-timeout-seconds (700) cannot be greater than max-revision-timeout-seconds (600)"},
		{DefaultsName, map[string]string{"revision-response-start-timeout-seconds": "400"}, "config-defaults: revision-response-start-timeout-seconds (400) cannot be greater than revision-timeout-seconds (300)"},
		{DefaultsName, map[string]string{"revision-idle-timeout-seconds": "400"}, "config-defaults: revision-idle-timeout-seconds (400) cannot be greater than revision-timeout-seconds (300)"},
		{DefaultsName, map[string]string{"container-concurrency-max-limit": "0"}, "config-defaults: expected 1 <= 0 <= 2147483647: container-concurrency-max-limit"},
		{DefaultsName, map[string]string{"container-concurrency": "1001"}, "config-defaults: expected 0 <= 1001 <= 1000: container-concurrency"},
		{DefaultsName, map[string]string{"revision-timeout-seconds": "five"}, `config-defaults: failed to parse "revision-timeout-seconds": strconv.ParseInt: parsing "five": invalid syntax`},
		{DefaultsName, map[string]string{"revision-cpu-request": "lots"}, `config-defaults: failed to parse "revision-cpu-request": quantities must match the regular expression`},
		{DefaultsName, map[string]string{"container-name-template": "{{.Nope}}"}, `config-defaults: error executing template "container-name-template"`},
		{DefaultsName, map[string]string{"enable-service-links": "maybe"}, `config-defaults: failed to parse "enable-service-links"`},
		{FeaturesName, map[string]string{"multi-container": "On"}, `config-features: multi-container: invalid value "On", want one of Enabled, Disabled, Allowed`},
		{FeaturesName, map[string]string{"secure-pod-defaults": "Allowed"}, `config-features: secure-pod-defaults: invalid value "Allowed", want one of Disabled, AllowRootBounded, Enabled`},
		{GCName, map[string]string{"retain-since-create-time": "two days"}, `config-gc: failed to parse "retain-since-create-time": time: invalid duration "two days"`},
		{GCName, map[string]string{"retain-since-last-active-time": "-1h"}, "config-gc: retain-since-last-active-time must be non-negative, was: -1h0m0s"},
		{GCName, map[string]string{"min-non-active-revisions": "-1"}, "config-gc: min-non-active-revisions must be non-negative, was: -1"},
		{GCName, map[string]string{"max-non-active-revisions": "-2"}, "config-gc: max-non-active-revisions must be non-negative or disabled, was: -2"},
		{GCName, map[string]string{"min-non-active-revisions": "30", "max-non-active-revisions": "10"}, "config-gc: max-non-active-revisions(10) must be >= min-non-active-revisions(30)"},
		{GCName, map[string]string{"schedule": "every hour"}, `config-gc: failed to parse "schedule": `},
		{GCName, map[string]string{"schedule": "0 0 * * * *"}, `config-gc: failed to parse "schedule": expected exactly 5 fields, found 6: [0 0 * * * *]`},
		{DeploymentName, map[string]string{"queue-sidecar-image": " "}, "config-deployment: queue-sidecar-image cannot be empty or whitespace"},
		{DeploymentName, map[string]string{"progress-deadline": "0s"}, "config-deployment: progress-deadline cannot be a non-positive duration, was 0s"},
		{DeploymentName, map[string]string{"progress-deadline": "1.5s"}, "config-deployment: progress-deadline must be rounded to a whole second, was: 1.5s"},
		{DeploymentName, map[string]string{"digest-resolution-timeout": "-1s"}, "config-deployment: digest-resolution-timeout cannot be a non-positive duration, was -1s"},
		{DeploymentName, map[string]string{"queue-sidecar-cpu-request": "x"}, `config-deployment: failed to parse "queue-sidecar-cpu-request"`},
		{DeploymentName, map[string]string{"default-affinity-type": "spread"}, `config-deployment: unsupported default-affinity-type value: "spread"`},
	}
	for _, tt := range tests {
		t.Run(tt.want, func(t *testing.T) {
			c := Default()
			before := c.Network
			err := c.Apply(tt.cm, tt.data)
			if err == nil {
				t.Fatalf("Apply(%s, %v): no error, want %q", tt.cm, tt.data, tt.want)
			}
			if !strings.Contains(err.Error(), tt.want) {
				t.Errorf("Apply error = %q, want it to contain %q", err, tt.want)
			}
			if c.Network != before {
				t.Errorf("a failed Apply replaced another ConfigMap's values")
			}
		})
	}
}

func TestIsConfigName(t *testing.T) {
	for _, n := range Names() {
		if !IsConfigName(n) {
			t.Errorf("IsConfigName(%q) = false", n)
		}
	}
	if IsConfigName("config-observability") {
		t.Errorf("IsConfigName(config-observability) = true")
	}
}

func TestAutoscaler(t *testing.T) {
	c := Default()
	if c.Autoscaler == nil {
		t.Fatal("Default().Autoscaler is nil")
	}
	if err := c.Apply(AutoscalerName, map[string]string{"stable-window": "2s"}); err == nil {
		t.Errorf("Apply(config-autoscaler, stable-window=2s): no error")
	} else if !strings.HasPrefix(err.Error(), "config-autoscaler: ") {
		t.Errorf("error %q does not name the ConfigMap", err)
	}
	if err := c.Apply(AutoscalerName, map[string]string{"container-concurrency-target-default": "50"}); err != nil {
		t.Fatalf("Apply: %v", err)
	}
	if c.Autoscaler.ContainerConcurrencyTargetDefault != 50 || autoscaling.DefaultConfig().ContainerConcurrencyTargetDefault == 50 {
		t.Errorf("container-concurrency-target-default = %v, want 50", c.Autoscaler.ContainerConcurrencyTargetDefault)
	}
}
