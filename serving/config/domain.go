package config

import (
	"fmt"
	"sort"

	"sigs.k8s.io/yaml"
)

// DefaultDomain is the cluster-local suffix Knative adds when config-domain
// has no entry with an empty selector (routes are then not exposed).
const DefaultDomain = "svc.cluster.local"

// Domain is config-domain: domain suffixes and the route labels that pick
// them.
type Domain struct {
	// Domains maps a suffix to its rule.
	Domains map[string]DomainRule
}

// DomainRule is the value of one config-domain entry.
type DomainRule struct {
	Selector map[string]string `json:"selector,omitempty"`
	Type     string            `json:"type,omitempty"`
}

// DefaultDomainConfig returns config-domain with only the cluster-local
// default.
func DefaultDomainConfig() *Domain {
	return &Domain{Domains: map[string]DomainRule{DefaultDomain: {}}}
}

// NewDomainFromMap parses config-domain. Each key is a suffix; each value
// is YAML with an optional selector.
func NewDomainFromMap(data map[string]string) (*Domain, error) {
	d := &Domain{Domains: map[string]DomainRule{}}
	hasDefault := false
	for k, v := range data {
		if k == ExampleKey {
			continue
		}
		var r DomainRule
		if err := yaml.UnmarshalStrict([]byte(v), &r); err != nil {
			return nil, fmt.Errorf("failed to parse %q: %w", k, err)
		}
		if len(r.Selector) == 0 {
			hasDefault = true
		}
		d.Domains[k] = r
	}
	if !hasDefault {
		d.Domains[DefaultDomain] = DomainRule{}
	}
	return d, nil
}

// LookupDomain returns the suffix for a route with these labels: the
// matching entry with the most selector keys, ties to the smallest name.
func (d *Domain) LookupDomain(labels map[string]string) string {
	names := make([]string, 0, len(d.Domains))
	for k := range d.Domains {
		names = append(names, k)
	}
	sort.Strings(names)
	best, bestKeys := "", -1
	for _, name := range names {
		r := d.Domains[name]
		if len(r.Selector) <= bestKeys || !matches(r.Selector, labels) {
			continue
		}
		best, bestKeys = name, len(r.Selector)
	}
	return best
}

func matches(sel, labels map[string]string) bool {
	for k, v := range sel {
		if labels[k] != v {
			return false
		}
	}
	return true
}
