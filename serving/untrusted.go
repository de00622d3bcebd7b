package serving

import (
	"fmt"
	"slices"
	"strings"

	corev1 "k8s.io/api/core/v1"
)

// Untrusted is what a revision planned from an untrusted ref (a preview
// of a branch or pull request) may use, beyond what Knative allows any
// revision: no identity, no secrets, no host access, no privileges, and
// only images that match Images.
type Untrusted struct {
	// Images are the patterns an image must match, where '*' matches
	// any run of characters ("registry.example.com/team/*", "ko://*").
	Images []string
}

// UntrustedMessage ends the message of every field an untrusted revision
// may not set.
const UntrustedMessage = "must not set the field(s) in a preview"

// ValidateUntrusted returns the fields of s's template that u does not
// allow, with paths relative to s (the loader's Locate fills in file and
// line).
func ValidateUntrusted(s *Service, u Untrusted) []*FieldError {
	var e errs
	p := "spec.template.spec"
	rs := &s.Spec.Template.Spec
	for _, f := range []struct {
		set  bool
		name string
	}{
		{rs.ServiceAccountName != "", "serviceAccountName"},
		{rs.DeprecatedServiceAccount != "", "serviceAccount"},
		{rs.AutomountServiceAccountToken != nil && *rs.AutomountServiceAccountToken, "automountServiceAccountToken"},
		{rs.HostNetwork, "hostNetwork"},
		{rs.HostPID, "hostPID"},
		{rs.HostIPC, "hostIPC"},
		{rs.HostUsers != nil && *rs.HostUsers, "hostUsers"},
		{len(rs.ImagePullSecrets) > 0, "imagePullSecrets"},
		{rs.SecurityContext != nil && len(rs.SecurityContext.Sysctls) > 0, "securityContext.sysctls"},
		{rs.SecurityContext != nil && hostProcess(rs.SecurityContext.WindowsOptions), "securityContext.windowsOptions.hostProcess"},
	} {
		if f.set {
			e.add(p+"."+f.name, UntrustedMessage)
		}
	}
	for i, v := range rs.Volumes {
		vp := fmt.Sprintf("%s.volumes[%d]", p, i)
		switch {
		case v.HostPath != nil:
			e.add(vp+".hostPath", UntrustedMessage)
		case v.Secret != nil:
			e.add(vp+".secret", UntrustedMessage)
		case v.Projected != nil:
			for j, src := range v.Projected.Sources {
				sp := fmt.Sprintf("%s.projected.sources[%d]", vp, j)
				if src.Secret != nil {
					e.add(sp+".secret", UntrustedMessage)
				}
				if src.ServiceAccountToken != nil {
					e.add(sp+".serviceAccountToken", UntrustedMessage)
				}
			}
		}
	}
	for i := range rs.Containers {
		untrustedContainer(&e, &rs.Containers[i], u, fmt.Sprintf("%s.containers[%d]", p, i))
	}
	for i := range rs.InitContainers {
		untrustedContainer(&e, &rs.InitContainers[i], u, fmt.Sprintf("%s.initContainers[%d]", p, i))
	}
	for _, fe := range e {
		fe.Object = ServiceRef(s.Namespace, s.Name)
	}
	return e
}

func hostProcess(w *corev1.WindowsSecurityContextOptions) bool {
	return w != nil && w.HostProcess != nil && *w.HostProcess
}

func untrustedContainer(e *errs, c *corev1.Container, u Untrusted, p string) {
	if c.Image != "" && !slices.ContainsFunc(u.Images, func(pat string) bool { return MatchImage(pat, c.Image) }) {
		allowed := "none"
		if len(u.Images) > 0 {
			allowed = strings.Join(u.Images, ", ")
		}
		e.add(p+".image", "image %q is not allowed in a preview (allowed: %s)", c.Image, allowed)
	}
	for i, env := range c.Env {
		if env.ValueFrom != nil && env.ValueFrom.SecretKeyRef != nil {
			e.add(fmt.Sprintf("%s.env[%d].valueFrom.secretKeyRef", p, i), UntrustedMessage)
		}
	}
	for i, from := range c.EnvFrom {
		if from.SecretRef != nil {
			e.add(fmt.Sprintf("%s.envFrom[%d].secretRef", p, i), UntrustedMessage)
		}
	}
	for i, port := range c.Ports {
		if port.HostPort != 0 || port.HostIP != "" {
			e.add(fmt.Sprintf("%s.ports[%d].hostPort", p, i), UntrustedMessage)
		}
	}
	sc := c.SecurityContext
	if sc == nil {
		return
	}
	sp := p + ".securityContext"
	if sc.Privileged != nil && *sc.Privileged {
		e.add(sp+".privileged", UntrustedMessage)
	}
	if sc.AllowPrivilegeEscalation != nil && *sc.AllowPrivilegeEscalation {
		e.add(sp+".allowPrivilegeEscalation", UntrustedMessage)
	}
	if sc.Capabilities != nil && len(sc.Capabilities.Add) > 0 {
		e.add(sp+".capabilities.add", UntrustedMessage)
	}
	if sc.ProcMount != nil && *sc.ProcMount != corev1.DefaultProcMount {
		e.add(sp+".procMount", UntrustedMessage)
	}
	if hostProcess(sc.WindowsOptions) {
		e.add(sp+".windowsOptions.hostProcess", UntrustedMessage)
	}
}

// MatchImage reports whether image matches pattern, where '*' matches any
// run of characters, '/' and ':' included, and everything else itself.
func MatchImage(pattern, image string) bool {
	parts := strings.Split(pattern, "*")
	if len(parts) == 1 {
		return pattern == image
	}
	if !strings.HasPrefix(image, parts[0]) {
		return false
	}
	rest := image[len(parts[0]):]
	last := parts[len(parts)-1]
	for _, mid := range parts[1 : len(parts)-1] {
		i := strings.Index(rest, mid)
		if i < 0 {
			return false
		}
		rest = rest[i+len(mid):]
	}
	return len(rest) >= len(last) && strings.HasSuffix(rest, last)
}

// PreviewLabel marks the template (and so the pods) of a preview's
// revision, with the preview's tag as its value: those pods run with no
// ServiceAccount token, and locally as another user where ebb can.
const PreviewLabel = "ebb.dev/preview"
