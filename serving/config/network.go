package config

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"net/url"
	"slices"
	"strings"
	"text/template"
	"time"
)

// Ingress classes ebb renders routes for.
const (
	// IngressClassEbb is ebb's own gateway, fed a route table.
	IngressClassEbb = "ebb"
	// IngressClassGatewayAPI renders Gateway API HTTPRoutes.
	IngressClassGatewayAPI = "gateway-api.ingress.networking.knative.dev"
	// IngressClassIstio renders Istio VirtualServices.
	IngressClassIstio = "istio.ingress.networking.knative.dev"

	// Classes served by a net-* controller that programs its edge from a
	// KIngress: ebb renders one and leaves the rest to the controller.
	IngressClassKourier = "kourier.ingress.networking.knative.dev"
	IngressClassContour = "contour.ingress.networking.knative.dev"
	IngressClassALB     = "alb.ingress.networking.knative.dev"
	IngressClassMSE     = "mse.ingress.networking.knative.dev"
)

// Knative's default templates.
const (
	DefaultDomainTemplate = "{{.Name}}.{{.Namespace}}.{{.Domain}}"
	DefaultTagTemplate    = "{{.Tag}}-{{.Name}}"
)

// HTTPProtocol is config-network http-protocol.
type HTTPProtocol string

// The http-protocol values.
const (
	HTTPEnabled    HTTPProtocol = "Enabled"
	HTTPRedirected HTTPProtocol = "Redirected"
	HTTPDisabled   HTTPProtocol = "Disabled"
)

// Network is config-network.
type Network struct {
	// IngressClass selects the route renderer: "ebb" (default), or one of
	// Knative's class names (gateway-api, istio; other names are carried
	// through for the renderer to accept or refuse).
	IngressClass string
	// CertificateClass is carried for parity with Knative.
	CertificateClass string
	// DomainTemplate builds a route's host from DomainTemplateValues.
	DomainTemplate *template.Template
	// DomainTemplateText is DomainTemplate's source.
	DomainTemplateText string
	// TagTemplate builds the name part of a tag's host from TagTemplateValues.
	TagTemplate *template.Template
	// TagTemplateText is TagTemplate's source.
	TagTemplateText string
	// DefaultExternalScheme is "http" or "https".
	DefaultExternalScheme string
	// RolloutDuration is the gradual rollout duration (whole seconds; 0 off).
	RolloutDuration time.Duration
	// HTTPProtocol is Enabled, Redirected or Disabled.
	HTTPProtocol HTTPProtocol
	// ExternalDomainTLS, ClusterLocalDomainTLS and SystemInternalTLS are the
	// TLS switches (Knative's Enabled/Disabled, kept as booleans).
	ExternalDomainTLS     bool
	ClusterLocalDomainTLS bool
	SystemInternalTLS     bool
	// AutocreateClusterDomainClaims is carried for parity with Knative.
	AutocreateClusterDomainClaims bool
	// ClusterDomain is the cluster's DNS domain (ebb's own key,
	// "cluster-domain"; Knative reads it from resolv.conf).
	ClusterDomain string
	// KIngressClasses are classes ebb could render itself (istio,
	// gateway-api) that it renders as a KIngress instead, for net-istio or
	// net-gateway-api to program (ebb's own key, "kingress-classes", a
	// comma-separated list of class names or their short aliases).
	KIngressClasses []string
}

// classAliases are the short names of Knative's ingress classes.
var classAliases = map[string]string{
	"gateway-api": IngressClassGatewayAPI,
	"istio":       IngressClassIstio,
	"kourier":     IngressClassKourier,
	"contour":     IngressClassContour,
	"alb":         IngressClassALB,
	"mse":         IngressClassMSE,
}

// CanonicalIngressClass is the full name of an ingress class given by its
// short name (kourier, contour, istio, gateway-api, alb, mse); any other
// name is returned as it is.
func CanonicalIngressClass(c string) string {
	if full, ok := classAliases[c]; ok {
		return full
	}
	return c
}

// RendersKIngress reports whether routes of class are rendered as a
// Knative KIngress for a net-* controller to program: every class but
// the ones ebb renders itself (ebb, gateway-api, istio), and those of
// them listed in kingress-classes. class is canonical.
func (n *Network) RendersKIngress(class string) bool {
	switch class {
	case IngressClassEbb:
		return false
	case IngressClassGatewayAPI, IngressClassIstio:
		return slices.Contains(n.KIngressClasses, class)
	}
	return true
}

// DomainTemplateValues are the fields domain-template may use.
type DomainTemplateValues struct {
	Name        string
	Namespace   string
	Domain      string
	Annotations map[string]string
	Labels      map[string]string
}

// TagTemplateValues are the fields tag-template may use.
type TagTemplateValues struct {
	Name string
	Tag  string
}

// DefaultNetwork returns config-network's defaults for ebb.
func DefaultNetwork() *Network {
	return &Network{
		IngressClass:          IngressClassEbb,
		CertificateClass:      "cert-manager.certificate.networking.knative.dev",
		DomainTemplate:        template.Must(template.New("domain-template").Parse(DefaultDomainTemplate)),
		DomainTemplateText:    DefaultDomainTemplate,
		TagTemplate:           template.Must(template.New("tag-template").Parse(DefaultTagTemplate)),
		TagTemplateText:       DefaultTagTemplate,
		DefaultExternalScheme: "http",
		HTTPProtocol:          HTTPEnabled,
		ClusterDomain:         "cluster.local",
	}
}

