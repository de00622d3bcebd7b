package serving

import (
	"fmt"
	"io/fs"
	"path"
	"strings"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"sigs.k8s.io/kustomize/api/krusty"
	"sigs.k8s.io/kustomize/api/types"
	"sigs.k8s.io/kustomize/kyaml/filesys"
	"sigs.k8s.io/yaml"
)

// kustomizationNames are the file names kustomize recognises.
var kustomizationNames = []string{"kustomization.yaml", "kustomization.yml", "Kustomization"}

const originAnnotation = "config.kubernetes.io/origin"

// kustomizationAt returns the name of the kustomization file at the root.
func kustomizationAt(fsys fs.FS) (string, bool) {
	for _, n := range kustomizationNames {
		if fi, err := fs.Stat(fsys, n); err == nil && !fi.IsDir() {
			return n, true
		}
	}
	return "", false
}

// buildKustomize runs kustomize over a copy of fsys in memory, within bud:
// a file over the limits is refused before it is read, and is never
// copied. Remote bases and resources are refused before the build, so it
// never touches the network. Each object is located through kustomize's
// origin annotation: the file is exact; the line is the line of the
// document in that file with the same kind and name (or, failing that,
// line 1), so positions are coarser than without kustomize when
// transformers rename or patch objects.
func buildKustomize(fsys fs.FS, root string, bud *budget) ([]*document, ErrorList) {
	mem := filesys.MakeFsInMemory()
	var errs ErrorList
	files := map[string][]byte{}
	err := fs.WalkDir(fsys, ".", func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			errs = append(errs, fileError(p, err))
			return nil
		}
		if bud.over {
			return fs.SkipAll
		}
		if p != "." && strings.HasPrefix(d.Name(), ".") && d.IsDir() {
			return fs.SkipDir
		}
		if d.IsDir() {
			return mem.MkdirAll("/" + p)
		}
		if fe := bud.statFile(fsys, p, d); fe != nil {
			errs = append(errs, fe)
			return bud.stop()
		}
		data, err := readFile(fsys, p, bud.lim.FileBytes)
		if err != nil {
			errs = append(errs, fileError(p, err))
			return nil
		}
		files[p] = data
		return mem.WriteFile("/"+p, data)
	})
	if err != nil {
		errs = append(errs, &FieldError{Message: fmt.Sprintf("read tree for kustomize: %v", err)})
	}
	if len(errs) > 0 {
		return nil, errs
	}
	for p, data := range files {
		if base := path.Base(p); base == "kustomization.yaml" || base == "kustomization.yml" || base == "Kustomization" {
			errs = append(errs, checkNoRemote(p, data)...)
		}
	}
	if len(errs) > 0 {
		return nil, errs
	}
	rootData, err := withOriginAnnotations(files[root])
	if err != nil {
		return nil, ErrorList{{File: root, Message: err.Error()}}
	}
	if err := mem.WriteFile("/"+root, rootData); err != nil {
		return nil, ErrorList{{File: root, Message: err.Error()}}
	}
	opts := krusty.MakeDefaultOptions()
	opts.LoadRestrictions = types.LoadRestrictionsRootOnly
	opts.PluginConfig = types.DisabledPluginConfig()
	rm, err := krusty.MakeKustomizer(opts).Run(mem, "/")
	if err != nil {
		return nil, ErrorList{{File: root, Message: fmt.Sprintf("kustomize build: %v", err)}}
	}
	cache := map[string][]*document{}
	var docs []*document
	for _, r := range rm.Resources() {
		m, err := r.Map()
		if err != nil {
			errs = append(errs, &FieldError{File: root, Message: err.Error()})
			continue
		}
		u := &unstructured.Unstructured{Object: m}
		file := originFile(u.GetAnnotations()[originAnnotation], root)
		removeAnnotation(u, originAnnotation)
		b, err := u.MarshalJSON()
		if err != nil {
			errs = append(errs, &FieldError{File: file, Message: err.Error()})
			continue
		}
		src := Source{File: file, Line: 1}
		if _, ok := cache[file]; !ok {
			if data, ok := files[file]; ok {
				cache[file], _ = decodeFile(file, data)
			}
		}
		if d := matchDocument(cache[file], u); d != nil {
			src = d.src
		}
		if fe := bud.document(src.File, src.Line, int64(len(b))); fe != nil {
			errs = append(errs, fe)
			continue
		}
		if fe := bud.addObjects(src.File, src.Line, 1); fe != nil {
			return nil, append(errs, fe)
		}
		docs = append(docs, &document{src: src, json: b, obj: u})
	}
	return docs, errs
}

