package serving

import (
	"fmt"
	"path"
	"reflect"
	"slices"
	"strings"

	corev1 "k8s.io/api/core/v1"

	"github.com/ebb-dev/ebb/serving/config"
)

// containerKind is what a container is to the revision: the one that
// serves, a sidecar, or an init container.
type containerKind int

const (
	userContainer containerKind = iota
	sidecarContainer
	initContainer
)

// validateContainer checks a container as Knative's validate does, plus
// ebb's ko:// images, relative to the container.
func validateContainer(c *corev1.Container, volumes map[string]corev1.Volume, kind containerKind, f *config.Features) kerrs {
	if reflect.DeepEqual(*c, corev1.Container{}) {
		return errMissing("")
	}
	errs := disallowed(*c, containerMask(c))
	if c.Name == ReservedContainerName {
		errs = errs.also(errAt(fmt.Sprintf("%q is a reserved container name", c.Name), "name"))
	}
	errs = errs.also(validateEnv(c.Env, kind, f).via("env"))
	errs = errs.also(validateEnvFrom(c.EnvFrom).via("envFrom"))
	errs = errs.also(validateImage(c.Image))
	if kind == initContainer {
		for i := range c.Ports {
			errs = errs.also(validateContainerPortBasic(&c.Ports[i]).via("ports"))
		}
	} else {
		errs = errs.also(validateContainerPorts(c.Ports).via("ports"))
	}
	errs = errs.also(disallowed(c.Resources, resourceRequirementsMask(&c.Resources)).via("resources"))
	errs = errs.also(validateSecurityContext(c.SecurityContext, f).via("securityContext"))
	switch c.TerminationMessagePolicy {
	case corev1.TerminationMessageReadFile, corev1.TerminationMessageFallbackToLogsOnError, "":
	default:
		errs = errs.also(errInvalid(c.TerminationMessagePolicy, "terminationMessagePolicy"))
	}
	return errs.also(validateVolumeMounts(c.VolumeMounts, volumes, f).via("volumeMounts"))
}

// validateImage checks an image: a reference Knative can resolve, or a Go
// import path to build (ko://).
func validateImage(image string) kerrs {
	if image == "" {
		return errMissing("image")
	}
	if ip, ok := strings.CutPrefix(image, KoPrefix); ok {
		if why := checkImportPath(ip); why != "" {
			return errInvalid(image+": "+why, "image")
		}
		return nil
	}
	if err := checkImageReference(image); err != nil {
		return kerrs{{message: "Failed to parse image reference", paths: []string{"image"},
			details: fmt.Sprintf("image: %q, error: %v", image, err)}}
	}
	return nil
}

func validateEnv(env []corev1.EnvVar, kind containerKind, f *config.Features) kerrs {
	var errs kerrs
	for i := range env {
		e := &env[i]
		var ee kerrs
		switch {
		case e.Name == "":
			ee = errMissing("name")
		case slices.Contains(reservedEnv, e.Name) && (kind == userContainer || e.Name != "PORT"):
			ee = errAt(fmt.Sprintf("%q is a reserved environment variable", e.Name), "name")
		}
		if e.ValueFrom != nil {
			fieldRef := on(f, config.FeaturePodSpecFieldRef)
			ee = ee.also(disallowed(*e.ValueFrom, envVarSourceMask(e.ValueFrom, fieldRef)).via("valueFrom"))
		}
		errs = errs.also(ee.viaIndex(i))
	}
	return errs
}

// validateEnvFrom keeps a quirk of Knative's: a secretRef or
// configMapRef re-prefixes the errors found so far.
func validateEnvFrom(list []corev1.EnvFromSource) kerrs {
	var errs kerrs
	for i := range list {
		cm, sm := list[i].ConfigMapRef, list[i].SecretRef
		if sm != nil {
			errs = errs.viaIndex(i).via("secretRef")
		}
		if cm != nil {
			errs = errs.viaIndex(i).via("configMapRef")
		}
		switch {
		case cm != nil && sm != nil:
			errs = errs.also(errMultipleOneOf("configMapRef", "secretRef"))
		case cm == nil && sm == nil:
			errs = errs.also(errMissingOneOf("configMapRef", "secretRef"))
		}
	}
	return errs
}