// NewNetworkFromMap parses config-network's data over the defaults.
func NewNetworkFromMap(data map[string]string) (*Network, error) {
	n := DefaultNetwork()
	asString(data, &n.IngressClass, "ingress-class", "ingress.class")
	asString(data, &n.CertificateClass, "certificate-class", "certificate.class")
	asString(data, &n.DefaultExternalScheme, "default-external-scheme")
	asString(data, &n.ClusterDomain, "cluster-domain")
	if n.IngressClass == "" {
		return nil, errors.New("ingress-class cannot be empty")
	}
	if v, _, ok := lookup(data, "kingress-classes"); ok {
		for c := range strings.SplitSeq(v, ",") {
			c = CanonicalIngressClass(strings.TrimSpace(c))
			switch c {
			case "":
				continue
			case IngressClassEbb:
				return nil, fmt.Errorf("kingress-classes: %q is ebb's own gateway, which reads a route table, not a KIngress", c)
			}
			n.KIngressClasses = append(n.KIngressClasses, c)
		}
	}
	if v, _, ok := lookup(data, "domain-template", "domainTemplate"); ok {
		t, err := template.New("domain-template").Parse(v)
		if err != nil {
			return nil, fmt.Errorf("domain-template: %w", err)
		}
		if err := checkDomainTemplate(t); err != nil {
			return nil, fmt.Errorf("domain-template: %w", err)
		}
		n.DomainTemplate, n.DomainTemplateText = t, v
	}
	if v, _, ok := lookup(data, "tag-template", "tagTemplate"); ok {
		t, err := template.New("tag-template").Parse(v)
		if err != nil {
			return nil, fmt.Errorf("tag-template: %w", err)
		}
		if err := t.Execute(io.Discard, TagTemplateValues{Name: "foo", Tag: "v2"}); err != nil {
			return nil, fmt.Errorf("tag-template: %w", err)
		}
		n.TagTemplate, n.TagTemplateText = t, v
	}
	switch n.DefaultExternalScheme {
	case "http", "https":
	default:
		return nil, fmt.Errorf("default-external-scheme %q not supported", n.DefaultExternalScheme)
	}
	var secs int64
	if err := asInt64(data, &secs, "rollout-duration"); err != nil {
		return nil, err
	}
	if secs < 0 {
		return nil, fmt.Errorf("rollout-duration must be at least 0, was %d", secs)
	}
	n.RolloutDuration = time.Duration(secs) * time.Second
	if v, _, ok := lookup(data, "http-protocol", "httpProtocol"); ok {
		switch {
		case strings.EqualFold(v, string(HTTPEnabled)):
			n.HTTPProtocol = HTTPEnabled
		case strings.EqualFold(v, string(HTTPRedirected)):
			n.HTTPProtocol = HTTPRedirected
		case strings.EqualFold(v, string(HTTPDisabled)):
			n.HTTPProtocol = HTTPDisabled
		default:
			return nil, fmt.Errorf("httpProtocol %s in config-network ConfigMap is not supported", v)
		}
	}
	for _, f := range []struct {
		dst  *bool
		key  string
		alts []string
	}{
		{&n.ExternalDomainTLS, "external-domain-tls", []string{"auto-tls", "autoTLS"}},
		{&n.ClusterLocalDomainTLS, "cluster-local-domain-tls", nil},
		{&n.SystemInternalTLS, "system-internal-tls", nil},
	} {
		if v, k, ok := lookup(data, f.key, f.alts...); ok {
			switch {
			case strings.EqualFold(v, "Enabled"):
				*f.dst = true
			case strings.EqualFold(v, "Disabled"):
				*f.dst = false
			default:
				return nil, fmt.Errorf("%s with value: %q is not supported", k, v)
			}
		}
	}
	if err := asBool(data, &n.AutocreateClusterDomainClaims, "autocreate-cluster-domain-claims", "autocreateClusterDomainClaims"); err != nil {
		return nil, err
	}
	return n, nil
}

// checkDomainTemplate runs the template on sample values and requires a
// bare host name as the result, as Knative does.
func checkDomainTemplate(t *template.Template) error {
	var buf bytes.Buffer
	err := t.Execute(&buf, DomainTemplateValues{
		Name: "foo", Namespace: "bar", Domain: "baz.com",
		Annotations: map[string]string{"sus": "omg"}, Labels: map[string]string{"bus": "stop"},
	})
	if err != nil {
		return err
	}
	u, err := url.Parse("https://" + buf.String())
	if err != nil {
		return err
	}
	if u.Hostname() == "" {
		return errors.New("empty hostname")
	}
	if u.RequestURI() != "/" {
		return fmt.Errorf("domain template has url path: %s", u.RequestURI())
	}
	return nil
}

// Host renders domain-template.
func (n *Network) Host(v DomainTemplateValues) (string, error) {
	var buf bytes.Buffer
	if err := n.DomainTemplate.Execute(&buf, v); err != nil {
		return "", fmt.Errorf("domain-template: %w", err)
	}
	return buf.String(), nil
}

// TagName renders tag-template: the name part of a tag's host.
func (n *Network) TagName(name, tag string) (string, error) {
	var buf bytes.Buffer
	if err := n.TagTemplate.Execute(&buf, TagTemplateValues{Name: name, Tag: tag}); err != nil {
		return "", fmt.Errorf("tag-template: %w", err)
	}
	return buf.String(), nil
}
