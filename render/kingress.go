package render

import (
	"fmt"
	"maps"
	"strings"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/intstr"

	"github.com/ebb-dev/ebb/proxy/header"
	"github.com/ebb-dev/ebb/proxy/route"
	"github.com/ebb-dev/ebb/serving"
	"github.com/ebb-dev/ebb/serving/config"
	"github.com/ebb-dev/ebb/serving/names"
	"github.com/ebb-dev/ebb/serving/traffic"
)

// Knative's KIngress (networking.internal.knative.dev/v1alpha1 Ingress),
// the object every net-* controller (net-kourier, net-contour, net-istio,
// net-gateway-api, ALB, MSE) programs its edge from. ebb writes it as
// Knative's route and domain-mapping reconcilers of knative.dev/serving
// v0.48.1 build it, with a typed model of its own rather than Knative's
// module.
const (
	KIngressAPIVersion = "networking.internal.knative.dev/v1alpha1"
	KIngressKind       = "Ingress"

	// AnnotationRollout is the KIngress annotation holding the route's
	// gradual-rollout state, Knative's traffic.Rollout as JSON.
	AnnotationRollout = "networking.internal.knative.dev/rollout"
	// AnnotationHTTPOption and its older spelling AnnotationHTTPProtocol
	// set a route's httpOption (Enabled or Redirected) over config-network
	// http-protocol.
	AnnotationHTTPOption   = "networking.knative.dev/httpOption"
	AnnotationHTTPProtocol = "networking.knative.dev/http-protocol"
	// LabelDomainMappingUID names a DomainMapping's KIngress.
	LabelDomainMappingUID = "serving.knative.dev/domainMappingUID"

	annotationCertificateClassAlias = "networking.knative.dev/certificate-class"
	visibilityExternalIP            = "ExternalIP"
	visibilityClusterLocal          = "ClusterLocal"
)

type kingress struct {
	metav1.TypeMeta   `json:",inline"`
	metav1.ObjectMeta `json:"metadata,omitempty"`
	Spec              kingressSpec `json:"spec,omitempty"`
}

type kingressSpec struct {
	TLS        []kingressTLS  `json:"tls,omitempty"`
	Rules      []kingressRule `json:"rules,omitempty"`
	HTTPOption string         `json:"httpOption,omitempty"`
}

type kingressTLS struct {
	Hosts           []string `json:"hosts,omitempty"`
	SecretName      string   `json:"secretName,omitempty"`
	SecretNamespace string   `json:"secretNamespace,omitempty"`
}

type kingressRule struct {
	Hosts      []string      `json:"hosts,omitempty"`
	Visibility string        `json:"visibility,omitempty"`
	HTTP       *kingressHTTP `json:"http,omitempty"`
}

type kingressHTTP struct {
	Paths []kingressPath `json:"paths"`
}

type kingressPath struct {
	Path          string                 `json:"path,omitempty"`
	RewriteHost   string                 `json:"rewriteHost,omitempty"`
	Headers       map[string]headerMatch `json:"headers,omitempty"`
	Splits        []kingressSplit        `json:"splits"`
	AppendHeaders map[string]string      `json:"appendHeaders,omitempty"`
}

type headerMatch struct {
	Exact string `json:"exact"`
}

type kingressSplit struct {
	ServiceNamespace string             `json:"serviceNamespace"`
	ServiceName      string             `json:"serviceName"`
	ServicePort      intstr.IntOrString `json:"servicePort"`
	Percent          traffic.Percent    `json:"percent,omitempty"`
	AppendHeaders    map[string]string  `json:"appendHeaders,omitempty"`
}

// kingressOptions are what a KIngress takes from its object beyond the
// route: the class, the annotations of the object it is named after, the
// rollout annotation (routes only), the httpOption and TLS.
type kingressOptions struct {
	class       string
	annotations map[string]string
	rollout     string
	httpOption  string
	tls         []kingressTLS
}

// checkKIngressConfig refuses the config-network settings whose KIngress
// Knative fills from objects ebb does not make: certificates requested
// from a certificate controller.
func checkKIngressConfig(cfg *config.Config, class string) error {
	switch {
	case cfg.Network.ExternalDomainTLS:
		return fmt.Errorf("ingress class %s: config-network external-domain-tls: Enabled is not supported: ebb requests no Knative Certificates; give a DomainMapping spec.tls.secretName instead", class)
	case cfg.Network.ClusterLocalDomainTLS:
		return fmt.Errorf("ingress class %s: config-network cluster-local-domain-tls: Enabled is not supported: ebb requests no Knative Certificates", class)
	}
	return nil
}

// httpOption is the KIngress httpOption of an object: its httpOption (or
// http-protocol) annotation, else config-network http-protocol, where
// Disabled gives none, as Knative's GetHTTPOption.
func httpOption(annotations map[string]string, cfg *config.Config) (string, error) {
	v, ok := annotations[AnnotationHTTPOption]
	if !ok {
		v, ok = annotations[AnnotationHTTPProtocol]
	}
	if ok && v != "" {
		switch strings.ToLower(v) {
		case "enabled":
			return string(config.HTTPEnabled), nil
		case "redirected":
			return string(config.HTTPRedirected), nil
		}
		return "", fmt.Errorf("incorrect http-protocol annotation: %s", strings.ToLower(v))
	}
	switch cfg.Network.HTTPProtocol {
	case config.HTTPEnabled, config.HTTPRedirected:
		return string(cfg.Network.HTTPProtocol), nil
	}
	return "", nil
}

