package serving

import (
	"fmt"
	"strings"
	"time"

	"k8s.io/apimachinery/pkg/util/validation"

	"github.com/ebb-dev/ebb/scaler/autoscaling"
	"github.com/ebb-dev/ebb/serving/canary"
	"github.com/ebb-dev/ebb/serving/config"
	"github.com/ebb-dev/ebb/serving/traffic"
)

// Annotations ebb reads on a Service.
const (
	RolloutDurationAnnotation       = "serving.knative.dev/rollout-duration"
	RolloutDurationAnnotationLegacy = "serving.knative.dev/rolloutDuration"
)

// Reserved names and ports (Knative's).
var (
	reservedEnv        = []string{"PORT", "K_SERVICE", "K_CONFIGURATION", "K_REVISION"}
	reservedPorts      = []int32{8012, 8013, 8022, 8112, 9090, 9091, 8008}
	reservedMountPaths = []string{"/", "/dev", "/dev/log"}
)

// ReservedContainerName is the queue-proxy sidecar's name.
const ReservedContainerName = "queue-proxy"

// KoPrefix marks an image that is a Go import path to build, as ko does.
const KoPrefix = "ko://"

// checkImportPath says why p is not a Go import path the go command would
// take as a package (Go's own rules: slash-separated elements of ASCII
// letters, digits and -._~+, none empty, none made only of dots, none
// ending in a dot, the first not starting with a dash), "" when it is.
// A ko:// image is built with go list and go build: this keeps flags,
// absolute paths and .. out of their arguments.
func checkImportPath(p string) string {
	switch {
	case p == "":
		return "missing import path"
	case strings.HasPrefix(p, "-"):
		return `an import path cannot start with "-"`
	case strings.HasPrefix(p, "/"):
		return "an import path cannot be absolute"
	}
	for _, elem := range strings.Split(p, "/") {
		switch {
		case elem == "":
			return "empty path element"
		case strings.Trim(elem, ".") == "":
			return fmt.Sprintf("path element %q", elem)
		case strings.HasSuffix(elem, "."):
			return fmt.Sprintf("path element %q ends in a dot", elem)
		}
		for _, r := range elem {
			if !(r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || strings.ContainsRune("-._~+", r)) {
				return fmt.Sprintf("character %q is not allowed in an import path", r)
			}
		}
	}
	return ""
}

// errs collects FieldErrors with paths relative to an object.
type errs []*FieldError

func (e *errs) add(path, format string, args ...any) {
	*e = append(*e, &FieldError{Path: path, Message: fmt.Sprintf(format, args...)})
}

// ValidateService checks a Service as Knative's webhook does. Paths are
// relative to the object; the loader adds file and line.
func ValidateService(s *Service, cfg *config.Config) []*FieldError {
	var e errs
	validateName(&e, s.Name, "metadata.name")
	if s.GenerateName != "" {
		e.add("metadata.generateName", "must not set the field(s)")
	}
	for _, ae := range autoscaling.ValidateNoAutoscalingAnnotations(s.Annotations) {
		e.add("metadata.annotations."+ae.Key, "%s", ae.Message)
	}
	validateRolloutDuration(&e, s.Annotations)
	validateAnalysis(&e, s.Annotations, cfg)
	validateTemplate(&e, s, cfg)
	validateTraffic(&e, s.Spec.Traffic)
	return e
}

func validateName(e *errs, name, path string) {
	if name == "" {
		e.add(path, "missing field(s)")
		return
	}
	if msgs := validation.IsDNS1035Label(name); len(msgs) > 0 {
		e.add(path, "invalid value: not a DNS 1035 label: %v", msgs)
	}
}

func validateRolloutDuration(e *errs, a map[string]string) {
	key, v, ok := RolloutDurationAnnotation, "", false
	if v, ok = a[key]; !ok {
		key = RolloutDurationAnnotationLegacy
		v, ok = a[key]
	}
	if !ok {
		return
	}
	p := "metadata.annotations." + key
	d, err := time.ParseDuration(v)
	switch {
	case err != nil:
		e.add(p, "invalid value: %s", v)
	case d.Truncate(time.Second) != d:
		e.add(p, "rollout-duration=%s is not at second precision", v)
	case d < 0:
		e.add(p, "rollout-duration=%s must be positive", v)
	}
}

