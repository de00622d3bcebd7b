package serving

import (
	"fmt"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/util/validation"

	"github.com/ebb-dev/ebb/serving/config"
)

// validateVolumes checks a pod spec's volumes as Knative's
// ValidateVolumes does (every volume mounted, names unique, sources
// allowed by config-features) and returns them by name.
func validateVolumes(vs []corev1.Volume, mounted map[string]bool, f *config.Features) (map[string]corev1.Volume, kerrs) {
	volumes := make(map[string]corev1.Volume, len(vs))
	var errs kerrs
	for i := range vs {
		v := &vs[i]
		if _, dup := volumes[v.Name]; dup {
			errs = errs.also(errAt(fmt.Sprintf("duplicate volume name %q", v.Name), "name").viaIndex(i))
		}
		if !mounted[v.Name] {
			errs = errs.also(errAt(fmt.Sprintf("volume with name %q not mounted", v.Name), "name").viaIndex(i))
		}
		errs = errs.also(validateVolume(v, f).viaIndex(i))
		volumes[v.Name] = *v
	}
	return volumes, errs
}

// gatedVolumes are the volume sources a config-features flag must enable
// (Enabled, not only Allowed), with Knative's name for them.
var gatedVolumes = []struct {
	feature, kind, field string
	set                  func(*corev1.VolumeSource) bool
}{
	{config.FeaturePodSpecVolumesImage, "Image", "image", func(s *corev1.VolumeSource) bool { return s.Image != nil }},
	{config.FeaturePodSpecEmptyDir, "EmptyDir", "emptyDir", func(s *corev1.VolumeSource) bool { return s.EmptyDir != nil }},
	{config.FeaturePodSpecHostPath, "HostPath", "hostPath", func(s *corev1.VolumeSource) bool { return s.HostPath != nil }},
	{config.FeaturePodSpecVolumesCSI, "CSI", "csi", func(s *corev1.VolumeSource) bool { return s.CSI != nil }},
}

func validateVolume(v *corev1.Volume, f *config.Features) kerrs {
	vs := &v.VolumeSource
	var errs kerrs
	if pvc := vs.PersistentVolumeClaim; pvc != nil {
		if !f.IsEnabled(config.FeaturePodSpecPVC) {
			errs = errs.also(errNear("persistentVolumeClaim", "Persistent volume claim support is disabled, but found persistent volume claim %s", pvc.ClaimName))
		}
		if !pvc.ReadOnly && !f.IsEnabled(config.FeaturePodSpecPVWrite) {
			errs = errs.also(errNear("persistentVolumeClaim", "Persistent volume write support is disabled, but found persistent volume claim %s that is not read-only", pvc.ClaimName))
		}
	}
	for _, g := range gatedVolumes {
		if g.set(vs) && !f.IsEnabled(g.feature) {
			errs = errs.also(errNear(g.field, "%s volume support is disabled, but found %s volume %s", g.kind, g.kind, v.Name))
		}
	}
	// Knative replaces what was found so far when the name is wrong.
	if v.Name == "" {
		errs = errMissing("name")
	} else if len(validation.IsDNS1123Label(v.Name)) != 0 {
		errs = errInvalid(v.Name, "name")
	}
	errs = errs.also(disallowed(*vs, volumeSourceMask(vs, f)))
	var specified []string
	if vs.Secret != nil {
		specified = append(specified, "secret")
		for i := range vs.Secret.Items {
			errs = errs.also(validateKeyToPath(&vs.Secret.Items[i]).viaFieldIndex("items", i))
		}
	}
	if vs.ConfigMap != nil {
		specified = append(specified, "configMap")
		for i := range vs.ConfigMap.Items {
			errs = errs.also(validateKeyToPath(&vs.ConfigMap.Items[i]).viaFieldIndex("items", i))
		}
	}
	if vs.Projected != nil {
		specified = append(specified, "projected")
		for i := range vs.Projected.Sources {
			errs = errs.also(validateProjection(&vs.Projected.Sources[i]).viaFieldIndex("projected", i))
		}
	}
	if vs.EmptyDir != nil {
		specified = append(specified, "emptyDir")
		errs = errs.also(validateEmptyDir(vs.EmptyDir).via("emptyDir"))
	}
	for _, s := range []struct {
		set  bool
		name string
	}{{vs.PersistentVolumeClaim != nil, "persistentVolumeClaim"}, {vs.HostPath != nil, "hostPath"}, {vs.CSI != nil, "csi"}} {
		if s.set {
			specified = append(specified, s.name)
		}
	}
	if vs.Image != nil {
		specified = append(specified, "image")
		errs = errs.also(validateImageVolume(vs.Image).via("image"))
	}
	switch {
	case len(specified) == 0:
		paths := []string{"secret", "configMap", "projected"}
		for _, o := range []struct{ feature, field string }{
			{config.FeaturePodSpecEmptyDir, "emptyDir"}, {config.FeaturePodSpecPVC, "persistentVolumeClaim"},
			{config.FeaturePodSpecHostPath, "hostPath"}, {config.FeaturePodSpecVolumesCSI, "csi"},
			{config.FeaturePodSpecVolumesImage, "image"},
		} {
			if f.IsEnabled(o.feature) {
				paths = append(paths, o.field)
			}
		}
		errs = errs.also(errMissingOneOf(paths...))
	case len(specified) > 1:
		errs = errs.also(errMultipleOneOf(specified...))
	}
	return errs
}

