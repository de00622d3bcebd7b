package engine

import (
	"cmp"
	"context"
	"fmt"
	"log/slog"
	"maps"
	"path"
	"slices"
	"strings"
	gosync "sync"
	"time"

	corev1 "k8s.io/api/core/v1"

	"github.com/ebb-dev/ebb/engine/forge"
	"github.com/ebb-dev/ebb/engine/git"
	"github.com/ebb-dev/ebb/render"
	"github.com/ebb-dev/ebb/serving"
)

// Fetcher reads one ref of a repository; *git.Source is one.
type Fetcher interface {
	Fetch(ctx context.Context) (git.Commit, bool, error)
}

// Previews follows the refs of a repository that match Patterns (for
// example refs/heads/preview/* and refs/pull/*/head) and keeps the head
// commit of each. Compose turns them into 0%-traffic revisions tagged
// per ref, next to the main branch's state; nothing of a preview is ever
// written to the ledger.
//
// A pull-request ref runs only when Trust allows its pull request, which
// PullRequest reads from the forge; a ref that is not allowed is not
// fetched at all. Every preview's templates must keep Policy's rules.
type Previews struct {
	// Patterns are path.Match globs over full ref names.
	Patterns []string
	// List returns the repository's refs: full name → commit hash.
	List func(ctx context.Context) (map[string]string, error)
	// Open returns a reader of ref, whose head is hash now.
	Open func(ref, hash string) (Fetcher, error)
	// Trust says which pull requests run; PullRequest reads pull request
	// n from the forge (nil without a forge: only Trust.Forks lets pull
	// requests run).
	Trust       PreviewTrust
	PullRequest func(ctx context.Context, n int) (forge.PullRequest, error)
	// Policy says what a preview may run and where.
	Policy PreviewPolicy
	// TTL, when positive, drops a preview whose head ebb first fetched
	// longer ago.
	TTL    time.Duration
	Now    func() time.Time
	Logger *slog.Logger

	mu   gosync.Mutex
	refs map[string]*preview
}

// prRecheck is how long a pull request's trust decision holds while its
// head does not move: a closed pull request or a removed label takes
// effect within it.
const prRecheck = time.Minute

type preview struct {
	src    Fetcher
	hash   string // the head the ref list last showed
	commit git.Commit
	// seen is when the head commit was first fetched: TTL counts from it.
	seen time.Time
	err  string
	// checked is when the forge last decided on the pull request at
	// checkedHash, and denied what it said (empty: allowed).
	checked     time.Time
	checkedHash string
	denied      string
}

// Preview is one preview ref's head.
type Preview struct {
	Ref    string
	Tag    string
	Commit git.Commit
}

// PreviewStatus is a preview as status shows it.
type PreviewStatus struct {
	Ref    string `json:"ref"`
	Tag    string `json:"tag"`
	Commit string `json:"commit,omitempty"`
	// Services are the Services the preview changes, namespace/name,
	// each with a revision at 0% under Tag.
	Services []string `json:"services,omitempty"`
	Error    string   `json:"error,omitempty"`
}

func (p *Previews) now() time.Time {
	if p.Now != nil {
		return p.Now()
	}
	return time.Now()
}

// Matches reports whether ref is a preview ref.
func (p *Previews) Matches(ref string) bool {
	for _, pat := range p.Patterns {
		if ok, _ := path.Match(pat, ref); ok {
			return true
		}
	}
	return false
}

// Check reports a configuration that would let nobody's pull requests run
// by surprise: patterns that match pull-request refs need a forge to
// check each pull request, or Trust.Forks.
func (p *Previews) Check() error {
	if p.PullRequest != nil || p.Trust.Forks {
		return nil
	}
	for _, pat := range p.Patterns {
		for _, ref := range []string{"refs/pull/1/head", "refs/merge-requests/1/head"} {
			if ok, _ := path.Match(pat, ref); ok {
				return fmt.Errorf("preview %s matches pull requests, which may come from forks: configure a forge to check each one (its author, labels and head repository), or allow every pull request, forks included", pat)
			}
		}
	}
	return nil
}

