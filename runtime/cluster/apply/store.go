package apply

import (
	"context"
	"errors"
	"fmt"
	"regexp"
	"slices"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/types"
)

const (
	// InventoryPrefix starts the name of every inventory ConfigMap,
	// followed by the source's name.
	InventoryPrefix = "ebb-inventory-"
	// InventoryKey is the ConfigMap key holding the inventory's JSON.
	InventoryKey = "inventory.json"
	// InventoryLabel marks inventory ConfigMaps; its value is the source.
	InventoryLabel = "ebb.dev/inventory"
)

var (
	configMaps = schema.GroupVersionResource{Version: "v1", Resource: "configmaps"}
	namespaces = schema.GroupVersionResource{Version: "v1", Resource: "namespaces"}
)

// sourceName is what a source may be called: a DNS label, short enough to
// follow InventoryPrefix in a ConfigMap name and to be a label value.
var sourceName = regexp.MustCompile(`^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$`)

func checkSource(source string) error {
	if !sourceName.MatchString(source) {
		return fmt.Errorf("source %q: must be a DNS label (lowercase letters, digits and '-', at most 63)", source)
	}
	return nil
}

// stored is an inventory as read from the cluster.
type stored struct {
	// inv is the inventory: main and the pending entries.
	inv Inventory
	// main is the inventory ConfigMap's content; rv the ConfigMap's
	// resourceVersion.
	main   Inventory
	rv     string
	exists bool
	// pending are the entries of the pending ConfigMap: objects an apply
	// was about to create (see savePending).
	pending []Entry
}

// pendingName names the ConfigMap of a source's pending entries. Its
// prefix is not InventoryPrefix, so no source's inventory can share it.
func pendingName(source string) string { return "ebb-pending-" + source }

// load reads the source's inventory and its pending entries; a missing
// ConfigMap is an empty one. An inventory whose resourceVersion is that of
// the one this SSA last wrote is not read again: only its metadata is.
func (s *SSA) load(ctx context.Context, source string) (stored, error) {
	var st stored
	name := InventoryPrefix + source
	cms := s.own.dyn.Resource(configMaps).Namespace(s.opts.InventoryNamespace)
	if known, ok := s.known(source); ok {
		md, err := s.own.meta.Resource(configMaps).Namespace(s.opts.InventoryNamespace).Get(ctx, name, metav1.GetOptions{})
		switch {
		case apierrors.IsNotFound(err):
		case err != nil:
			return stored{}, fmt.Errorf("read inventory %s/%s: %w", s.opts.InventoryNamespace, name, err)
		case md.ResourceVersion == known.rv:
			st = stored{main: known.inv, rv: known.rv, exists: true}
		}
	}
	if !st.exists {
		cm, err := cms.Get(ctx, name, metav1.GetOptions{})
		switch {
		case apierrors.IsNotFound(err):
		case err != nil:
			return stored{}, fmt.Errorf("read inventory %s/%s: %w", s.opts.InventoryNamespace, name, err)
		default:
			raw, _, _ := unstructured.NestedString(cm.Object, "data", InventoryKey)
			main, err := ParseInventory([]byte(raw))
			if err != nil {
				return stored{}, fmt.Errorf("inventory %s/%s: %w", s.opts.InventoryNamespace, name, err)
			}
			st = stored{main: main, rv: cm.GetResourceVersion(), exists: true}
		}
	}
	cm, err := cms.Get(ctx, pendingName(source), metav1.GetOptions{})
	switch {
	case apierrors.IsNotFound(err):
	case err != nil:
		return stored{}, fmt.Errorf("read inventory %s/%s: %w", s.opts.InventoryNamespace, pendingName(source), err)
	default:
		raw, _, _ := unstructured.NestedString(cm.Object, "data", InventoryKey)
		p, err := ParseInventory([]byte(raw))
		if err != nil {
			return stored{}, fmt.Errorf("inventory %s/%s: %w", s.opts.InventoryNamespace, pendingName(source), err)
		}
		st.pending = p.Entries
	}
	st.inv = st.main
	if len(st.pending) > 0 {
		st.inv = st.main.Union(Inventory{Entries: st.pending})
	}
	return st, nil
}

// savePending records entries as pending: objects about to be created, so
// that an apply cut short still has them listed for pruning. They go to a
// small ConfigMap of their own, not into the inventory, which can be
// large; save folds them in.
func (s *SSA) savePending(ctx context.Context, source string, prev stored, entries []Entry) (stored, error) {
	p := NewInventory(append(slices.Clone(prev.pending), entries...)...)
	if _, err := s.write(ctx, pendingName(source), pendingLabel, source, string(p.Marshal())); err != nil {
		return prev, err
	}
	prev.pending = p.Entries
	prev.inv = prev.main.Union(p)
	return prev, nil
}

