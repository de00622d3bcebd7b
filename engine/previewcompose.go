package engine

import (
	"cmp"
	"fmt"
	"maps"
	"slices"
	"strings"

	corev1 "k8s.io/api/core/v1"

	"github.com/ebb-dev/ebb/render"
	"github.com/ebb-dev/ebb/serving"
	"github.com/ebb-dev/ebb/serving/names"
	"github.com/ebb-dev/ebb/serving/traffic"
)

// Compose adds the previews to main, the main branch's state: for every
// Service a preview changes the template of, a revision of the preview's
// template, named <service>-<tag>-<hash>, at 0% under the preview's tag,
// with the main traffic pinned as it is. Services a preview adds or
// removes are left alone. main is not changed; the result shares what it
// does not change. A preview that does not load or plan is reported and
// skipped.
//
// A preview's Services are loaded with the main branch's configuration,
// never the preview's own, and a template that breaks rules (see
// serving.Untrusted; without Images, the images main's ledgers run and
// ko:// paths) is refused with the file and line of each field.
func Compose(main *Desired, previews []Preview, policy PreviewPolicy) (*Desired, []PreviewStatus) {
	return compose(nil, new(render.Memo), main, previews, policy)
}

// PreviewPolicy is how previews are composed into a state.
type PreviewPolicy struct {
	// Untrusted are the rules a preview's templates must keep. Without
	// Images, the images the followed branch runs and ko:// paths are
	// allowed.
	Untrusted serving.Untrusted
	// Namespace, when set, runs the preview of a Service as a Service of
	// its own in Namespace (which must exist), <service>-<tag>, routed on
	// its own host, instead of a tagged revision of the Service: a
	// namespace for previews keeps their pods apart from the main
	// branch's (network policies, quotas, the namespace's secrets).
	Namespace string
}

// compose is Compose loading the previews' commits through files and
// rendering relative to rendered's base.
func compose(files *serving.Cache, rendered *render.Memo, main *Desired, previews []Preview, policy PreviewPolicy) (*Desired, []PreviewStatus) {
	if main == nil {
		return nil, nil
	}
	var sts []PreviewStatus
	if len(previews) == 0 {
		return main, sts
	}
	c := newComposer(main, policy)
	for _, pv := range previews {
		st := PreviewStatus{Ref: pv.Ref, Tag: pv.Tag, Commit: pv.Commit.Hash}
		pt, err := files.LoadWith(pv.Commit.Files, serving.LoadOptions{Config: main.Tree.Config})
		if err != nil {
			st.Error = err.Error()
			sts = append(sts, st)
			continue
		}
		var errs []string
		for _, ps := range pt.Services {
			name, err := c.add(pt, ps, pv)
			if err != nil {
				errs = append(errs, err.Error())
			} else if name != "" {
				st.Services = append(st.Services, name)
			}
		}
		st.Error = strings.Join(errs, "\n")
		sts = append(sts, st)
	}
	if len(c.owner) > 0 {
		slices.SortFunc(c.tree.Services, func(a, b *serving.Service) int {
			return cmp.Or(cmp.Compare(a.Namespace, b.Namespace), cmp.Compare(a.Name, b.Name))
		})
		slices.SortFunc(c.ledgers, func(a, b *serving.Ledger) int {
			return cmp.Or(cmp.Compare(a.Namespace, b.Namespace), cmp.Compare(a.Service, b.Service))
		})
	}
	d := &Desired{Tree: &c.tree, Ledgers: c.ledgers, At: main.At, Now: main.Now, Programmed: main.Programmed}
	if err := renderDelta(rendered, d); err != nil {
		for i := range sts {
			sts[i].Error = strings.TrimPrefix(sts[i].Error+"\n", "\n") + err.Error()
		}
		return main, sts
	}
	return d, sts
}

// composer is main's state with previews added one Service at a time.
type composer struct {
	main     *Desired
	policy   PreviewPolicy
	rules    serving.Untrusted
	tree     serving.Tree // main's, with its own Services
	ledgers  []*serving.Ledger
	svcAt    map[[2]string]int    // namespace and name → index in tree.Services
	ledgerAt map[[2]string]int    // and in ledgers
	owner    map[[2]string]string // preview Service → what it previews
}

func newComposer(main *Desired, policy PreviewPolicy) *composer {
	c := &composer{main: main, policy: policy, rules: policy.Untrusted, tree: *main.Tree,
		ledgers: slices.Clone(main.Ledgers), svcAt: map[[2]string]int{}, ledgerAt: map[[2]string]int{}, owner: map[[2]string]string{}}
	c.tree.Services = slices.Clone(main.Tree.Services)
	for i, s := range c.tree.Services {
		c.svcAt[[2]string{s.Namespace, s.Name}] = i
	}
	for i, l := range c.ledgers {
		c.ledgerAt[[2]string{l.Namespace, l.Service}] = i
	}
	if len(c.rules.Images) == 0 {
		c.rules.Images = runningImages(main.Ledgers)
	}
	return c
}

