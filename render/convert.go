package render

import (
	"encoding/json"
	"fmt"
	"hash/maphash"
	"reflect"
	"strings"
	"sync"
	"time"

	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/intstr"
)

// toMap converts a typed API object into the map form of an Unstructured,
// with the result runtime.DefaultUnstructuredConverter gives (a test holds
// the two equal on every rendered object) at a fraction of its cost: the
// field plan of each Go type is worked out once and cached, and the API's
// JSON leaf types (Quantity, IntOrString, Time) are written directly.
// It follows encoding/json: tags name fields, omitempty and omitzero drop
// them, untagged embedded structs are inlined, integers become int64.
func (st *encodeState) toMap(obj any) (map[string]any, error) {
	v := reflect.ValueOf(obj)
	for v.Kind() == reflect.Pointer {
		if v.IsNil() {
			return nil, fmt.Errorf("convert %T: nil", obj)
		}
		v = v.Elem()
	}
	if v.Kind() != reflect.Struct {
		return nil, fmt.Errorf("convert %T: not a struct", obj)
	}
	out, err := encoderOf(v.Type())(st, v)
	if err != nil {
		return nil, fmt.Errorf("convert %T: %w", obj, err)
	}
	return out.(map[string]any), nil
}

// encodeState is what one converter reuses from one object to the next:
// the interface values of the strings it wrote last, so that a string
// written in many places (a revision's name, its namespace, "TCP") is
// boxed once rather than at each place. A converter of its own per
// goroutine; the zero value is ready.
type encodeState struct {
	strings [256]struct {
		s string
		v any
	}
}

var boxSeed = maphash.MakeSeed()

// box is s as an interface value, the one made for an equal string before
// when it is still at hand.
func (st *encodeState) box(s string) any {
	if s == "" {
		return ""
	}
	slot := &st.strings[maphash.String(boxSeed, s)%uint64(len(st.strings))]
	if slot.v == nil || slot.s != s {
		slot.s, slot.v = s, s
	}
	return slot.v
}

type encoderFunc func(*encodeState, reflect.Value) (any, error)

var encoders sync.Map // reflect.Type → encoderFunc

var (
	quantityType    = reflect.TypeFor[resource.Quantity]()
	intOrStringType = reflect.TypeFor[intstr.IntOrString]()
	timeType        = reflect.TypeFor[metav1.Time]()
	marshalerType   = reflect.TypeFor[json.Marshaler]()
	zeroerType      = reflect.TypeFor[interface{ IsZero() bool }]()
	stringMapType   = reflect.TypeFor[map[string]string]()

	// Field indexes of IntOrString, read without copying the value out.
	intOrStringTypeField = fieldIndex(intOrStringType, "Type")
	intOrStringIntField  = fieldIndex(intOrStringType, "IntVal")
	intOrStringStrField  = fieldIndex(intOrStringType, "StrVal")
)

func encoderOf(t reflect.Type) encoderFunc {
	if e, ok := encoders.Load(t); ok {
		return e.(encoderFunc)
	}
	// A recursive type refers to itself through this indirection, which
	// waits until the real encoder is built.
	var (
		wg   sync.WaitGroup
		real encoderFunc
	)
	wg.Add(1)
	indirect := encoderFunc(func(st *encodeState, v reflect.Value) (any, error) {
		wg.Wait()
		return real(st, v)
	})
	if e, loaded := encoders.LoadOrStore(t, indirect); loaded {
		return e.(encoderFunc)
	}
	real = newEncoder(t)
	wg.Done()
	encoders.Store(t, real)
	return real
}

func fieldIndex(t reflect.Type, name string) int {
	f, ok := t.FieldByName(name)
	if !ok {
		panic(fmt.Sprintf("render: %s has no field %s", t, name))
	}
	return f.Index[0]
}