func validateContainerPorts(ports []corev1.ContainerPort) kerrs {
	if len(ports) == 0 {
		return nil
	}
	p := &ports[0]
	errs := validateContainerPortBasic(p)
	if p.Protocol != "" && p.Protocol != corev1.ProtocolTCP {
		errs = errs.also(errInvalid(p.Protocol, "protocol"))
	}
	switch p.Name {
	case "", "h2c", "http1":
	default:
		errs = errs.also(kerrs{{message: fmt.Sprintf("Port name %v is not allowed", p.Name), paths: []string{""},
			details: "Name must be empty, or one of: 'h2c', 'http1'"}})
	}
	return errs
}

func validateContainerPortBasic(p *corev1.ContainerPort) kerrs {
	errs := disallowed(*p, containerPortMask(p))
	if slices.Contains(reservedPorts, p.ContainerPort) {
		errs = errs.also(errInvalid(fmt.Sprintf("%d is a reserved port", p.ContainerPort), "containerPort",
			fmt.Sprintf("%d is a reserved port, please use a different value", p.ContainerPort)))
	}
	if p.ContainerPort < 0 || p.ContainerPort > 65535 {
		errs = errs.also(errBounds(p.ContainerPort, 0, 65535, "containerPort"))
	}
	return errs
}

func validateSecurityContext(sc *corev1.SecurityContext, f *config.Features) kerrs {
	if sc == nil {
		return nil
	}
	errs := disallowed(*sc, securityContextMask(sc))
	if caps := sc.Capabilities; caps != nil {
		errs = errs.also(disallowed(*caps, capabilitiesMask(caps, f)).via("capabilities"))
	}
	return errs.also(idBounds(sc.RunAsUser, "runAsUser"), idBounds(sc.RunAsGroup, "runAsGroup"))
}

func validateVolumeMounts(mounts []corev1.VolumeMount, volumes map[string]corev1.Volume, f *config.Features) kerrs {
	var errs kerrs
	seen := map[string]bool{}
	for i := range mounts {
		m := &mounts[i]
		me := disallowed(*m, volumeMountMask(m, f))
		v, ok := volumes[m.Name]
		if !ok {
			me = me.also(errAt("volumeMount has no matching volume", "name"))
		}
		clean := path.Clean(m.MountPath)
		switch {
		case m.MountPath == "":
			me = me.also(errMissing("mountPath"))
		case slices.Contains(reservedMountPaths, clean):
			me = me.also(errAt(fmt.Sprintf("mountPath %q is a reserved path", clean), "mountPath"))
		case !path.IsAbs(m.MountPath):
			me = me.also(errInvalid(m.MountPath, "mountPath"))
		case seen[clean]:
			me = me.also(errInvalid(fmt.Sprintf("%q must be unique", m.MountPath), "mountPath"))
		}
		seen[clean] = true
		if v.EmptyDir == nil && v.PersistentVolumeClaim == nil && !m.ReadOnly {
			me = me.also(errAt("volume mount should be readOnly for this type of volume", "readOnly"))
		}
		if mp := m.MountPropagation; mp != nil {
			if !f.IsEnabled(config.FeaturePodSpecMountPropagation) {
				me = me.also(errNear("mountPropagation", "Volume Mount Propagation support is disabled, but found volume mount %s with mount propagation", m.Name))
			}
			if *mp != corev1.MountPropagationNone && *mp != corev1.MountPropagationHostToContainer {
				me = me.also(errAt("mount propagation should be set to None or HostToContainer", "mountPropagation"))
			}
		}
		if pvc := v.PersistentVolumeClaim; pvc != nil && pvc.ReadOnly && !m.ReadOnly {
			me = me.also(errAt("volume is readOnly but volume mount is not", "readOnly"))
		}
		errs = errs.also(me.viaIndex(i))
	}
	return errs
}
