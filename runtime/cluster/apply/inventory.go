package apply

import (
	"encoding/json"
	"fmt"
	"slices"
)

// Entry is one object of an inventory and what the last apply left on it.
type Entry struct {
	Ref
	// Version is the API version the object was applied with.
	Version string `json:"version"`
	// Fields is a digest of the fields the field manager owned on the
	// object right after the last apply. Someone changing one of those
	// fields takes it over, the digest changes, and the next apply writes
	// the object again. Empty until the object has been applied.
	Fields string `json:"fields,omitempty"`
	// Adopted is set when the object existed before the source first
	// applied it: ebb did not create it, and releases it (see
	// SSA.Apply) instead of deleting it once the source no longer
	// renders it.
	Adopted bool `json:"adopted,omitempty"`
}

// Inventory is the set of objects one source has applied, sorted by ref in
// apply order, each ref at most once.
type Inventory struct {
	Entries []Entry `json:"entries"`
}

// NewInventory returns the inventory of entries: sorted, and for a ref given
// twice the last entry wins.
func NewInventory(entries ...Entry) Inventory {
	out := make([]Entry, len(entries))
	copy(out, entries)
	slices.SortStableFunc(out, func(a, b Entry) int { return Compare(a.Ref, b.Ref) })
	n := 0
	for i := range out {
		if i+1 < len(out) && out[i+1].Ref == out[i].Ref {
			continue // a later entry for the same ref follows
		}
		out[n] = out[i]
		n++
	}
	return Inventory{Entries: out[:n]}
}

// Lookup returns the entry for r.
func (inv Inventory) Lookup(r Ref) (Entry, bool) {
	i, ok := slices.BinarySearchFunc(inv.Entries, r, func(e Entry, r Ref) int { return Compare(e.Ref, r) })
	if !ok {
		return Entry{}, false
	}
	return inv.Entries[i], true
}

// Has reports whether the inventory lists r.
func (inv Inventory) Has(r Ref) bool {
	_, ok := inv.Lookup(r)
	return ok
}

// Refs returns the refs of the inventory in apply order.
func (inv Inventory) Refs() []Ref {
	refs := make([]Ref, len(inv.Entries))
	for i, e := range inv.Entries {
		refs[i] = e.Ref
	}
	return refs
}

// Union is inv with the entries of other added; where both list a ref,
// inv's entry is kept.
func (inv Inventory) Union(other Inventory) Inventory {
	entries := slices.Clone(other.Entries)
	return NewInventory(append(entries, inv.Entries...)...)
}

// Stale returns the refs prev lists and next does not — what to prune — in
// prune order (the reverse of apply order).
func Stale(prev, next Inventory) []Entry {
	var stale []Entry
	for _, e := range prev.Entries {
		if !next.Has(e.Ref) {
			stale = append(stale, e)
		}
	}
	slices.Reverse(stale)
	return stale
}

// Marshal encodes the inventory as JSON; the same inventory always gives
// the same bytes.
func (inv Inventory) Marshal() []byte {
	if inv.Entries == nil {
		inv.Entries = []Entry{}
	}
	b, err := json.Marshal(inv)
	if err != nil {
		// A struct of strings always encodes.
		panic(fmt.Sprintf("apply: encode inventory: %v", err))
	}
	return b
}

// ParseInventory decodes what Marshal wrote; an empty input is an empty
// inventory.
func ParseInventory(b []byte) (Inventory, error) {
	if len(b) == 0 {
		return Inventory{}, nil
	}
	var inv Inventory
	if err := json.Unmarshal(b, &inv); err != nil {
		return Inventory{}, fmt.Errorf("parse inventory: %w", err)
	}
	for _, e := range inv.Entries {
		if e.Kind == "" || e.Name == "" {
			return Inventory{}, fmt.Errorf("parse inventory: entry %+v: kind and name are required", e.Ref)
		}
	}
	return NewInventory(inv.Entries...), nil
}
