package serving

import (
	"fmt"
	"math"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/util/validation"

	"github.com/ebb-dev/ebb/serving/config"
)

// Knative's bounds of user and group ids.
const maxID = math.MaxInt32

// validatePodSpec checks a revision's (defaulted) pod spec as Knative's
// serving.ValidatePodSpec does, with its messages and paths, relative to
// the pod spec.
func validatePodSpec(ps *corev1.PodSpec, f *config.Features) kerrs {
	errs := disallowed(*ps, podSpecMask(ps, f))
	errs = errs.also(validatePodSecurityContext(ps.SecurityContext, f).via("securityContext"))

	mounted := map[string]bool{}
	for _, cs := range [][]corev1.Container{ps.InitContainers, ps.Containers} {
		for _, c := range cs {
			for _, m := range c.VolumeMounts {
				mounted[m.Name] = true
			}
		}
	}
	volumes, verrs := validateVolumes(ps.Volumes, mounted, f)
	errs = errs.also(verrs.via("volumes"))
	errs = errs.also(validateInitContainers(ps.InitContainers, ps.Containers, volumes, f))

	port, perrs := validateContainersPorts(ps.Containers)
	errs = errs.also(perrs.via("containers[*]"))
	switch len(ps.Containers) {
	case 0:
		errs = errs.also(errMissing("containers"))
	case 1:
		errs = errs.also(validateUserContainer(&ps.Containers[0], volumes, port, f).viaFieldIndex("containers", 0))
	default:
		errs = errs.also(validateContainers(ps.Containers, volumes, port, f))
	}
	if ps.ServiceAccountName != "" {
		for _, msg := range validation.IsDNS1123Subdomain(ps.ServiceAccountName) {
			errs = errs.also(errInvalid(ps.ServiceAccountName, "serviceAccountName", msg))
		}
	}
	return errs
}

func validateInitContainers(cs, others []corev1.Container, volumes map[string]corev1.Volume, f *config.Features) kerrs {
	if len(cs) == 0 {
		return nil
	}
	if !f.IsEnabled(config.FeaturePodSpecInitContainers) {
		return errNear("initContainers", "pod spec support for init-containers is off, but found %d init containers", len(cs))
	}
	names := map[string]bool{}
	for _, c := range others {
		names[c.Name] = true
	}
	var errs kerrs
	for i := range cs {
		if names[cs[i].Name] {
			errs = errs.also(errAt(fmt.Sprintf("duplicate container name %q", cs[i].Name), "name")).viaFieldIndex("containers", i)
		}
		errs = errs.also(validateInitContainer(&cs[i], volumes, f).viaFieldIndex("containers", i))
	}
	return errs
}

func validateContainers(cs []corev1.Container, volumes map[string]corev1.Volume, port corev1.ContainerPort, f *config.Features) kerrs {
	if !f.IsEnabled(config.FeatureMultiContainer) {
		return errNear("containers", "multi-container is off, but found %d containers", len(cs))
	}
	names := map[string]bool{}
	var errs kerrs
	for i := range cs {
		if names[cs[i].Name] {
			// Knative prefixes the errors found so far too.
			errs = errs.also(errAt(fmt.Sprintf("duplicate container name %q", cs[i].Name), "name")).viaFieldIndex("containers", i)
		} else {
			names[cs[i].Name] = true
		}
		if len(cs[i].Ports) == 0 {
			errs = errs.also(validateSidecarContainer(&cs[i], volumes, f).viaFieldIndex("containers", i))
		} else {
			errs = errs.also(validateUserContainer(&cs[i], volumes, port, f).viaFieldIndex("containers", i))
		}
	}
	return errs
}

// validateContainersPorts checks that one container port at most is set
// across the containers, and returns it (Knative's defaults filled in).
func validateContainersPorts(cs []corev1.Container) (corev1.ContainerPort, kerrs) {
	count := 0
	var port corev1.ContainerPort
	for i := range cs {
		if n := len(cs[i].Ports); n > 0 {
			count += n
			port = cs[i].Ports[0]
		}
	}
	if port.Name == "" {
		port.Name = "http"
	}
	if port.ContainerPort == 0 {
		port.ContainerPort = DefaultUserPort
	}
	switch {
	case count == 0 && len(cs) > 1:
		return port, errMissing("ports")
	case count > 1:
		return port, kerrs{{message: "more than one container port is set", paths: []string{"ports"},
			details: "Only a single port is allowed across all containers"}}
	}
	return port, nil
}

func validateSidecarContainer(c *corev1.Container, volumes map[string]corev1.Volume, f *config.Features) kerrs {
	var errs kerrs
	if !f.IsEnabled(config.FeatureMultiContainerProbing) {
		if c.LivenessProbe != nil {
			errs = errs.also(disallowed(*c.LivenessProbe, corev1.Probe{}).via("livenessProbe"))
		}
		if c.ReadinessProbe != nil {
			errs = errs.also(disallowed(*c.ReadinessProbe, corev1.Probe{}).via("readinessProbe"))
		}
	} else {
		errs = errs.also(validateProbe(c.LivenessProbe, nil, false).via("livenessProbe"))
		errs = errs.also(validateReadinessProbe(c.ReadinessProbe, nil, false).via("readinessProbe"))
	}
	return errs.also(validateContainer(c, volumes, sidecarContainer, f))
}

func validateInitContainer(c *corev1.Container, volumes map[string]corev1.Volume, f *config.Features) kerrs {
	var errs kerrs
	for _, x := range []struct {
		set  bool
		name string
	}{
		{c.LivenessProbe != nil, "livenessProbe"},
		{c.ReadinessProbe != nil, "readinessProbe"},
		{c.StartupProbe != nil, "startupProbe"},
		{c.Lifecycle != nil, "lifecycle"},
	} {
		if x.set {
			errs = errs.also(errAt("field not allowed in an init container", x.name))
		}
	}
	return errs.also(validateContainer(c, volumes, initContainer, f))
}

func validateUserContainer(c *corev1.Container, volumes map[string]corev1.Volume, port corev1.ContainerPort, f *config.Features) kerrs {
	errs := validateProbe(c.LivenessProbe, &port, true).via("livenessProbe")
	errs = errs.also(validateReadinessProbe(c.ReadinessProbe, &port, true).via("readinessProbe"))
	return errs.also(validateContainer(c, volumes, userContainer, f))
}

func validatePodSecurityContext(sc *corev1.PodSecurityContext, f *config.Features) kerrs {
	if sc == nil {
		return nil
	}
	errs := disallowed(*sc, podSecurityContextMask(sc, f))
	errs = errs.also(idBounds(sc.RunAsUser, "runAsUser"), idBounds(sc.RunAsGroup, "runAsGroup"), idBounds(sc.FSGroup, "fsGroup"))
	for i, gid := range sc.SupplementalGroups {
		if gid < 0 || gid > maxID {
			errs = errs.also(errBounds(gid, 0, maxID, "").viaFieldIndex("supplementalGroups", i))
		}
	}
	return errs
}

// idBounds checks a user or group id.
func idBounds(id *int64, path string) kerrs {
	if id == nil || (*id >= 0 && *id <= maxID) {
		return nil
	}
	return errBounds(*id, 0, maxID, path)
}
