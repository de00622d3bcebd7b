package render

import (
	"fmt"
	"strings"

	"k8s.io/apimachinery/pkg/util/validation"

	"github.com/ebb-dev/ebb/serving"
	"github.com/ebb-dev/ebb/serving/config"
)

// Addresses are where a Service's route answers.
type Addresses struct {
	// URL is the main URL: external when the route is exposed, otherwise
	// the cluster-local one.
	URL string
	// Address is the cluster-local URL, http://<name>.<ns>.svc.<cluster domain>.
	Address string
	// Tags are the tag URLs, in the ledger's traffic order.
	Tags []TagURL
}

// TagURL is the URL of one traffic tag.
type TagURL struct {
	Tag string
	URL string
}

// URLs computes a Service's URLs the way Knative's Route does (config-domain
// selection, domain-template, tag-template, cluster-local visibility). The
// tags come from the ledger's resolved traffic; a nil ledger gives the main
// URLs only.
func URLs(svc *serving.Service, ledger *serving.Ledger, cfg *config.Config) (Addresses, error) {
	var traffic []serving.Target
	if ledger != nil {
		traffic = ledger.Traffic
	}
	hs, err := routeHosts(cfg, &svc.ObjectMeta, trafficNames(svc.Namespace, traffic))
	if err != nil {
		return Addresses{}, err
	}
	var a Addresses
	for _, h := range hs {
		u := h.url(cfg)
		if h.tag == "" {
			a.URL, a.Address = u, "http://"+h.local
			continue
		}
		a.Tags = append(a.Tags, TagURL{Tag: h.tag, URL: u})
	}
	return a, nil
}

// hosts are the host names of one traffic name of a route.
type hosts struct {
	tag string
	// external is the exposed host; "" when the name is cluster-local.
	external string
	// base is <name>.<ns>, local is <name>.<ns>.svc.<cluster domain>.
	base, local string
}

func (h hosts) url(cfg *config.Config) string {
	if h.external != "" {
		return cfg.Network.DefaultExternalScheme + "://" + h.external
	}
	return "http://" + h.local
}

// localHosts are the names a cluster-local host answers to: name.ns,
// name.ns.svc and the full name.
func (h hosts) localHosts() []string {
	return []string{h.base, h.base + ".svc", h.local}
}

// clusterDomain is config-network cluster-domain, cluster.local when unset.
func clusterDomain(cfg *config.Config) string {
	if cfg != nil && cfg.Network.ClusterDomain != "" {
		return cfg.Network.ClusterDomain
	}
	return "cluster.local"
}

// routeHosts computes the hosts of every traffic name of a route whose
// object metadata is meta (a Service's, whose labels and annotations are
// the route's in Knative).
func routeHosts(cfg *config.Config, meta metaLike, names []trafficName) ([]hosts, error) {
	cd := clusterDomain(cfg)
	localDomain := "svc." + cd
	domain := localDomain
	if meta.GetLabels()[LabelVisibility] != VisibilityClusterLocal {
		domain = cfg.Domain.LookupDomain(meta.GetLabels())
		if domain == config.DefaultDomain {
			// config-domain's implicit default names the cluster-local
			// suffix, whatever the cluster's domain is.
			domain = localDomain
		}
	}
	out := make([]hosts, 0, len(names))
	for _, n := range names {
		name := meta.GetName()
		if n.tag != "" {
			var err error
			if name, err = cfg.Network.TagName(name, n.tag); err != nil {
				return nil, fmt.Errorf("route %s/%s tag %q: %w", meta.GetNamespace(), meta.GetName(), n.tag, err)
			}
		}
		base := name + "." + meta.GetNamespace()
		h := hosts{tag: n.tag, base: base, local: base + "." + localDomain}
		if domain != localDomain {
			ext, err := cfg.Network.Host(config.DomainTemplateValues{
				Name:        name,
				Namespace:   meta.GetNamespace(),
				Domain:      domain,
				Annotations: meta.GetAnnotations(),
				Labels:      meta.GetLabels(),
			})
			if err != nil {
				return nil, fmt.Errorf("route %s/%s: %w", meta.GetNamespace(), meta.GetName(), err)
			}
			if errs := validation.IsDNS1123Subdomain(ext); len(errs) > 0 {
				return nil, fmt.Errorf("route %s/%s: domain-template gave %q, not a valid host: %s", meta.GetNamespace(), meta.GetName(), ext, strings.Join(errs, "; "))
			}
			h.external = ext
		}
		if errs := validation.IsDNS1123Subdomain(h.local); len(errs) > 0 {
			return nil, fmt.Errorf("route %s/%s: host %q is not valid: %s", meta.GetNamespace(), meta.GetName(), h.local, strings.Join(errs, "; "))
		}
		out = append(out, h)
	}
	return out, nil
}

// metaLike is the part of object metadata hosts depend on.
type metaLike interface {
	GetName() string
	GetNamespace() string
	GetLabels() map[string]string
	GetAnnotations() map[string]string
}