// save writes inv as the source's inventory unless the stored one has the
// same entries, creating the inventory namespace if needed, and then
// clears the pending entries. It returns what is stored now.
func (s *SSA) save(ctx context.Context, source string, prev stored, inv Inventory) (stored, error) {
	next := stored{inv: inv, main: inv, rv: prev.rv, exists: prev.exists}
	switch {
	case prev.exists && slices.Equal(prev.main.Entries, inv.Entries):
	case !prev.exists && len(inv.Entries) == 0:
	default:
		rv, err := s.write(ctx, InventoryPrefix+source, InventoryLabel, source, string(inv.Marshal()))
		if err != nil {
			return prev, err
		}
		next.rv, next.exists = rv, true
	}
	if len(prev.pending) > 0 {
		if err := s.deleteConfigMap(ctx, pendingName(source)); err != nil {
			// Still listed: the next load reads them again.
			next.pending = prev.pending
			next.inv = inv.Union(Inventory{Entries: prev.pending})
			return next, err
		}
	}
	return next, nil
}

// PartOfLabel: PartOf marks the Namespace ebb creates for its inventories,
// as the install labels its own: what the install's admission policy lets
// the controller write (manifests/admission.yaml).
const (
	PartOfLabel = "app.kubernetes.io/part-of"
	PartOf      = "ebb"
)

// pendingLabel marks pending ConfigMaps; its value is the source.
const pendingLabel = "ebb.dev/inventory-pending"

// write applies a ConfigMap holding one inventory's JSON, creating the
// inventory namespace if needed, and returns the ConfigMap's new
// resourceVersion. Only the metadata of the answer is read: an inventory
// can be hundreds of kilobytes.
func (s *SSA) write(ctx context.Context, name, label, source, raw string) (string, error) {
	cm := &unstructured.Unstructured{Object: map[string]any{
		"apiVersion": "v1",
		"kind":       "ConfigMap",
		"metadata": map[string]any{
			"name":      name,
			"namespace": s.opts.InventoryNamespace,
			"labels":    map[string]any{label: source},
		},
		"data": map[string]any{InventoryKey: raw},
	}}
	opts := metav1.ApplyOptions{FieldManager: s.opts.FieldManager, Force: true}
	rv, err := s.applyConfigMap(ctx, cm, opts)
	if apierrors.IsNotFound(err) {
		ns := &unstructured.Unstructured{Object: map[string]any{
			"apiVersion": "v1",
			"kind":       "Namespace",
			"metadata": map[string]any{"name": s.opts.InventoryNamespace,
				"labels": map[string]any{PartOfLabel: PartOf}},
		}}
		if _, err = s.own.dyn.Resource(namespaces).Apply(ctx, s.opts.InventoryNamespace, ns, opts); err == nil {
			rv, err = s.applyConfigMap(ctx, cm, opts)
		}
	}
	if err != nil {
		return "", fmt.Errorf("write inventory %s/%s: %w", s.opts.InventoryNamespace, name, err)
	}
	return rv, nil
}

// applyConfigMap applies cm and returns its resourceVersion, reading back
// only the metadata of the answer.
func (s *SSA) applyConfigMap(ctx context.Context, cm *unstructured.Unstructured, opts metav1.ApplyOptions) (string, error) {
	body, err := cm.MarshalJSON()
	if err != nil {
		return "", err
	}
	md, err := s.own.meta.Resource(configMaps).Namespace(s.opts.InventoryNamespace).Patch(ctx, cm.GetName(), types.ApplyPatchType, body,
		metav1.PatchOptions{FieldManager: opts.FieldManager, Force: &opts.Force})
	if err != nil {
		return "", err
	}
	return md.ResourceVersion, nil
}

func (s *SSA) deleteConfigMap(ctx context.Context, name string) error {
	err := s.own.dyn.Resource(configMaps).Namespace(s.opts.InventoryNamespace).Delete(ctx, name, metav1.DeleteOptions{})
	if err != nil && !apierrors.IsNotFound(err) {
		return fmt.Errorf("delete inventory %s/%s: %w", s.opts.InventoryNamespace, name, err)
	}
	return nil
}

// drop deletes the source's inventory and pending ConfigMaps.
func (s *SSA) drop(ctx context.Context, source string) error {
	return errors.Join(s.deleteConfigMap(ctx, pendingName(source)), s.deleteConfigMap(ctx, InventoryPrefix+source))
}

// Inventory returns what source has applied, as stored in the cluster.
func (s *SSA) Inventory(ctx context.Context, source string) (Inventory, error) {
	if err := checkSource(source); err != nil {
		return Inventory{}, fmt.Errorf("apply: %w", err)
	}
	st, err := s.load(ctx, source)
	return st.inv, err
}
