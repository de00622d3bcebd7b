package serving

import (
	"encoding/json"
	"fmt"
	"math"
	"regexp"
	"strconv"
	"strings"

	yaml "go.yaml.in/yaml/v3"
)

// Source locates an object in the repository.
type Source struct {
	// File is the path of the file, relative to the tree's root.
	File string
	// Line is the first line of the object's document (1-based).
	Line int
	// Fields maps field paths ("spec.traffic[0].percent") to lines.
	Fields map[string]int
}

var indexRE = regexp.MustCompile(`\[[0-9]+\]`)

// LineOf returns the line of a field path: the line of the path itself, or
// of its nearest ancestor that was written, or of the document.
func (s Source) LineOf(path string) int {
	// A list of paths ("a, b") is located at its last path.
	if i := strings.LastIndex(path, ", "); i >= 0 {
		path = path[i+2:]
	}
	for p := path; p != ""; p = parentPath(p) {
		if l, ok := s.Fields[p]; ok {
			return l
		}
		// Paths that leave out list indexes (type errors, Knative's
		// "ports.containerPort" or "containers[*].ports") match the first
		// written element.
		best := 0
		for f, l := range s.Fields {
			if strings.Contains(f, "[") && matchesUnindexed(f, p) && (best == 0 || l < best) {
				best = l
			}
		}
		if best > 0 {
			return best
		}
	}
	return s.Line
}

// matchesUnindexed reports whether field path f is path p where p leaves
// out some list indexes or writes them [*].
func matchesUnindexed(f, p string) bool {
	fs, ps := strings.Split(f, "."), strings.Split(p, ".")
	if len(fs) != len(ps) {
		return false
	}
	for i := range fs {
		seg := strings.TrimSuffix(ps[i], "[*]")
		if fs[i] != ps[i] && indexRE.ReplaceAllString(fs[i], "") != seg {
			return false
		}
	}
	return true
}

// parentPath drops the last segment of a field path.
func parentPath(p string) string {
	if strings.HasSuffix(p, "]") {
		if i := strings.LastIndexByte(p, '['); i >= 0 {
			return p[:i]
		}
	}
	if i := strings.LastIndexByte(p, '.'); i >= 0 {
		return p[:i]
	}
	return ""
}

// maxNodes and maxDepth bound the work of converting one document, so
// alias bombs and runaway nesting cannot exhaust time or memory.
const (
	maxNodes = 1 << 17
	maxDepth = 200
)

// converter turns a YAML node into a JSON-compatible value, recording the
// line of every field path on the way.
type converter struct {
	fields map[string]int
	nodes  int
}

func (c *converter) value(n *yaml.Node, path string, depth int) (any, error) {
	c.nodes++
	if c.nodes > maxNodes || depth > maxDepth {
		return nil, fmt.Errorf("document too large or too deeply nested")
	}
	if path != "" {
		if _, ok := c.fields[path]; !ok {
			c.fields[path] = n.Line
		}
	}
	switch n.Kind {
	case yaml.DocumentNode:
		if len(n.Content) == 0 {
			return nil, nil
		}
		return c.value(n.Content[0], path, depth+1)
	case yaml.AliasNode:
		return c.value(n.Alias, path, depth+1)
	case yaml.MappingNode:
		m := make(map[string]any, len(n.Content)/2)
		for i := 0; i+1 < len(n.Content); i += 2 {
			k, v := n.Content[i], n.Content[i+1]
			if k.Kind == yaml.AliasNode {
				k = k.Alias
			}
			if k.Kind != yaml.ScalarNode {
				return nil, &FieldError{Line: k.Line, Message: "mapping key is not a string"}
			}
			if k.Tag == "!!merge" {
				return nil, &FieldError{Line: k.Line, Message: "merge keys (<<) are not supported"}
			}
			if _, dup := m[k.Value]; dup {
				return nil, &FieldError{Line: k.Line, Message: fmt.Sprintf("mapping key %q already defined", k.Value)}
			}
			p := k.Value
			if path != "" {
				p = path + "." + k.Value
			}
			c.fields[p] = k.Line
			val, err := c.value(v, p, depth+1)
			if err != nil {
				return nil, err
			}
			m[k.Value] = val
		}
		return m, nil
	case yaml.SequenceNode:
		s := make([]any, 0, len(n.Content))
		for i, item := range n.Content {
			v, err := c.value(item, path+"["+strconv.Itoa(i)+"]", depth+1)
			if err != nil {
				return nil, err
			}
			s = append(s, v)
		}
		return s, nil
	case yaml.ScalarNode:
		return scalar(n)
	}
	return nil, &FieldError{Line: n.Line, Message: "unsupported YAML node"}
}

// scalarError is yaml.v3's failure to decode scalar n, at n's line.
func scalarError(n *yaml.Node, err error) *FieldError {
	return &FieldError{Line: n.Line, Message: err.Error()}
}

// scalar resolves a YAML scalar the way Kubernetes tools do: ints stay
// exact, timestamps and binary stay strings.
func scalar(n *yaml.Node) (any, error) {
	switch n.ShortTag() {
	case "!!null":
		return nil, nil
	case "!!bool":
		var b bool
		if err := n.Decode(&b); err != nil {
			return nil, scalarError(n, err)
		}
		return b, nil
	case "!!int":
		var i int64
		if err := n.Decode(&i); err == nil {
			return json.Number(strconv.FormatInt(i, 10)), nil
		}
		var u uint64
		if err := n.Decode(&u); err != nil {
			return nil, scalarError(n, err)
		}
		return json.Number(strconv.FormatUint(u, 10)), nil
	case "!!float":
		var f float64
		if err := n.Decode(&f); err != nil {
			return nil, scalarError(n, err)
		}
		if math.IsInf(f, 0) || math.IsNaN(f) {
			return nil, &FieldError{Line: n.Line, Message: n.Value + " is not a JSON number"}
		}
		return json.Number(strconv.FormatFloat(f, 'g', -1, 64)), nil
	default:
		return n.Value, nil
	}
}
