package knativevalidate

import (
	"reflect"
	"strings"

	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/intstr"
)

var (
	quantityType = reflect.TypeFor[resource.Quantity]()
	intstrType   = reflect.TypeFor[intstr.IntOrString]()
	timeType     = reflect.TypeFor[metav1.Time]()
)

// field is one JSON field of a Kubernetes struct.
type field struct {
	name string
	typ  reflect.Type
}

// fields lists the JSON fields of struct type t, embedded (inline)
// structs flattened.
func fields(t reflect.Type) []field {
	var out []field
	for i := 0; i < t.NumField(); i++ {
		f := t.Field(i)
		if !f.IsExported() {
			continue
		}
		name, _, _ := strings.Cut(f.Tag.Get("json"), ",")
		if f.Anonymous && name == "" {
			out = append(out, fields(f.Type)...)
			continue
		}
		if name == "" || name == "-" {
			continue
		}
		out = append(out, field{name, f.Type})
	}
	return out
}

// sample is a JSON value that decodes into type t and is not its zero
// value: strings "x", numbers 1, booleans true, one element in lists and
// maps, and structs with every field filled (to depth 4).
func sample(t reflect.Type, depth int) any {
	switch t {
	case quantityType:
		return "1"
	case intstrType:
		return 1
	case timeType:
		return "2026-01-01T00:00:00Z"
	}
	switch t.Kind() {
	case reflect.Pointer:
		return sample(t.Elem(), depth)
	case reflect.String:
		return "x"
	case reflect.Bool:
		return true
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64,
		reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64, reflect.Float32, reflect.Float64:
		return 1
	case reflect.Slice:
		if t.Elem().Kind() == reflect.Uint8 {
			return "eA=="
		}
		return []any{sample(t.Elem(), depth)}
	case reflect.Map:
		return map[string]any{"k": sample(t.Elem(), depth)}
	case reflect.Struct:
		m := map[string]any{}
		if depth >= 4 {
			return m
		}
		for _, f := range fields(t) {
			m[f.name] = sample(f.typ, depth+1)
		}
		return m
	}
	return nil
}