// Sync lists the refs, fetches the preview refs that moved and may run,
// forgets those that are gone or older than TTL, and reports whether the
// set of preview commits changed.
func (p *Previews) Sync(ctx context.Context) bool {
	refs, err := p.List(ctx)
	if err != nil {
		if p.Logger != nil {
			p.Logger.Error("list preview refs", "error", err)
		}
		return false
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.refs == nil {
		p.refs = map[string]*preview{}
	}
	now := p.now()
	changed := false
	for ref := range p.refs {
		if _, ok := refs[ref]; !ok || !p.Matches(ref) {
			delete(p.refs, ref)
			changed = true
		}
	}
	for ref, hash := range refs {
		if !p.Matches(ref) {
			continue
		}
		pv := p.refs[ref]
		if pv == nil {
			pv = &preview{}
			p.refs[ref] = pv
		}
		if why := p.distrust(ctx, ref, hash, pv, now); why != "" {
			if pv.err != why || pv.commit.Hash != "" {
				changed = true
			}
			// Nothing of a ref that may not run is kept or fetched.
			pv.src, pv.commit, pv.hash, pv.seen, pv.err = nil, git.Commit{}, hash, time.Time{}, why
			continue
		}
		if pv.hash == hash && pv.err == "" && pv.commit.Hash != "" {
			continue
		}
		if pv.src == nil {
			src, err := p.Open(ref, hash)
			if err != nil {
				pv.hash, pv.err = hash, err.Error()
				changed = true
				continue
			}
			pv.src = src
		}
		c, _, err := pv.src.Fetch(ctx)
		pv.hash = hash
		if err != nil {
			pv.err = err.Error()
			changed = true
			continue
		}
		if c.Hash != pv.commit.Hash {
			pv.seen = now
			changed = true
		} else if pv.err != "" {
			changed = true
		}
		pv.commit, pv.err = c, ""
	}
	if p.TTL > 0 {
		for _, pv := range p.refs {
			if pv.commit.Hash != "" && now.Sub(pv.seen) > p.TTL {
				if pv.err == "" {
					changed = true
				}
				pv.err = fmt.Sprintf("expired: head first fetched more than %v ago", p.TTL)
			}
		}
	}
	return changed
}

// distrust returns why ref, whose head is hash, may not run as a preview,
// or "" when it may. Branches may; a pull request only as Trust decides,
// which is asked of the forge again when the head moves or prRecheck has
// passed. When the forge cannot be read, the last decision stands (none:
// the pull request does not run).
func (p *Previews) distrust(ctx context.Context, ref, hash string, pv *preview, now time.Time) string {
	if !IsPullRequestRef(ref) {
		return ""
	}
	n, ok := forge.Number(ref)
	if !ok {
		return "not run: not a pull request's head ref"
	}
	if p.PullRequest == nil {
		if p.Trust.Forks {
			return ""
		}
		return "not run: pull requests are untrusted and no forge is configured to check them"
	}
	if pv.checkedHash == hash && now.Sub(pv.checked) < prRecheck {
		return pv.denied
	}
	pr, err := p.PullRequest(ctx, n)
	if err != nil {
		if p.Logger != nil {
			p.Logger.Error("read pull request", "ref", ref, "error", err)
		}
		if pv.checked.IsZero() {
			return "not run: " + err.Error()
		}
		return pv.denied
	}
	pv.checked, pv.checkedHash, pv.denied = now, hash, ""
	if err := p.Trust.Decide(pr); err != nil {
		pv.denied = "not run: " + err.Error()
	}
	return pv.denied
}

// Current returns the live previews, sorted by ref.
func (p *Previews) Current() []Preview {
	p.mu.Lock()
	defer p.mu.Unlock()
	var out []Preview
	for ref, pv := range p.refs {
		if pv.err == "" && pv.commit.Hash != "" {
			out = append(out, Preview{Ref: ref, Tag: PreviewTag(ref), Commit: pv.commit})
		}
	}
	slices.SortFunc(out, func(a, b Preview) int { return cmp.Compare(a.Ref, b.Ref) })
	return out
}

// Problems returns the preview refs that could not be read, or expired.
func (p *Previews) Problems() []PreviewStatus {
	p.mu.Lock()
	defer p.mu.Unlock()
	var out []PreviewStatus
	for ref, pv := range p.refs {
		if pv.err != "" {
			out = append(out, PreviewStatus{Ref: ref, Tag: PreviewTag(ref), Commit: pv.commit.Hash, Error: pv.err})
		}
	}
	slices.SortFunc(out, func(a, b PreviewStatus) int { return cmp.Compare(a.Ref, b.Ref) })
	return out
}

// PreviewTag is the traffic tag of a preview ref: pr-<n> for
// refs/pull/<n>/head (and GitLab's refs/merge-requests/<n>/head), else
// the branch name made a DNS label (refs/heads/preview/Login-Form →
// preview-login-form), at most 30 characters.
func PreviewTag(ref string) string {
	for _, pre := range []string{"refs/pull/", "refs/merge-requests/"} {
		if rest, ok := strings.CutPrefix(ref, pre); ok {
			if n, _, ok := strings.Cut(rest, "/"); ok {
				return "pr-" + sanitizeLabel(n, 27)
			}
		}
	}
	name := strings.TrimPrefix(ref, "refs/heads/")
	return cmp.Or(sanitizeLabel(name, 30), "preview")
}

// sanitizeLabel lowers s, turns every run of other characters into one
// '-', and cuts it to max without a trailing '-'.
func sanitizeLabel(s string, max int) string {
	var b strings.Builder
	dash := false
	for _, r := range strings.ToLower(s) {
		if (r >= 'a' && r <= 'z') || (r >= '0' && r <= '9') {
			b.WriteRune(r)
			dash = false
		} else if !dash && b.Len() > 0 {
			b.WriteByte('-')
			dash = true
		}
	}
	out := b.String()
	if len(out) > max {
		out = out[:max]
	}
	return strings.Trim(out, "-")
}

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

// compose is Compose loading the previews' commits through files.
func compose(files *serving.Cache, rendered *render.Memo, main *Desired, previews []Preview, policy PreviewPolicy) (*Desired, []PreviewStatus) {
	if main == nil {
		return nil, nil
	}
	var sts []PreviewStatus
	if len(previews) == 0 {
		return main, sts
	}
	tree := *main.Tree
	tree.Services = slices.Clone(main.Tree.Services)
	ledgers := slices.Clone(main.Ledgers)
	svcAt := map[[2]string]int{}
	for i, s := range tree.Services {
		svcAt[[2]string{s.Namespace, s.Name}] = i
	}
	ledgerAt := map[[2]string]int{}
	for i, l := range ledgers {
		ledgerAt[[2]string{l.Namespace, l.Service}] = i
	}
	rules := policy.Untrusted
	if len(rules.Images) == 0 {
		rules.Images = runningImages(main.Ledgers)
	}
	owner := map[[2]string]string{} // preview Service → what it previews
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
			key := [2]string{ps.Namespace, ps.Name}
			i, ok := svcAt[key]
			li, lok := ledgerAt[key]
			if !ok || !lok || ledgers[li].Removed != nil {
				continue
			}
			base := main.Tree.Services[i]
			if serving.HashTemplate(&ps.Spec.Template) == serving.HashTemplate(&base.Spec.Template) {
				continue
			}
			if fes := serving.ValidateUntrusted(ps, rules); len(fes) > 0 {
				errs = append(errs, pt.Locate(serving.ErrorList(fes)).Error())
				continue
			}
			if policy.Namespace == "" {
				s, l, err := previewService(tree.Services[i], ledgers[li], ps, pv)
				if err != nil {
					errs = append(errs, err.Error())
					continue
				}
				tree.Services[i], ledgers[li] = s, l
				st.Services = append(st.Services, ps.Namespace+"/"+ps.Name)
				continue
			}
			s, l, err := previewAlone(ps, pv, policy.Namespace)
			if err != nil {
				errs = append(errs, err.Error())
				continue
			}
			at := [2]string{s.Namespace, s.Name}
			if _, taken := svcAt[at]; taken {
				what := "a Service of the main branch"
				if o, ok := owner[at]; ok {
					what = "the preview of " + o
				}
				errs = append(errs, fmt.Sprintf("%s/%s: its preview %s/%s is already %s", ps.Namespace, ps.Name, s.Namespace, s.Name, what))
				continue
			}
			owner[at] = ps.Namespace + "/" + ps.Name
			svcAt[at], ledgerAt[at] = len(tree.Services), len(ledgers)
			tree.Services, ledgers = append(tree.Services, s), append(ledgers, l)
			st.Services = append(st.Services, s.Namespace+"/"+s.Name)
		}
		st.Error = strings.Join(errs, "\n")
		sts = append(sts, st)
	}
	if len(owner) > 0 {
		slices.SortFunc(tree.Services, func(a, b *serving.Service) int {
			return cmp.Or(cmp.Compare(a.Namespace, b.Namespace), cmp.Compare(a.Name, b.Name))
		})
		slices.SortFunc(ledgers, func(a, b *serving.Ledger) int {
			return cmp.Or(cmp.Compare(a.Namespace, b.Namespace), cmp.Compare(a.Service, b.Service))
		})
	}
	d := &Desired{Tree: &tree, Ledgers: ledgers, At: main.At, Now: main.Now, Programmed: main.Programmed}
	if err := renderDelta(rendered, d); err != nil {
		for i := range sts {
			sts[i].Error = strings.TrimPrefix(sts[i].Error+"\n", "\n") + err.Error()
		}
		return main, sts
	}
	return d, sts
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
	s.Name = serving.ChildName(ps.Name, "-"+pv.Tag)
	s.Namespace = namespace
	s.Labels, s.Annotations = maps.Clone(ps.Labels), maps.Clone(ps.Annotations)
	s.Spec.Template = *ps.Spec.Template.DeepCopy()
	s.Spec.Template.Name = previewRevision(ps.Name, pv.Tag, serving.HashTemplate(&ps.Spec.Template))
	markPreview(&s.Spec.Template, pv.Tag)
	latest, all := true, int64(100)
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
	zero := int64(0)
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
		name = serving.ChildName(service+"-"+tag, "-"+sanitizeLabel(h, 7))
	}
	return name
}

// OpenPreview reads one preview ref of the repository main follows, with
// main's URL and credentials: a branch is followed as such, any other ref
// (refs/pull/<n>/head) by its name. Previews keep their objects in memory
// and never write back.
func OpenPreview(main git.Config, ref, hash string) (Fetcher, error) {
	cfg := git.Config{URL: main.URL, Auth: main.Auth, Timeout: main.Timeout, Verify: main.Verify}
	if b, ok := strings.CutPrefix(ref, "refs/heads/"); ok {
		cfg.Ref.Branch = b
	} else {
		cfg.Ref.Name = ref
	}
	return git.New(cfg)
}
