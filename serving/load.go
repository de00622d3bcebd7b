package serving

import (
	"errors"
	"fmt"
	"io/fs"
	"path"
	"sort"
	"strings"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"

	"github.com/ebb-dev/ebb/serving/config"
)

// DefaultNamespace is the namespace of Services and DomainMappings that
// name none.
const DefaultNamespace = "default"

// LedgerGroup is the group of ledgers in Tree.Sources (see LedgerRef).
const LedgerGroup = "ebb.dev"

// Tree is a serving repository, parsed, defaulted where Knative's API
// server would default (namespace, traffic) and validated.
type Tree struct {
	// Services are the serving.knative.dev/v1 Services, sorted by
	// namespace and name, as written (templates are not defaulted; see
	// DefaultTemplate).
	Services []*Service
	// DomainMappings are sorted by namespace and name.
	DomainMappings []*DomainMapping
	// Config is the defaults overlaid with the repository's Knative-named
	// ConfigMaps (see config.IsConfigNamespace).
	Config *config.Config
	// Objects are every other Kubernetes object, in file order, to be
	// applied as written.
	Objects []*unstructured.Unstructured
	// Ledgers are read from .ebb/<namespace>/<service>.yaml, sorted.
	Ledgers []*Ledger
	// Sources locates every object above (ledgers under LedgerRef, the
	// Knative-named ConfigMaps under their ConfigMap ref).
	Sources map[ObjectRef]Source
}

// Source returns where ref was read.
func (t *Tree) Source(ref ObjectRef) (Source, bool) {
	s, ok := t.Sources[ref]
	return s, ok
}

// Locate fills in File and Line of the FieldErrors in err that only name
// their object and path (errors from Plan). Other errors pass unchanged.
func (t *Tree) Locate(err error) error {
	var list ErrorList
	var fe *FieldError
	switch {
	case errors.As(err, &list):
	case errors.As(err, &fe):
		list = ErrorList{fe}
	default:
		return err
	}
	for _, e := range list {
		if e.File != "" {
			continue
		}
		if src, ok := t.Sources[e.Object]; ok {
			e.File, e.Line = src.File, src.LineOf(e.Path)
		}
	}
	return list.Err()
}

// Load reads a serving repository from fsys. With a kustomization file at
// the root, the objects come from a kustomize build (in memory, no remote
// bases); otherwise from every .yaml/.yml file outside dot-directories, in
// lexical order. Ledgers are read from LedgerDir. Every problem found is
// returned in one ErrorList (sorted by file and line); the tree is returned
// with it, holding what could be read.
func Load(fsys fs.FS) (*Tree, error) {
	l := &loader{
		tree: &Tree{Config: config.Default(), Sources: map[ObjectRef]Source{}},
		cms:  map[string]*document{},
	}
	var docs []*document
	if name, ok := kustomizationAt(fsys); ok {
		d, errs := buildKustomize(fsys, name)
		docs, l.errs = d, append(l.errs, errs...)
	} else {
		d, errs := walkYAML(fsys)
		docs, l.errs = d, append(l.errs, errs...)
	}
	for _, d := range docs {
		l.add(d)
	}
	l.applyConfig()
	l.validate()
	l.readLedgers(fsys)
	t := l.tree
	sort.Slice(t.Services, func(i, j int) bool {
		return nsName(&t.Services[i].ObjectMeta) < nsName(&t.Services[j].ObjectMeta)
	})
	sort.Slice(t.DomainMappings, func(i, j int) bool {
		return nsName(&t.DomainMappings[i].ObjectMeta) < nsName(&t.DomainMappings[j].ObjectMeta)
	})
	sort.Slice(t.Ledgers, func(i, j int) bool {
		return t.Ledgers[i].Namespace+"/"+t.Ledgers[i].Service < t.Ledgers[j].Namespace+"/"+t.Ledgers[j].Service
	})
	if err := l.errs.Err(); err != nil {
		return t, err
	}
	return t, nil
}

// isYAML reports whether a file name is a YAML file.
func isYAML(name string) bool {
	ext := strings.ToLower(path.Ext(name))
	return ext == ".yaml" || ext == ".yml"
}

// walkYAML decodes every YAML file outside dot-directories.
func walkYAML(fsys fs.FS) ([]*document, ErrorList) {
	var docs []*document
	var errs ErrorList
	err := fs.WalkDir(fsys, ".", func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			errs = append(errs, &FieldError{File: p, Message: err.Error()})
			return nil
		}
		if p != "." && strings.HasPrefix(d.Name(), ".") {
			if d.IsDir() {
				return fs.SkipDir
			}
			return nil
		}
		if d.IsDir() || !isYAML(p) {
			return nil
		}
		data, err := fs.ReadFile(fsys, p)
		if err != nil {
			errs = append(errs, &FieldError{File: p, Message: err.Error()})
			return nil
		}
		ds, es := decodeFile(p, data)
		docs, errs = append(docs, ds...), append(errs, es...)
		return nil
	})
	if err != nil {
		errs = append(errs, &FieldError{Message: err.Error()})
	}
	return docs, errs
}

type loader struct {
	tree *Tree
	errs ErrorList
	// cms holds the Knative-named ConfigMaps by name.
	cms map[string]*document
}