// kingressAnnotations are an object's annotations without the ones
// Knative keeps off its KIngress, over the class; extra are set last.
func kingressAnnotations(class string, annotations map[string]string, extra map[string]string) map[string]string {
	a := map[string]string{AnnotationIngressClass: class}
	for k, v := range annotations {
		switch k {
		case AnnotationLastApplied, AnnotationIngressClassAlias, annotationCertificateClassAlias:
			continue
		}
		a[k] = v
	}
	// The canonical class wins over a short name in the annotation: a
	// net-* controller matches the full name only.
	a[AnnotationIngressClass] = class
	maps.Copy(a, extra)
	return a
}

// makeServiceKIngress is a Service's KIngress from its route as
// serviceRoute makes it for Knative: each split goes to the revision's
// public Service.
func makeServiceKIngress(r route.Route, meta routeMeta, o kingressOptions, facts revisionFacts, cfg *config.Config) (*kingress, error) {
	ing := newKIngress(names.Ingress(r.Name), r.Namespace, maps.Clone(meta.labels),
		kingressAnnotations(o.class, o.annotations, map[string]string{AnnotationRollout: o.rollout}), o)
	for _, rule := range r.Rules {
		kr, err := kingressRuleOf(r, rule, facts, cfg)
		if err != nil {
			return nil, err
		}
		ing.Spec.Rules = append(ing.Spec.Rules, kr)
	}
	return ing, nil
}

func newKIngress(name, namespace string, labels, annotations map[string]string, o kingressOptions) *kingress {
	return &kingress{
		TypeMeta: metav1.TypeMeta{APIVersion: KIngressAPIVersion, Kind: KIngressKind},
		ObjectMeta: metav1.ObjectMeta{
			Name:        name,
			Namespace:   namespace,
			Labels:      labels,
			Annotations: annotations,
		},
		Spec: kingressSpec{TLS: o.tls, HTTPOption: o.httpOption},
	}
}

func kingressRuleOf(r route.Route, rule route.Rule, facts revisionFacts, cfg *config.Config) (kingressRule, error) {
	kr := kingressRule{Hosts: rule.Hosts, Visibility: visibilityExternalIP, HTTP: &kingressHTTP{}}
	if rule.Visibility == route.ClusterLocal {
		kr.Visibility = visibilityClusterLocal
	}
	for _, p := range rule.Paths {
		kp := kingressPath{Path: p.Path, AppendHeaders: p.AppendHeaders, Splits: []kingressSplit{}}
		if len(p.Headers) > 0 {
			kp.Headers = make(map[string]headerMatch, len(p.Headers))
			for k, v := range p.Headers {
				kp.Headers[k] = headerMatch{Exact: v}
			}
		}
		for _, s := range p.Splits {
			rev, ok := facts(s.Namespace, s.Revision)
			if !ok {
				return kr, fmt.Errorf("route %s/%s: revision %q is not in the ledger", r.Namespace, r.Name, s.Revision)
			}
			port, _ := rev.servicePort()
			if cfg.Network.SystemInternalTLS {
				port = ServiceHTTPSPort
			}
			kp.Splits = append(kp.Splits, kingressSplit{
				ServiceNamespace: s.Namespace,
				ServiceName:      names.PublicService(s.Revision),
				ServicePort:      intstr.FromInt32(port),
				Percent:          s.Percent,
				AppendHeaders:    s.AppendHeaders,
			})
		}
		kr.HTTP.Paths = append(kr.HTTP.Paths, kp)
	}
	return kr, nil
}

// makeDomainMappingKIngress is a DomainMapping's KIngress: its domain,
// exposed, rewritten to the target's cluster-local host and sent whole to
// the target's placeholder Service, marked with K-Original-Host.
func makeDomainMappingKIngress(dm *serving.DomainMapping, target, targetHost string, o kingressOptions) *kingress {
	labels := maps.Clone(dm.Labels)
	if labels == nil {
		labels = map[string]string{}
	}
	labels[LabelDomainMappingUID] = DomainMappingUID(dm.Namespace, dm.Name)
	labels[LabelDomainMappingNamespace] = dm.Namespace
	ing := newKIngress(names.Ingress(dm.Name), dm.Namespace, labels, kingressAnnotations(o.class, o.annotations, nil), o)
	ing.Spec.Rules = []kingressRule{{
		Hosts:      []string{dm.Name},
		Visibility: visibilityExternalIP,
		HTTP: &kingressHTTP{Paths: []kingressPath{{
			RewriteHost: targetHost,
			Splits: []kingressSplit{{
				ServiceNamespace: dm.Namespace,
				ServiceName:      target,
				ServicePort:      intstr.FromInt32(ServiceHTTPPort),
				Percent:          100,
				AppendHeaders:    map[string]string{header.OriginalHost: dm.Name},
			}},
		}}},
	}}
	return ing
}

// domainMappingTLS is the KIngress TLS of a DomainMapping that names its
// certificate's Secret.
func domainMappingTLS(dm *serving.DomainMapping) []kingressTLS {
	if dm.Spec.TLS == nil {
		return nil
	}
	return []kingressTLS{{Hosts: []string{dm.Name}, SecretName: dm.Spec.TLS.SecretName, SecretNamespace: dm.Namespace}}
}