// validateAnalysis checks the canary.ebb.dev/ annotations.
func validateAnalysis(e *errs, a map[string]string, cfg *config.Config) {
	base := canary.Default()
	if cfg != nil && cfg.Rollout != nil {
		base = cfg.Rollout.Analysis
	}
	_, _, bad := canary.Parse(base, a, canary.AnnotationPrefix)
	for _, ke := range bad {
		e.add("metadata.annotations."+ke.Key, "%s", ke.Message)
	}
}

func validateTemplate(e *errs, s *Service, cfg *config.Config) {
	t := &s.Spec.Template
	if t.Name != "" {
		validateName(e, t.Name, "spec.template.metadata.name")
		if s.Name != "" && !strings.HasPrefix(t.Name, s.Name+"-") {
			e.add("spec.template.metadata.name", "%q must have prefix %q", t.Name, s.Name+"-")
		}
	}
	if t.GenerateName != "" {
		e.add("spec.template.metadata.generateName", "must not set the field(s)")
	}
	for _, ae := range autoscaling.ValidateAnnotations(cfg.Autoscaler, t.Annotations) {
		e.add("spec.template.metadata.annotations."+ae.Key, "%s", ae.Message)
	}
	// Knative's webhook validates what its defaulting left: so does ebb.
	dt := t.DeepCopy()
	DefaultTemplate(dt, s.ObjectMeta, cfg)
	validateRevisionSpec(e, &dt.Spec, cfg, "spec.template.spec")
}

// validateRevisionSpec checks a revision spec as Knative's webhook does
// after defaulting: the pod spec (validatePodSpec), timeoutSeconds and
// containerConcurrency. ebb also bounds responseStartTimeoutSeconds and
// idleTimeoutSeconds by timeoutSeconds, which Knative leaves unchecked.
func validateRevisionSpec(e *errs, rs *RevisionSpec, cfg *config.Config, p string) {
	d := cfg.Defaults
	validatePodSpec(&rs.PodSpec, cfg.Features).addTo(e, p)
	if cc := rs.ContainerConcurrency; cc != nil {
		lo := int64(0)
		if !d.AllowContainerConcurrencyZero {
			lo = 1
		}
		if *cc < lo || *cc > d.ContainerConcurrencyMaxLimit {
			e.add(p+".containerConcurrency", "expected %d <= %d <= %d", lo, *cc, d.ContainerConcurrencyMaxLimit)
		}
	}
	max := d.MaxRevisionTimeoutSeconds
	if ts := rs.TimeoutSeconds; ts != nil && *ts != 0 {
		if *ts < 0 || *ts > max {
			e.add(p+".timeoutSeconds", "expected 0 <= %d <= %d", *ts, max)
		} else {
			max = *ts
		}
	}
	for _, f := range []struct {
		v    *int64
		name string
	}{{rs.ResponseStartTimeoutSeconds, "responseStartTimeoutSeconds"}, {rs.IdleTimeoutSeconds, "idleTimeoutSeconds"}} {
		if f.v != nil && (*f.v < 0 || *f.v > max) {
			e.add(p+"."+f.name, "expected 0 <= %d <= %d", *f.v, max)
		}
	}
}