func validateProjection(p *corev1.VolumeProjection) kerrs {
	errs := disallowed(*p, volumeProjectionMask(p))
	var specified []string
	if s := p.Secret; s != nil {
		specified = append(specified, "secret")
		errs = errs.also(validateProjectedItems(s.Name, s.Items).via("secret"))
	}
	if c := p.ConfigMap; c != nil {
		specified = append(specified, "configMap")
		errs = errs.also(validateProjectedItems(c.Name, c.Items).via("configMap"))
	}
	if t := p.ServiceAccountToken; t != nil {
		specified = append(specified, "serviceAccountToken")
		if t.Path == "" {
			errs = errs.also(errMissing("path").via("serviceAccountToken"))
		}
	}
	if d := p.DownwardAPI; d != nil {
		specified = append(specified, "downwardAPI")
		for i := range d.Items {
			errs = errs.also(validateDownwardAPIFile(&d.Items[i]).viaFieldIndex("items", i).via("downwardAPI"))
		}
	}
	switch {
	case len(specified) == 0:
		errs = errs.also(errMissingOneOf("secret", "configMap", "serviceAccountToken", "downwardAPI"))
	case len(specified) > 1:
		errs = errs.also(errMultipleOneOf(specified...))
	}
	return errs
}

// validateProjectedItems checks a projected secret or config map.
func validateProjectedItems(name string, items []corev1.KeyToPath) kerrs {
	var errs kerrs
	if name == "" {
		errs = errMissing("name")
	}
	for i := range items {
		errs = errs.also(validateKeyToPath(&items[i]).viaFieldIndex("items", i))
	}
	return errs
}

func validateDownwardAPIFile(f *corev1.DownwardAPIVolumeFile) kerrs {
	var errs kerrs
	switch {
	case f.FieldRef == nil && f.ResourceFieldRef == nil:
		errs = errMissingOneOf("fieldRef", "resourceFieldRef")
	case f.FieldRef != nil && f.ResourceFieldRef != nil:
		errs = errAt("Within a single item, cannot set both", "resourceFieldRef", "fieldRef")
	}
	if f.Path == "" {
		errs = errs.also(errMissing("path"))
	}
	return errs
}

func validateKeyToPath(k *corev1.KeyToPath) kerrs {
	var errs kerrs
	if k.Key == "" {
		errs = errMissing("key")
	}
	if k.Path == "" {
		errs = errs.also(errMissing("path"))
	}
	return errs
}

func validateEmptyDir(d *corev1.EmptyDirVolumeSource) kerrs {
	var errs kerrs
	if d.Medium != "" && d.Medium != corev1.StorageMediumMemory {
		errs = errInvalid(d.Medium, "medium")
	}
	if d.SizeLimit != nil && d.SizeLimit.Value() < 0 {
		errs = errs.also(errInvalid(d.SizeLimit, "sizeLimit"))
	}
	return errs
}

func validateImageVolume(iv *corev1.ImageVolumeSource) kerrs {
	var errs kerrs
	if iv.Reference == "" {
		errs = errMissing("reference")
	}
	switch iv.PullPolicy {
	case corev1.PullIfNotPresent, corev1.PullAlways, corev1.PullNever, "":
	default:
		errs = errs.also(errInvalid(iv.PullPolicy, "pullPolicy"))
	}
	return errs
}