func newEncoder(t reflect.Type) encoderFunc {
	if enc := specialEncoder(t); enc != nil {
		return enc
	}
	if t.Kind() == reflect.Pointer {
		elem := encoderOf(t.Elem())
		return func(st *encodeState, v reflect.Value) (any, error) {
			if v.IsNil() {
				return nil, nil
			}
			return elem(st, v.Elem())
		}
	}
	if t.Implements(marshalerType) || reflect.PointerTo(t).Implements(marshalerType) {
		return jsonEncoder
	}
	switch t.Kind() {
	case reflect.String:
		return func(st *encodeState, v reflect.Value) (any, error) { return st.box(v.String()), nil }
	case reflect.Bool:
		return func(st *encodeState, v reflect.Value) (any, error) { return v.Bool(), nil }
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64:
		return func(st *encodeState, v reflect.Value) (any, error) { return v.Int(), nil }
	case reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64:
		return func(st *encodeState, v reflect.Value) (any, error) { return int64(v.Uint()), nil }
	case reflect.Float32, reflect.Float64:
		return func(st *encodeState, v reflect.Value) (any, error) { return v.Float(), nil }
	case reflect.Interface:
		return func(st *encodeState, v reflect.Value) (any, error) {
			if v.IsNil() {
				return nil, nil
			}
			e := v.Elem()
			return encoderOf(e.Type())(st, e)
		}
	case reflect.Slice:
		return sliceEncoder(t)
	case reflect.Map:
		return mapEncoder(t)
	case reflect.Struct:
		return structEncoder(t)
	}
	return jsonEncoder
}

// specialEncoder encodes the API types JSON spells their own way
// (quantities, int-or-strings, times) without their MarshalJSON; nil for
// other types.
func specialEncoder(t reflect.Type) encoderFunc {
	switch t {
	case quantityType:
		return func(st *encodeState, v reflect.Value) (any, error) {
			if v.CanAddr() {
				return v.Addr().Interface().(*resource.Quantity).String(), nil
			}
			q := v.Interface().(resource.Quantity)
			return q.String(), nil
		}
	case intOrStringType:
		return func(st *encodeState, v reflect.Value) (any, error) {
			if intstr.Type(v.Field(intOrStringTypeField).Int()) == intstr.Int {
				return v.Field(intOrStringIntField).Int(), nil
			}
			return v.Field(intOrStringStrField).String(), nil
		}
	case timeType:
		return func(st *encodeState, v reflect.Value) (any, error) {
			tm := v.Interface().(metav1.Time)
			if tm.IsZero() {
				return nil, nil
			}
			return tm.UTC().Format(time.RFC3339), nil
		}
	}
	return nil
}

// sliceEncoder encodes a slice as []any ([]byte as JSON does: base64).
func sliceEncoder(t reflect.Type) encoderFunc {
	if t.Elem().Kind() == reflect.Uint8 {
		return jsonEncoder // []byte is base64 in JSON
	}
	elem := encoderOf(t.Elem())
	return func(st *encodeState, v reflect.Value) (any, error) {
		if v.IsNil() {
			return nil, nil
		}
		out := make([]any, v.Len())
		for i := range out {
			e, err := elem(st, v.Index(i))
			if err != nil {
				return nil, err
			}
			out[i] = e
		}
		return out, nil
	}
}

// mapEncoder encodes a map with string keys as map[string]any (other
// keys as JSON does).
func mapEncoder(t reflect.Type) encoderFunc {
	if t.Key().Kind() != reflect.String {
		return jsonEncoder
	}
	if t.Elem().Kind() == reflect.String && !t.Elem().Implements(marshalerType) {
		// Labels, annotations, selectors, data: range natively.
		return func(st *encodeState, v reflect.Value) (any, error) {
			if v.IsNil() {
				return nil, nil
			}
			m := v.Convert(stringMapType).Interface().(map[string]string)
			out := make(map[string]any, len(m))
			for k, e := range m {
				out[k] = st.box(e)
			}
			return out, nil
		}
	}
	elem := encoderOf(t.Elem())
	return func(st *encodeState, v reflect.Value) (any, error) {
		if v.IsNil() {
			return nil, nil
		}
		out := make(map[string]any, v.Len())
		// Iterate into two reused values: MapRange's Key and Value
		// would copy every entry out.
		key, val := reflect.New(t.Key()).Elem(), reflect.New(t.Elem()).Elem()
		it := v.MapRange()
		for it.Next() {
			key.SetIterKey(it)
			val.SetIterValue(it)
			e, err := elem(st, val)
			if err != nil {
				return nil, err
			}
			out[key.String()] = e
		}
		return out, nil
	}
}

// field is one JSON field of a struct, found by its index path (through
// inlined embedded structs).
type field struct {
	name      string
	index     []int
	omitEmpty bool
	omitZero  bool
	// zeroMethod: the type has encoding/json's IsZero() bool.
	zeroMethod bool
	enc        encoderFunc
}

