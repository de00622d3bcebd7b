package serving

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io/fs"
	"path"
	"strings"

	yaml "go.yaml.in/yaml/v3"
)

// LedgerPath is the ledger's file in the repository:
// .ebb/<namespace>/<service>.yaml.
func LedgerPath(namespace, service string) string {
	return path.Join(LedgerDir, namespace, service+".yaml")
}

// LedgerRef is the ObjectRef under which a ledger's source is kept.
func LedgerRef(namespace, service string) ObjectRef {
	return ObjectRef{Group: LedgerGroup, Kind: LedgerKind, Namespace: namespace, Name: service}
}

// MarshalLedger encodes a ledger as YAML: fields in the order of the Go
// types, two-space indent, the same bytes for the same ledger.
func MarshalLedger(l *Ledger) ([]byte, error) {
	b, err := json.Marshal(l)
	if err != nil {
		return nil, fmt.Errorf("marshal ledger %s/%s: %w", l.Namespace, l.Service, err)
	}
	var n yaml.Node
	if err := yaml.Unmarshal(b, &n); err != nil {
		return nil, fmt.Errorf("marshal ledger %s/%s: %w", l.Namespace, l.Service, err)
	}
	plainStyle(&n)
	dropEmpty(&n)
	var buf bytes.Buffer
	enc := yaml.NewEncoder(&buf)
	enc.SetIndent(2)
	if err := enc.Encode(&n); err != nil {
		return nil, fmt.Errorf("marshal ledger %s/%s: %w", l.Namespace, l.Service, err)
	}
	if err := enc.Close(); err != nil {
		return nil, fmt.Errorf("marshal ledger %s/%s: %w", l.Namespace, l.Service, err)
	}
	return buf.Bytes(), nil
}

// dropEmpty leaves out of a ledger document the empty values its Go types
// always encode and that read back as the same zero values: a revision
// template's `metadata: {}`, and a container's `name: ""` and
// `resources: {}`. A ledger is read in reviews of every change; these
// would repeat in every revision.
func dropEmpty(doc *yaml.Node) {
	if len(doc.Content) == 0 {
		return
	}
	for _, rev := range seqItems(mapValue(doc.Content[0], "revisions")) {
		tmpl := mapValue(rev, "template")
		dropKey(tmpl, "metadata", emptyMap)
		spec := mapValue(tmpl, "spec")
		for _, list := range []string{"initContainers", "containers"} {
			for _, c := range seqItems(mapValue(spec, list)) {
				dropKey(c, "name", emptyString)
				dropKey(c, "resources", emptyMap)
			}
		}
	}
}

// mapValue returns the value of key in mapping m, or nil.
func mapValue(m *yaml.Node, key string) *yaml.Node {
	if m == nil || m.Kind != yaml.MappingNode {
		return nil
	}
	for i := 0; i+1 < len(m.Content); i += 2 {
		if m.Content[i].Value == key {
			return m.Content[i+1]
		}
	}
	return nil
}

// seqItems returns the items of sequence n (none when n is not one).
func seqItems(n *yaml.Node) []*yaml.Node {
	if n == nil || n.Kind != yaml.SequenceNode {
		return nil
	}
	return n.Content
}

// dropKey removes key from mapping m when its value is empty.
func dropKey(m *yaml.Node, key string, empty func(*yaml.Node) bool) {
	if m == nil || m.Kind != yaml.MappingNode {
		return
	}
	for i := 0; i+1 < len(m.Content); i += 2 {
		if m.Content[i].Value == key && empty(m.Content[i+1]) {
			m.Content = append(m.Content[:i], m.Content[i+2:]...)
			return
		}
	}
}

func emptyMap(n *yaml.Node) bool { return n.Kind == yaml.MappingNode && len(n.Content) == 0 }

func emptyString(n *yaml.Node) bool {
	return n.Kind == yaml.ScalarNode && n.Tag == "!!str" && n.Value == ""
}

// plainStyle drops the JSON flow style and quotes so the encoder picks
// block style and quotes only where YAML needs them. Strings that YAML 1.1
// readers (sigs.k8s.io/yaml, kubectl) would take for booleans stay quoted.
func plainStyle(n *yaml.Node) {
	n.Style = 0
	if n.Kind == yaml.ScalarNode && n.Tag == "!!str" && isYAML11Bool(n.Value) {
		n.Style = yaml.DoubleQuotedStyle
	}
	for _, c := range n.Content {
		plainStyle(c)
	}
}

