package gateway

import (
	"fmt"
	"net/http"
	"strings"
	"sync/atomic"

	"github.com/ebb-dev/ebb/proxy/route"
)

// compiled is a route table ready to serve from; it is never modified once
// built, so a swap is one atomic pointer store.
type compiled struct {
	hosts     map[string][]*path // lower-case host without port → paths in order
	revisions map[revKey]route.Revision
}

type revKey struct{ ns, name string }

type kv struct{ k, v string }

type path struct {
	prefix  string
	headers []kv // canonical key, exact value
	append  []kv
	splits  []split
	// slots spreads the splits over one cycle of total requests in
	// proportion to their percents (smooth weighted round robin), so the
	// split is exact over every cycle.
	slots []uint8
	next  atomic.Uint64
}

type split struct {
	ns, rev string
	h2c     bool // the revision speaks h2c only
	append  []kv
}

func kvs(m map[string]string) []kv {
	out := make([]kv, 0, len(m))
	for k, v := range m {
		out = append(out, kv{http.CanonicalHeaderKey(k), v})
	}
	return out
}

// compile checks and indexes a table.
func compile(t route.Table) (*compiled, error) {
	c := &compiled{hosts: map[string][]*path{}, revisions: map[revKey]route.Revision{}}
	for _, r := range t.Revisions {
		c.revisions[revKey{r.Namespace, r.Name}] = r
	}
	for _, rt := range t.Routes {
		for ri, rule := range rt.Rules {
			var paths []*path
			for pi, p := range rule.Paths {
				cp, err := compilePath(p, c.revisions)
				if err != nil {
					return nil, fmt.Errorf("route %s/%s rule %d path %d: %w", rt.Namespace, rt.Name, ri, pi, err)
				}
				paths = append(paths, cp)
			}
			for _, h := range rule.Hosts {
				h = strings.ToLower(h)
				c.hosts[h] = append(c.hosts[h], paths...)
			}
		}
	}
	return c, nil
}

func compilePath(p route.Path, revs map[revKey]route.Revision) (*path, error) {
	cp := &path{prefix: p.Path, headers: kvs(p.Headers), append: kvs(p.AppendHeaders)}
	if cp.prefix == "" {
		cp.prefix = "/"
	}
	total := 0
	for _, s := range p.Splits {
		if s.Percent < 0 {
			return nil, fmt.Errorf("split %s/%s: negative percent %d", s.Namespace, s.Revision, s.Percent)
		}
		total += s.Percent
		cp.splits = append(cp.splits, split{ns: s.Namespace, rev: s.Revision, append: kvs(s.AppendHeaders),
			h2c: revs[revKey{s.Namespace, s.Revision}].Protocol == route.ProtocolH2C})
	}
	if len(cp.splits) > 255 {
		return nil, fmt.Errorf("%d splits, at most 255", len(cp.splits))
	}
	if total == 0 {
		return nil, fmt.Errorf("splits sum to 0")
	}
	cur := make([]int, len(p.Splits))
	cp.slots = make([]uint8, total)
	for i := range total {
		best := -1
		for j, s := range p.Splits {
			cur[j] += s.Percent
			if best < 0 || cur[j] > cur[best] {
				best = j
			}
		}
		cur[best] -= total
		cp.slots[i] = uint8(best)
	}
	return cp, nil
}

// match reports whether a request path and headers match p.
func (p *path) match(urlPath string, h http.Header) bool {
	if p.prefix != "/" {
		if !strings.HasPrefix(urlPath, p.prefix) {
			return false
		}
		if len(urlPath) > len(p.prefix) && !strings.HasSuffix(p.prefix, "/") && urlPath[len(p.prefix)] != '/' {
			return false
		}
	}
	for _, kv := range p.headers {
		if v := h[kv.k]; len(v) == 0 || v[0] != kv.v {
			return false
		}
	}
	return true
}

// pick returns the next split of the cycle.
func (p *path) pick() *split {
	n := p.next.Add(1) - 1
	return &p.splits[p.slots[n%uint64(len(p.slots))]]
}

// lookup finds the path for a request.
func (c *compiled) lookup(host, urlPath string, h http.Header) *path {
	for _, p := range c.hosts[normalizeHost(host)] {
		if p.match(urlPath, h) {
			return p
		}
	}
	return nil
}

// normalizeHost strips a port and lower-cases, allocating only when the
// host has upper-case letters.
func normalizeHost(h string) string {
	if i := strings.LastIndexByte(h, ':'); i >= 0 {
		if !strings.Contains(h[i:], "]") {
			h = h[:i]
		}
	}
	h = strings.TrimSuffix(h, ".")
	for i := 0; i < len(h); i++ {
		if c := h[i]; c >= 'A' && c <= 'Z' {
			return strings.ToLower(h)
		}
	}
	return h
}
