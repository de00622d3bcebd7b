package gateway

import (
	"encoding/binary"
	"fmt"
	"net/http"
	"slices"
	"strings"
	"sync/atomic"

	"github.com/ebb-dev/ebb/proxy/route"
	"github.com/ebb-dev/ebb/serving/traffic"
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
	if len(m) == 0 {
		return nil
	}
	out := make([]kv, 0, len(m))
	for k, v := range m {
		out = append(out, kv{http.CanonicalHeaderKey(k), v})
	}
	return out
}

// compile checks and indexes a table.
func compile(t route.Table) (*compiled, error) {
	nHosts := 0
	for _, rt := range t.Routes {
		for _, rule := range rt.Rules {
			nHosts += len(rule.Hosts)
		}
	}
	c := &compiled{hosts: make(map[string][]*path, nHosts), revisions: make(map[revKey]route.Revision, len(t.Revisions))}
	for _, r := range t.Revisions {
		c.revisions[revKey{r.Namespace, r.Name}] = r
	}
	cycles := map[string][]uint8{} // shared slot cycles by reduced weights
	for _, rt := range t.Routes {
		for ri, rule := range rt.Rules {
			paths := make([]*path, 0, len(rule.Paths))
			for pi, p := range rule.Paths {
				cp, err := compilePath(p, c.revisions, cycles)
				if err != nil {
					return nil, fmt.Errorf("route %s/%s rule %d path %d: %w", rt.Namespace, rt.Name, ri, pi, err)
				}
				paths = append(paths, cp)
			}
			for _, h := range rule.Hosts {
				h = strings.ToLower(h)
				if prev, ok := c.hosts[h]; ok {
					c.hosts[h] = append(slices.Clip(prev), paths...)
				} else {
					c.hosts[h] = paths
				}
			}
		}
	}
	return c, nil
}

func compilePath(p route.Path, revs map[revKey]route.Revision, cycles map[string][]uint8) (*path, error) {
	cp := &path{prefix: p.Path, headers: kvs(p.Headers), append: kvs(p.AppendHeaders)}
	if cp.prefix == "" {
		cp.prefix = "/"
	}
	if len(p.Splits) > 255 {
		return nil, fmt.Errorf("%d splits, at most 255", len(p.Splits))
	}
	var total, g traffic.Percent
	cp.splits = make([]split, 0, len(p.Splits))
	for _, s := range p.Splits {
		if !s.Percent.Valid() {
			return nil, fmt.Errorf("split %s/%s: percent %d out of 0..100", s.Namespace, s.Revision, s.Percent)
		}
		total += s.Percent
		g = gcd(g, s.Percent)
		cp.splits = append(cp.splits, split{ns: s.Namespace, rev: s.Revision, append: kvs(s.AppendHeaders),
			h2c: revs[revKey{s.Namespace, s.Revision}].Protocol == route.ProtocolH2C})
	}
	if total == 0 || total > 100 {
		return nil, fmt.Errorf("splits sum to %d, want 1 to 100", total)
	}
	// The cycle of the weights divided by their gcd: 90/10 is a cycle of
	// 10, 100 a cycle of 1; exact over every cycle all the same.
	key := make([]byte, 0, 2*len(p.Splits))
	for _, s := range p.Splits {
		key = binary.AppendUvarint(key, uint64(s.Percent/g))
	}
	if slots, ok := cycles[string(key)]; ok {
		cp.slots = slots
		return cp, nil
	}
	n := total / g
	cur := make([]traffic.Percent, len(p.Splits))
	cp.slots = make([]uint8, n)
	for i := range n {
		best := -1
		for j, s := range p.Splits {
			cur[j] += s.Percent / g
			if best < 0 || cur[j] > cur[best] {
				best = j
			}
		}
		cur[best] -= n
		cp.slots[i] = uint8(best)
	}
	cycles[string(key)] = cp.slots
	return cp, nil
}

func gcd(a, b traffic.Percent) traffic.Percent {
	for b != 0 {
		a, b = b, a%b
	}
	return a
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