// isYAML11Bool reports whether a YAML 1.1 reader could take v for a
// boolean (quoting a few more spellings than needed is harmless).
func isYAML11Bool(v string) bool {
	switch strings.ToLower(v) {
	case "y", "yes", "n", "no", "true", "false", "on", "off":
		return true
	}
	return false
}

// UnmarshalLedger decodes a ledger file strictly: unknown fields are
// errors, and so is a ledger ebb cannot have written whole (see
// checkLedger). file is used in error messages.
func UnmarshalLedger(file string, data []byte) (*Ledger, error) {
	l, _, errs := readLedgerFile(file, data)
	return l, errs.Err()
}

// readLedgerFile decodes one ledger file and locates it.
func readLedgerFile(file string, data []byte) (*Ledger, Source, ErrorList) {
	docs, errs := decodeFile(file, data)
	if len(errs) > 0 {
		return nil, Source{}, errs
	}
	if len(docs) != 1 {
		return nil, Source{}, ErrorList{{File: file, Line: 1, Message: fmt.Sprintf("a ledger file holds one document, found %d", len(docs))}}
	}
	l, errs := decodeLedger(docs[0])
	return l, docs[0].src, errs
}

func decodeLedger(d *document) (*Ledger, ErrorList) {
	l := &Ledger{}
	if errs := strictDecode(d, l); len(errs) > 0 {
		return nil, errs
	}
	l.inUTC()
	return l, checkLedger(l, d.src)
}

// inUTC puts the times a ledger records in UTC, where its plan put them:
// a metav1.Time decodes into the local zone, and a ledger read back must
// equal the ledger planned (the renderer's memo compares them).
func (l *Ledger) inUTC() {
	stamp := func(s *Stamp) {
		if s != nil {
			s.Time.Time = s.Time.UTC()
		}
	}
	stamp(l.Removed)
	for i := range l.Revisions {
		r := &l.Revisions[i]
		stamp(&r.Created)
		stamp(r.Retired)
		stamp(r.Failed)
	}
	if r := l.Rollout; r != nil {
		r.Started.Time = r.Started.UTC()
		r.ReadyBy.Time = r.ReadyBy.UTC()
		if r.NextCheck != nil {
			r.NextCheck.Time = r.NextCheck.UTC()
		}
	}
}

// ReadLedgers reads and checks the ledger files of fsys alone, as Load
// does: every problem is returned in one ErrorList.
func ReadLedgers(fsys fs.FS) ([]*Ledger, error) {
	l := &loader{tree: &Tree{Sources: map[ObjectRef]Source{}}, budget: newBudget(DefaultLimits)}
	l.readLedgers(fsys)
	return l.tree.Ledgers, l.errs.Err()
}

// readLedgers reads every .ebb/<namespace>/<service>.yaml.
func (l *loader) readLedgers(fsys fs.FS) {
	if _, err := fs.Stat(fsys, LedgerDir); err != nil {
		return
	}
	err := fs.WalkDir(fsys, LedgerDir, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			l.errs = append(l.errs, &FieldError{File: p, Message: err.Error()})
			return nil
		}
		if l.budget.over {
			return fs.SkipAll
		}
		if d.IsDir() || !isYAML(p) {
			return nil
		}
		parts := strings.Split(p, "/")
		if len(parts) != 3 {
			l.errs = append(l.errs, &FieldError{File: p, Message: fmt.Sprintf("ledger files live at %s", LedgerPath("<namespace>", "<service>"))})
			return nil
		}
		if fe := l.budget.statFile(fsys, p, d); fe != nil {
			l.errs = append(l.errs, fe)
			return l.budget.stop()
		}
		led, src, errs := l.cache.ledger(fsys, p, l.budget.lim.FileBytes)
		if len(errs) > 0 {
			l.errs = append(l.errs, errs...)
			return nil
		}
		ns, svc := parts[1], strings.TrimSuffix(strings.TrimSuffix(parts[2], ".yaml"), ".yml")
		if led.Namespace != ns || led.Service != svc {
			l.errs = append(l.errs, &FieldError{File: p, Line: src.LineOf("service"), Path: "service",
				Message: fmt.Sprintf("ledger of %s/%s is stored at %s, want %s", led.Namespace, led.Service, p, LedgerPath(led.Namespace, led.Service))})
			return nil
		}
		if l.register(LedgerRef(ns, svc), src) {
			l.tree.Ledgers = append(l.tree.Ledgers, led)
		}
		return nil
	})
	if err != nil {
		l.errs = append(l.errs, &FieldError{File: LedgerDir, Message: err.Error()})
	}
}