// isZero is encoding/json's omitzero test: the IsZero method if the type
// has one, else the zero value.
func (f *field) isZero(v reflect.Value) bool {
	if f.zeroMethod {
		if v.Kind() != reflect.Pointer && v.CanAddr() && v.Addr().Type().Implements(zeroerType) {
			return v.Addr().Interface().(interface{ IsZero() bool }).IsZero()
		}
		return v.Interface().(interface{ IsZero() bool }).IsZero()
	}
	return v.IsZero()
}

func structEncoder(t reflect.Type) encoderFunc {
	var fields []field
	collectFields(t, nil, &fields)
	return func(st *encodeState, v reflect.Value) (any, error) {
		// Encode into a buffer first so the map is made at its final size:
		// most fields of an API struct are empty.
		var buf [48]struct {
			name string
			val  any
		}
		kv := buf[:0]
		for i := range fields {
			f := &fields[i]
			fv := v.Field(f.index[0])
			if len(f.index) > 1 {
				var ok bool
				if fv, ok = fieldByIndex(v, f.index); !ok {
					continue
				}
			}
			if (f.omitEmpty && isEmpty(fv)) || (f.omitZero && f.isZero(fv)) {
				continue
			}
			e, err := f.enc(st, fv)
			if err != nil {
				return nil, fmt.Errorf("%s: %w", f.name, err)
			}
			kv = append(kv, struct {
				name string
				val  any
			}{f.name, e})
		}
		out := make(map[string]any, len(kv))
		for _, x := range kv {
			out[x.name] = x.val
		}
		return out, nil
	}
}

func collectFields(t reflect.Type, index []int, out *[]field) {
	for i := range t.NumField() {
		sf := t.Field(i)
		tag := sf.Tag.Get("json")
		if tag == "-" {
			continue
		}
		name, opts, _ := strings.Cut(tag, ",")
		idx := append(append([]int(nil), index...), i)
		if sf.Anonymous && name == "" {
			ft := sf.Type
			if ft.Kind() == reflect.Pointer {
				ft = ft.Elem()
			}
			if ft.Kind() == reflect.Struct {
				collectFields(ft, idx, out)
				continue
			}
		}
		if !sf.IsExported() {
			continue
		}
		if name == "" {
			name = sf.Name
		}
		*out = append(*out, field{
			name:       name,
			index:      idx,
			omitEmpty:  strings.Contains(","+opts+",", ",omitempty,"),
			omitZero:   strings.Contains(","+opts+",", ",omitzero,"),
			zeroMethod: sf.Type.Implements(zeroerType),
			enc:        encoderOf(sf.Type),
		})
	}
}

// fieldByIndex walks an index path; ok is false through a nil embedded
// pointer.
func fieldByIndex(v reflect.Value, index []int) (reflect.Value, bool) {
	for i, x := range index {
		if i > 0 && v.Kind() == reflect.Pointer {
			if v.IsNil() {
				return reflect.Value{}, false
			}
			v = v.Elem()
		}
		v = v.Field(x)
	}
	return v, true
}

// isEmpty is encoding/json's omitempty test.
func isEmpty(v reflect.Value) bool {
	switch v.Kind() {
	case reflect.Array, reflect.Map, reflect.Slice, reflect.String:
		return v.Len() == 0
	case reflect.Bool:
		return !v.Bool()
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64:
		return v.Int() == 0
	case reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64:
		return v.Uint() == 0
	case reflect.Float32, reflect.Float64:
		return v.Float() == 0
	case reflect.Interface, reflect.Pointer:
		return v.IsNil()
	}
	return false
}

// jsonEncoder is the slow path for types with their own JSON form: a JSON
// round trip, numbers kept as int64 when whole.
func jsonEncoder(_ *encodeState, v reflect.Value) (any, error) {
	x := v.Interface()
	if v.CanAddr() {
		x = v.Addr().Interface() // so pointer-receiver MarshalJSON methods run
	}
	b, err := json.Marshal(x)
	if err != nil {
		return nil, err
	}
	d := json.NewDecoder(strings.NewReader(string(b)))
	d.UseNumber()
	var out any
	if err := d.Decode(&out); err != nil {
		return nil, err
	}
	return fixNumbers(out), nil
}

func fixNumbers(v any) any {
	switch x := v.(type) {
	case json.Number:
		if i, err := x.Int64(); err == nil {
			return i
		}
		f, _ := x.Float64()
		return f
	case map[string]any:
		for k, e := range x {
			x[k] = fixNumbers(e)
		}
	case []any:
		for i, e := range x {
			x[i] = fixNumbers(e)
		}
	}
	return v
}
