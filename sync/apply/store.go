package apply

import (
	"context"
	"fmt"
	"regexp"
	"slices"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"
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

// stored is an inventory as read from the cluster, with the exact bytes,
// so that writing the same inventory again can be skipped.
type stored struct {
	inv    Inventory
	raw    string
	exists bool
}

// load reads the source's inventory; a missing ConfigMap is an empty one.
func (s *SSA) load(ctx context.Context, source string) (stored, error) {
	name := InventoryPrefix + source
	cm, err := s.dyn.Resource(configMaps).Namespace(s.opts.InventoryNamespace).Get(ctx, name, metav1.GetOptions{})
	if apierrors.IsNotFound(err) {
		return stored{}, nil
	}
	if err != nil {
		return stored{}, fmt.Errorf("read inventory %s/%s: %w", s.opts.InventoryNamespace, name, err)
	}
	raw, _, _ := unstructured.NestedString(cm.Object, "data", InventoryKey)
	if inv, ok := s.known(source, raw); ok {
		return stored{inv: inv, raw: raw, exists: true}, nil
	}
	inv, err := ParseInventory([]byte(raw))
	if err != nil {
		return stored{}, fmt.Errorf("inventory %s/%s: %w", s.opts.InventoryNamespace, name, err)
	}
	return stored{inv: inv, raw: raw, exists: true}, nil
}

// save writes inv as the source's inventory unless the stored one has the
// same bytes, creating the inventory namespace if needed. It returns what
// is stored now.
func (s *SSA) save(ctx context.Context, source string, prev stored, inv Inventory) (stored, error) {
	if (prev.exists && slices.Equal(prev.inv.Entries, inv.Entries)) || (!prev.exists && len(inv.Entries) == 0) {
		return prev, nil
	}
	raw := string(inv.Marshal())
	if prev.raw == raw {
		return prev, nil
	}
	name := InventoryPrefix + source
	cm := &unstructured.Unstructured{Object: map[string]any{
		"apiVersion": "v1",
		"kind":       "ConfigMap",
		"metadata": map[string]any{
			"name":      name,
			"namespace": s.opts.InventoryNamespace,
			"labels":    map[string]any{InventoryLabel: source},
		},
		"data": map[string]any{InventoryKey: raw},
	}}
	opts := metav1.ApplyOptions{FieldManager: s.opts.FieldManager, Force: true}
	cms := s.dyn.Resource(configMaps).Namespace(s.opts.InventoryNamespace)
	_, err := cms.Apply(ctx, name, cm, opts)
	if apierrors.IsNotFound(err) {
		ns := &unstructured.Unstructured{Object: map[string]any{
			"apiVersion": "v1",
			"kind":       "Namespace",
			"metadata":   map[string]any{"name": s.opts.InventoryNamespace},
		}}
		if _, err = s.dyn.Resource(namespaces).Apply(ctx, s.opts.InventoryNamespace, ns, opts); err == nil {
			_, err = cms.Apply(ctx, name, cm, opts)
		}
	}
	if err != nil {
		return prev, fmt.Errorf("write inventory %s/%s: %w", s.opts.InventoryNamespace, name, err)
	}
	return stored{inv: inv, raw: raw, exists: true}, nil
}

// drop deletes the source's inventory ConfigMap.
func (s *SSA) drop(ctx context.Context, source string) error {
	name := InventoryPrefix + source
	err := s.dyn.Resource(configMaps).Namespace(s.opts.InventoryNamespace).Delete(ctx, name, metav1.DeleteOptions{})
	if err != nil && !apierrors.IsNotFound(err) {
		return fmt.Errorf("delete inventory %s/%s: %w", s.opts.InventoryNamespace, name, err)
	}
	return nil
}
