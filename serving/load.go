package serving

import (
	"errors"
	"fmt"
	"io/fs"
	"path"
	"sort"
	"strings"
	"sync/atomic"

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
	// Code is the content digest of the Services' ko:// images (see
	// KoImages), set by the reader of the tree, which knows where the Go
	// code is: Load leaves it empty. Planning reads it: a revision is its
	// template and the code of its ko:// images.
	Code Code

	// items are the Services' decoded documents: their template hashes,
	// worked out when their files were decoded, and what planning found
	// (a Cache keeps them with the Service).
	items map[*Service]*item
	// earlier are the documents of a file that defined a Service before
	// the one in Services, in file order (see replaceService).
	earlier map[*Service][]*item
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
			e.File, e.Line = src.File, src.LineOf(e.where())
		}
	}
	return list.Err()
}

// Load reads a serving repository from fsys. With a kustomization file at
// the root, the objects come from a kustomize build (in memory, no remote
// bases); otherwise from every .yaml/.yml file outside dot-directories, in
// lexical order. Ledgers are read from LedgerDir. What is read stays
// within DefaultLimits. Every problem found is returned in one ErrorList
// (sorted by file and line); the tree is returned with it, holding what
// could be read.
func Load(fsys fs.FS) (*Tree, error) {
	return (*Cache)(nil).Load(fsys)
}

// Load is Load within c's Limits, decoding only the files whose path and
// content it has not seen in its recent loads.
func (c *Cache) Load(fsys fs.FS) (*Tree, error) {
	return c.LoadWith(fsys, LoadOptions{})
}

// LoadOptions change how a tree is read.
type LoadOptions struct {
	// Config, when set, is the configuration the tree is defaulted and
	// validated with, in place of its own Knative-named ConfigMaps, which
	// are then ignored: a preview is checked against the followed
	// branch's configuration, never against its own.
	Config *config.Config
}

// LoadWith is Load with options.
func (c *Cache) LoadWith(fsys fs.FS, o LoadOptions) (*Tree, error) {
	cfg := o.Config
	if cfg == nil {
		cfg = config.Default()
	}
	l := &loader{
		tree:   &Tree{Config: cfg, Sources: map[ObjectRef]Source{}, items: map[*Service]*item{}, earlier: map[*Service][]*item{}},
		cms:    map[string]*item{},
		cache:  c.begin(),
		budget: newBudget(c.limits()),
	}
	defer l.cache.end()
	if name, ok := kustomizationAt(fsys); ok {
		docs, errs := buildKustomize(fsys, name, l.budget)
		l.errs = append(l.errs, errs...)
		for _, d := range docs {
			l.add(prepare(d))
		}
	} else {
		l.walkYAML(fsys)
	}
	if o.Config == nil {
		l.applyConfig()
	}
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

// walkYAML adds every document of every YAML file outside dot-directories.
func (l *loader) walkYAML(fsys fs.FS) {
	err := fs.WalkDir(fsys, ".", func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			l.errs = append(l.errs, fileError(p, err))
			return nil
		}
		if l.budget.over {
			return fs.SkipAll
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
		if fe := l.budget.statFile(fsys, p, d); fe != nil {
			l.errs = append(l.errs, fe)
			return l.budget.stop()
		}
		items, errs := l.cache.items(fsys, p, l.budget)
		l.errs = append(l.errs, errs...)
		if len(items) > 0 {
			if fe := l.budget.addObjects(p, items[0].src.Line, len(items)); fe != nil {
				l.errs = append(l.errs, fe)
				return l.budget.stop()
			}
		}
		for _, it := range items {
			l.add(it)
		}
		return nil
	})
	if err != nil {
		l.errs = append(l.errs, &FieldError{Message: err.Error()})
	}
}