// add adds the preview pv of Service ps, loaded in pt, and returns the
// Service that runs it (namespace/name), "" when ps previews nothing: a
// Service main does not run, or the same template.
func (c *composer) add(pt *serving.Tree, ps *serving.Service, pv Preview) (string, error) {
	key := [2]string{ps.Namespace, ps.Name}
	i, ok := c.svcAt[key]
	li, lok := c.ledgerAt[key]
	if !ok || !lok || c.ledgers[li].Removed != nil {
		return "", nil
	}
	base := c.main.Tree.Services[i]
	if serving.HashTemplate(&ps.Spec.Template) == serving.HashTemplate(&base.Spec.Template) {
		return "", nil
	}
	if fes := serving.ValidateUntrusted(ps, c.rules); len(fes) > 0 {
		return "", pt.Locate(serving.ErrorList(fes))
	}
	if c.policy.Namespace == "" {
		s, l, err := previewService(c.tree.Services[i], c.ledgers[li], ps, pv)
		if err != nil {
			return "", err
		}
		c.tree.Services[i], c.ledgers[li] = s, l
		return ps.Namespace + "/" + ps.Name, nil
	}
	s, l, err := previewAlone(ps, pv, c.policy.Namespace)
	if err != nil {
		return "", err
	}
	at := [2]string{s.Namespace, s.Name}
	if _, taken := c.svcAt[at]; taken {
		what := "a Service of the main branch"
		if o, ok := c.owner[at]; ok {
			what = "the preview of " + o
		}
		return "", fmt.Errorf("%s/%s: its preview %s/%s is already %s", ps.Namespace, ps.Name, s.Namespace, s.Name, what)
	}
	c.owner[at] = ps.Namespace + "/" + ps.Name
	c.svcAt[at], c.ledgerAt[at] = len(c.tree.Services), len(c.ledgers)
	c.tree.Services, c.ledgers = append(c.tree.Services, s), append(c.ledgers, l)
	return s.Namespace + "/" + s.Name, nil
}

// runningImages are the images of every revision in ledgers, and ko://
// paths: what a preview may run when no image patterns are configured.
func runningImages(ledgers []*serving.Ledger) []string {
	seen := map[string]bool{"ko://*": true}
	for _, l := range ledgers {
		for _, r := range l.Revisions {
			for _, cs := range [][]corev1.Container{r.Template.Spec.Containers, r.Template.Spec.InitContainers} {
				for _, c := range cs {
					if c.Image != "" && !strings.Contains(c.Image, "*") {
						seen[c.Image] = true
					}
				}
			}
		}
	}
	return slices.Sorted(maps.Keys(seen))
}

// previewAlone plans the preview of ps as a Service of its own in
// namespace: <service>-<tag>, all traffic on one revision named as a
// tagged preview's would be.
func previewAlone(ps *serving.Service, pv Preview, namespace string) (*serving.Service, *serving.Ledger, error) {
	s := &serving.Service{TypeMeta: ps.TypeMeta}
	s.Name = names.Child(ps.Name, "-"+pv.Tag)
	s.Namespace = namespace
	s.Labels, s.Annotations = maps.Clone(ps.Labels), maps.Clone(ps.Annotations)
	s.Spec.Template = *ps.Spec.Template.DeepCopy()
	s.Spec.Template.Name = previewRevision(ps.Name, pv.Tag, serving.HashTemplate(&ps.Spec.Template))
	markPreview(&s.Spec.Template, pv.Tag)
	latest, all := true, traffic.Percent(100)
	s.Spec.Traffic = []serving.TrafficTarget{{LatestRevision: &latest, Percent: &all}}
	next, _, err := serving.Plan([]*serving.Service{s}, nil, stamp(pv.Commit), serving.Observed{})
	if err != nil {
		return nil, nil, fmt.Errorf("%s/%s: %w", ps.Namespace, ps.Name, err)
	}
	return s, next[0], nil
}

// markPreview labels a preview's template with its tag.
func markPreview(t *serving.RevisionTemplateSpec, tag string) {
	t.Labels = maps.Clone(t.Labels)
	if t.Labels == nil {
		t.Labels = map[string]string{}
	}
	t.Labels[serving.PreviewLabel] = tag
}

// previewService plans the preview's template of one Service as a
// revision at 0% under the preview's tag, on top of cur and its ledger.
func previewService(cur *serving.Service, ledger *serving.Ledger, ps *serving.Service, pv Preview) (*serving.Service, *serving.Ledger, error) {
	c := *cur
	c.ObjectMeta = *cur.ObjectMeta.DeepCopy()
	c.Spec = serving.ServiceSpec{Template: *ps.Spec.Template.DeepCopy()}
	s := &c
	hash := serving.HashTemplate(&ps.Spec.Template)
	s.Spec.Template.Name = previewRevision(s.Name, pv.Tag, hash)
	markPreview(&s.Spec.Template, pv.Tag)
	for _, t := range ledger.Traffic {
		if t.Tag == pv.Tag {
			continue
		}
		pct := t.Percent
		s.Spec.Traffic = append(s.Spec.Traffic, serving.TrafficTarget{Tag: t.Tag, RevisionName: t.RevisionName, Percent: &pct})
	}
	zero := traffic.Percent(0)
	s.Spec.Traffic = append(s.Spec.Traffic, serving.TrafficTarget{Tag: pv.Tag, RevisionName: s.Spec.Template.Name, Percent: &zero})
	next, _, err := serving.Plan([]*serving.Service{s}, []*serving.Ledger{ledger}, stamp(pv.Commit), serving.Observed{})
	if err != nil {
		return nil, nil, fmt.Errorf("%s/%s: %w", s.Namespace, s.Name, err)
	}
	for _, l := range next {
		if l.Namespace == s.Namespace && l.Service == s.Name {
			return s, l, nil
		}
	}
	return nil, nil, fmt.Errorf("%s/%s: planning made no ledger", s.Namespace, s.Name)
}

// previewRevision names a preview's revision of service:
// <service>-<tag>-<first 7 of the template hash>, shortened to a DNS
// label when too long.
func previewRevision(service, tag, hash string) string {
	h := strings.TrimPrefix(hash, "sha256:")
	if len(h) > 7 {
		h = h[:7]
	}
	name := service + "-" + tag + "-" + sanitizeLabel(h, 7)
	if len(name) > 63 {
		name = names.Child(service+"-"+tag, "-"+sanitizeLabel(h, 7))
	}
	return name
}