// validateTraffic checks spec.traffic of a Service (§2.2 messages).
func validateTraffic(e *errs, targets []TrafficTarget) {
	if len(targets) == 0 {
		return
	}
	var sum traffic.Percent
	tags := map[string]int{}
	for i, t := range targets {
		p := fmt.Sprintf("spec.traffic[%d]", i)
		if t.Tag != "" {
			if msgs := validation.IsDNS1035Label(t.Tag); len(msgs) > 0 {
				e.add(p+".tag", "invalid value: not a DNS 1035 label: %v", msgs)
			}
			if j, dup := tags[t.Tag]; dup {
				e.add(fmt.Sprintf("spec.traffic[%d].tag, spec.traffic[%d].tag", j, i), "Multiple definitions for %q", t.Tag)
			} else {
				tags[t.Tag] = i
			}
		}
		if t.ConfigurationName != "" {
			e.add(p+".configurationName", "must not set the field(s)")
		}
		if t.URL != "" {
			e.add(p+".url", "must not set the field(s)")
		}
		if t.LatestRevision != nil && *t.LatestRevision != (t.RevisionName == "") {
			e.add(p+".latestRevision", "may not set revisionName %q when latestRevision is %t", t.RevisionName, *t.LatestRevision)
		}
		if t.RevisionName != "" {
			if msgs := validation.IsQualifiedName(t.RevisionName); len(msgs) > 0 {
				e.add(p+".revisionName", "invalid key name %q", t.RevisionName)
			}
		}
		if t.Percent != nil {
			if !t.Percent.Valid() {
				e.add(p+".percent", "expected 0 <= %d <= 100", *t.Percent)
			}
			sum += *t.Percent
		}
	}
	if sum != 100 {
		e.add("spec.traffic", "Traffic targets sum to %d, want 100", sum)
	}
}

// ValidateDomainMapping checks a DomainMapping. services holds the
// namespace/name of every Service of the tree.
func ValidateDomainMapping(dm *DomainMapping, cfg *config.Config, services map[string]bool) []*FieldError {
	var e errs
	if dm.GenerateName != "" {
		e.add("metadata.generateName", "must not set the field(s)")
	}
	if msgs := validation.IsFullyQualifiedDomainName(nil, dm.Name); len(msgs) > 0 {
		e.add("metadata.name", "invalid value: %s: %s", dm.Name, msgs.ToAggregate().Error())
	} else if cd := cfg.Network.ClusterDomain; dm.Name == cd || strings.HasSuffix(dm.Name, "."+cd) {
		e.add("metadata.name", "invalid value: %s: must not be a subdomain of cluster local domain %q", dm.Name, cd)
	}
	ref := dm.Spec.Ref
	switch {
	case ref.Name == "":
		e.add("spec.ref.name", "missing field(s)")
	case ref.Kind != KindService || (ref.APIVersion != "" && ref.APIVersion != Group+"/"+VersionV1):
		e.add("spec.ref", "unsupported reference %s %s: ebb maps domains onto %s/%s Services", ref.APIVersion, ref.Kind, Group, VersionV1)
	case ref.Namespace != "" && ref.Namespace != dm.Namespace:
		e.add("spec.ref.namespace", "mismatched namespaces: %q, want %q (the DomainMapping's)", ref.Namespace, dm.Namespace)
	case !services[dm.Namespace+"/"+ref.Name]:
		e.add("spec.ref.name", "Service %q referenced by the DomainMapping not found.", ref.Name)
	}
	if dm.Spec.TLS != nil && dm.Spec.TLS.SecretName == "" {
		e.add("spec.tls.secretName", "missing field(s)")
	}
	return e
}

// validate checks every Service and DomainMapping of the tree.
func (l *loader) validate() {
	t := l.tree
	services := map[string]bool{}
	for _, s := range t.Services {
		services[s.Namespace+"/"+s.Name] = true
		src := t.Sources[ServiceRef(s.Namespace, s.Name)]
		for _, fe := range ValidateService(s, t.Config) {
			l.located(src, fe)
		}
		for _, e := range t.earlier[s] {
			for _, fe := range ValidateService(e.svc, t.Config) {
				l.located(e.src, fe)
			}
		}
	}
	for _, dm := range t.DomainMappings {
		src := t.Sources[ObjectRef{Group: Group, Kind: KindDomainMapping, Namespace: dm.Namespace, Name: dm.Name}]
		for _, fe := range ValidateDomainMapping(dm, t.Config, services) {
			l.located(src, fe)
		}
	}
}

func (l *loader) located(src Source, fe *FieldError) {
	fe.File, fe.Line = src.File, src.LineOf(fe.where())
	l.errs = append(l.errs, fe)
}
