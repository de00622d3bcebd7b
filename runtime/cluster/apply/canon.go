package apply

import (
	"encoding/json"
	"slices"
	"strconv"
	"sync"
)

// appendJSON appends to b what json.Marshal(v) writes, for the values an
// unstructured object holds (maps with string keys, lists, strings,
// integers, booleans, nil), without reflection: map keys sorted, strings
// escaped as encoding/json escapes them. Values of any other type, and
// strings or floats that need encoding/json's care, are passed to
// json.Marshal itself, so the bytes are always json.Marshal's.
func appendJSON(b []byte, v any) ([]byte, error) {
	switch v := v.(type) {
	case nil:
		return append(b, "null"...), nil
	case string:
		return appendString(b, v)
	case bool:
		return strconv.AppendBool(b, v), nil
	case int64:
		return strconv.AppendInt(b, v, 10), nil
	case int:
		return strconv.AppendInt(b, int64(v), 10), nil
	case int32:
		return strconv.AppendInt(b, int64(v), 10), nil
	case map[string]any:
		if v == nil {
			return append(b, "null"...), nil
		}
		return appendObject(b, v)
	case []any:
		if v == nil {
			return append(b, "null"...), nil
		}
		b = append(b, '[')
		for i, e := range v {
			if i > 0 {
				b = append(b, ',')
			}
			var err error
			if b, err = appendJSON(b, e); err != nil {
				return b, err
			}
		}
		return append(b, ']'), nil
	default:
		j, err := json.Marshal(v)
		return append(b, j...), err
	}
}

var keyLists = sync.Pool{New: func() any { return new([]string) }}

func appendObject(b []byte, m map[string]any) ([]byte, error) {
	kp := keyLists.Get().(*[]string)
	keys := (*kp)[:0]
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	b = append(b, '{')
	var err error
	for i, k := range keys {
		if i > 0 {
			b = append(b, ',')
		}
		if b, err = appendString(b, k); err != nil {
			break
		}
		b = append(b, ':')
		if b, err = appendJSON(b, m[k]); err != nil {
			break
		}
	}
	clear(keys)
	*kp = keys[:0]
	keyLists.Put(kp)
	return append(b, '}'), err
}

// appendString writes s quoted. Plain printable ASCII is written as is;
// anything encoding/json would escape (control characters, quotes,
// backslashes, <, >, &, non-ASCII) goes through json.Marshal.
func appendString(b []byte, s string) ([]byte, error) {
	for i := 0; i < len(s); i++ {
		if c := s[i]; c < 0x20 || c > 0x7e || c == '"' || c == '\\' || c == '<' || c == '>' || c == '&' {
			j, err := json.Marshal(s)
			return append(b, j...), err
		}
	}
	b = append(b, '"')
	b = append(b, s...)
	return append(b, '"'), nil
}