func (l *loader) errorf(src Source, p, format string, args ...any) {
	l.errs = append(l.errs, &FieldError{File: src.File, Line: src.LineOf(p), Path: p, Message: fmt.Sprintf(format, args...)})
}

// register records where ref was read; a second definition is an error.
func (l *loader) register(ref ObjectRef, src Source) bool {
	if prev, ok := l.tree.Sources[ref]; ok {
		l.errorf(src, "metadata.name", "%s is defined twice (first at %s:%d)", ref, prev.File, prev.Line)
		return false
	}
	l.tree.Sources[ref] = src
	return true
}

// add classifies one document.
func (l *loader) add(d *document) {
	u := d.obj
	gv, err := schema.ParseGroupVersion(u.GetAPIVersion())
	switch {
	case u.GetAPIVersion() == "":
		l.errorf(d.src, "apiVersion", "missing field(s)")
		return
	case err != nil:
		l.errorf(d.src, "apiVersion", "%v", err)
		return
	case u.GetKind() == "":
		l.errorf(d.src, "kind", "missing field(s)")
		return
	case u.GetName() == "" && u.GetGenerateName() == "":
		l.errorf(d.src, "metadata.name", "missing field(s)")
		return
	}
	switch {
	case gv.Group == Group && u.GetKind() == KindService:
		l.addService(d, gv)
	case gv.Group == Group && u.GetKind() == KindDomainMapping:
		l.addDomainMapping(d, gv)
	case gv.Group == Group:
		l.errorf(d.src, "kind", "kind %s is not supported: ebb reads Services and DomainMappings of %s", u.GetKind(), Group)
	case gv.Group == "" && u.GetKind() == "ConfigMap" && config.IsConfigName(u.GetName()) && config.IsConfigNamespace(u.GetNamespace()):
		ref := ObjectRef{Kind: "ConfigMap", Namespace: u.GetNamespace(), Name: u.GetName()}
		if !l.register(ref, d.src) {
			return
		}
		if prev, ok := l.cms[u.GetName()]; ok {
			l.errorf(d.src, "metadata.name", "ConfigMap %s is defined twice (first at %s:%d)", u.GetName(), prev.src.File, prev.src.Line)
			return
		}
		l.cms[u.GetName()] = d
	default:
		ref := ObjectRef{Group: gv.Group, Kind: u.GetKind(), Namespace: u.GetNamespace(), Name: u.GetName()}
		if u.GetName() == "" || l.register(ref, d.src) {
			l.tree.Objects = append(l.tree.Objects, u)
		}
	}
}

func (l *loader) addService(d *document, gv schema.GroupVersion) {
	if gv.Version != VersionV1 {
		l.errorf(d.src, "apiVersion", "unsupported apiVersion %q for Service, want %s/%s", gv.String(), Group, VersionV1)
		return
	}
	svc := &Service{}
	if errs := strictDecode(d, svc); len(errs) > 0 {
		l.errs = append(l.errs, errs...)
		return
	}
	if svc.Namespace == "" {
		svc.Namespace = DefaultNamespace
	}
	if l.register(ServiceRef(svc.Namespace, svc.Name), d.src) {
		l.tree.Services = append(l.tree.Services, svc)
	}
}

func (l *loader) addDomainMapping(d *document, gv schema.GroupVersion) {
	if gv.Version != "v1beta1" && gv.Version != "v1alpha1" {
		l.errorf(d.src, "apiVersion", "unsupported apiVersion %q for DomainMapping, want %s/v1beta1 or v1alpha1", gv.String(), Group)
		return
	}
	dm := &DomainMapping{}
	if errs := strictDecode(d, dm); len(errs) > 0 {
		l.errs = append(l.errs, errs...)
		return
	}
	if dm.Namespace == "" {
		dm.Namespace = DefaultNamespace
	}
	ref := ObjectRef{Group: Group, Kind: KindDomainMapping, Namespace: dm.Namespace, Name: dm.Name}
	if l.register(ref, d.src) {
		l.tree.DomainMappings = append(l.tree.DomainMappings, dm)
	}
}

// applyConfig parses the Knative-named ConfigMaps in a fixed order.
func (l *loader) applyConfig() {
	for _, name := range config.Names() {
		d, ok := l.cms[name]
		if !ok {
			continue
		}
		data, _, err := unstructured.NestedStringMap(d.obj.Object, "data")
		if err != nil {
			l.errorf(d.src, "data", "%v", err)
			continue
		}
		if err := l.tree.Config.Apply(name, data); err != nil {
			l.errorf(d.src, configErrorPath(data, err), "%v", err)
		}
	}
}

// configErrorPath points a ConfigMap error at the key it names first (the
// longest key at that position).
func configErrorPath(data map[string]string, err error) string {
	msg := err.Error()
	best, at := "", len(msg)
	for k := range data {
		i := strings.Index(msg, k)
		if i >= 0 && (i < at || (i == at && len(k) > len(best))) {
			best, at = k, i
		}
	}
	if best == "" {
		return "data"
	}
	return "data." + best
}

func nsName(m interface {
	GetNamespace() string
	GetName() string
}) string {
	return m.GetNamespace() + "/" + m.GetName()
}