type loader struct {
	tree *Tree
	errs ErrorList
	// cms holds the Knative-named ConfigMaps by name.
	cms    map[string]*item
	cache  *loadCache
	budget *budget
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

// item is one document as far as its own content decides: decoded,
// defaulted and classified. Registering it (duplicates are found across
// files) is left to add. Items are what a Cache keeps, so they are never
// modified once prepared.
type item struct {
	src Source
	// errs are the document's own problems; an item with errs adds
	// nothing but them.
	errs ErrorList
	svc  *Service
	hash string // HashTemplate of svc's template
	// ko are the ko:// images of svc's template (KoImages).
	ko []string
	// settled is the ledger svc last planned against without a change,
	// and the code of its ko:// images then: planning the two again would
	// change nothing (see plan).
	settled atomic.Pointer[settled]
	dm      *DomainMapping
	// config is the name of a Knative-named ConfigMap (obj is the map).
	config string
	// obj is a ConfigMap or any other object, as written.
	obj *unstructured.Unstructured
	// ref is what the item registers under; an object without a name
	// (generateName) registers nothing.
	ref ObjectRef
}

func (it *item) errorf(p, format string, args ...any) *item {
	it.errs = append(it.errs, &FieldError{File: it.src.File, Line: it.src.LineOf(p), Path: p, Message: fmt.Sprintf(format, args...)})
	return it
}

// prepare decodes and classifies one document.
func prepare(d *document) *item {
	it := &item{src: d.src}
	u := d.obj
	gv, err := schema.ParseGroupVersion(u.GetAPIVersion())
	switch {
	case u.GetAPIVersion() == "":
		return it.errorf("apiVersion", "missing field(s)")
	case err != nil:
		return it.errorf("apiVersion", "%v", err)
	case u.GetKind() == "":
		return it.errorf("kind", "missing field(s)")
	case u.GetName() == "" && u.GetGenerateName() == "":
		return it.errorf("metadata.name", "missing field(s)")
	}
	switch {
	case gv.Group == Group && u.GetKind() == KindService:
		if gv.Version != VersionV1 {
			return it.errorf("apiVersion", "unsupported apiVersion %q for Service, want %s/%s", gv.String(), Group, VersionV1)
		}
		svc := &Service{}
		if it.errs = strictDecode(d, svc); len(it.errs) > 0 {
			return it
		}
		if svc.Namespace == "" {
			svc.Namespace = DefaultNamespace
		}
		it.svc, it.ref, it.hash = svc, ServiceRef(svc.Namespace, svc.Name), HashTemplate(&svc.Spec.Template)
		it.ko = KoImages(&svc.Spec.Template)
	case gv.Group == Group && u.GetKind() == KindDomainMapping:
		if gv.Version != "v1beta1" && gv.Version != "v1alpha1" {
			return it.errorf("apiVersion", "unsupported apiVersion %q for DomainMapping, want %s/v1beta1 or v1alpha1", gv.String(), Group)
		}
		dm := &DomainMapping{}
		if it.errs = strictDecode(d, dm); len(it.errs) > 0 {
			return it
		}
		if dm.Namespace == "" {
			dm.Namespace = DefaultNamespace
		}
		it.dm, it.ref = dm, ObjectRef{Group: Group, Kind: KindDomainMapping, Namespace: dm.Namespace, Name: dm.Name}
	case gv.Group == Group:
		return it.errorf("kind", "kind %s is not supported: ebb reads Services and DomainMappings of %s", u.GetKind(), Group)
	case gv.Group == "" && u.GetKind() == "ConfigMap" && config.IsConfigName(u.GetName()) && config.IsConfigNamespace(u.GetNamespace()):
		it.config, it.obj = u.GetName(), u
		it.ref = ObjectRef{Kind: "ConfigMap", Namespace: u.GetNamespace(), Name: u.GetName()}
	default:
		it.obj = u
		it.ref = ObjectRef{Group: gv.Group, Kind: u.GetKind(), Namespace: u.GetNamespace(), Name: u.GetName()}
	}
	return it
}

// add registers one item in the tree. Objects are copied: the tree's
// objects are handed on (render passes them through) while the item may
// be kept by a Cache.
func (l *loader) add(it *item) {
	if len(it.errs) > 0 {
		l.errs = append(l.errs, it.errs...)
		return
	}
	switch {
	case it.svc != nil:
		if prev, ok := l.tree.Sources[it.ref]; ok && prev.File == it.src.File && l.replaceService(it) {
			return
		}
		if l.register(it.ref, it.src) {
			l.tree.Services = append(l.tree.Services, it.svc)
			l.tree.items[it.svc] = it
		}
	case it.dm != nil:
		if l.register(it.ref, it.src) {
			l.tree.DomainMappings = append(l.tree.DomainMappings, it.dm)
		}
	case it.config != "":
		if !l.register(it.ref, it.src) {
			return
		}
		if prev, ok := l.cms[it.config]; ok {
			l.errorf(it.src, "metadata.name", "ConfigMap %s is defined twice (first at %s:%d)", it.config, prev.src.File, prev.src.Line)
			return
		}
		l.cms[it.config] = it
	default:
		if it.ref.Name == "" || l.register(it.ref, it.src) {
			l.tree.Objects = append(l.tree.Objects, it.obj.DeepCopy())
		}
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