// withOriginAnnotations asks kustomize to annotate each object with the
// file it came from.
func withOriginAnnotations(data []byte) ([]byte, error) {
	var k types.Kustomization
	if err := yaml.Unmarshal(data, &k); err != nil {
		return nil, fmt.Errorf("kustomization: %w", err)
	}
	for _, o := range k.BuildMetadata {
		if o == types.OriginAnnotations {
			return data, nil
		}
	}
	k.BuildMetadata = append(k.BuildMetadata, types.OriginAnnotations)
	return yaml.Marshal(&k)
}

// checkNoRemote refuses remote resources, bases and components.
func checkNoRemote(file string, data []byte) ErrorList {
	var k types.Kustomization
	if err := yaml.Unmarshal(data, &k); err != nil {
		return ErrorList{{File: file, Message: fmt.Sprintf("kustomization: %v", err)}}
	}
	var errs ErrorList
	for _, list := range []struct {
		field string
		items []string
	}{{"resources", k.Resources}, {"bases", k.Bases}, {"components", k.Components}, {"crds", k.Crds}} {
		for i, r := range list.items {
			if isRemote(r) {
				errs = append(errs, &FieldError{File: file, Path: fmt.Sprintf("%s[%d]", list.field, i),
					Message: fmt.Sprintf("remote %s %q: ebb builds kustomizations offline; vendor it into the repository", list.field, r)})
			}
		}
	}
	if len(k.HelmCharts) > 0 {
		errs = append(errs, &FieldError{File: file, Path: "helmCharts", Message: "helm charts are not supported"})
	}
	return errs
}

func isRemote(r string) bool {
	for _, p := range []string{"git@", "github.com/", "gitlab.com/", "bitbucket.org/", "ssh:"} {
		if strings.HasPrefix(r, p) {
			return true
		}
	}
	return strings.Contains(r, "://") || strings.Contains(r, "?ref=") || strings.Contains(r, "?version=")
}

// originFile reads the path out of a config.kubernetes.io/origin value.
func originFile(origin, fallback string) string {
	var o struct {
		Path         string `json:"path"`
		ConfiguredIn string `json:"configuredIn"`
	}
	if err := yaml.Unmarshal([]byte(origin), &o); err != nil {
		return fallback
	}
	p := o.Path
	if p == "" {
		p = o.ConfiguredIn
	}
	if p == "" {
		return fallback
	}
	return path.Clean(strings.TrimPrefix(p, "/"))
}

func removeAnnotation(u *unstructured.Unstructured, key string) {
	a := u.GetAnnotations()
	if _, ok := a[key]; !ok {
		return
	}
	delete(a, key)
	if len(a) == 0 {
		unstructured.RemoveNestedField(u.Object, "metadata", "annotations")
		return
	}
	u.SetAnnotations(a)
}

// matchDocument finds u's source document: same kind and name, else the
// only document of that kind.
func matchDocument(docs []*document, u *unstructured.Unstructured) *document {
	var sameKind []*document
	for _, d := range docs {
		if d.obj.GetKind() != u.GetKind() {
			continue
		}
		if d.obj.GetName() == u.GetName() {
			return d
		}
		sameKind = append(sameKind, d)
	}
	if len(sameKind) == 1 {
		return sameKind[0]
	}
	return nil
}
