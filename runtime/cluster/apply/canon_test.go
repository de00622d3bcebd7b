package apply

import (
	"encoding/json"
	"math"
	"os"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/ebb-dev/ebb/render"
	"github.com/ebb-dev/ebb/serving"
)

func checkAppendJSON(t *testing.T, name string, v any) {
	t.Helper()
	want, wantErr := json.Marshal(v)
	got, gotErr := appendJSON([]byte("prefix"), v)
	if (wantErr != nil) != (gotErr != nil) {
		t.Errorf("%s: error %v, json.Marshal's %v", name, gotErr, wantErr)
		return
	}
	if wantErr == nil {
		if diff := cmp.Diff("prefix"+string(want), string(got)); diff != "" {
			t.Errorf("%s: appendJSON differs from json.Marshal (-want +got):\n%s", name, diff)
		}
	}
}

func TestAppendJSONIsMarshal(t *testing.T) {
	for name, v := range map[string]any{
		"nil":          nil,
		"nil map":      map[string]any(nil),
		"nil list":     []any(nil),
		"empty":        map[string]any{"m": map[string]any{}, "l": []any{}},
		"scalars":      map[string]any{"b": true, "f": false, "i": int64(-42), "n": nil, "int": 7, "i32": int32(3)},
		"floats":       []any{1.5, 0.0, -2.25, 1e21, 1e-7, 123456789.0, math.MaxFloat64},
		"nan":          math.NaN(),
		"html":         map[string]any{"<a>": "x & y > z", "q": `say "hi"\now`},
		"control":      "tab\there\nnew\x00zero\x7f",
		"unicode":      "ünïcødé ✓ \u2028 \u2029",
		"invalid utf8": "bad \xff\xfe bytes",
		"sorted keys":  map[string]any{"b": 1, "a": 2, "B": 3, "aa": 4, "": 5},
		"typed":        map[string]any{"ss": map[string]string{"z": "1", "a": "2"}, "strs": []string{"x"}, "u": uint8(9)},
		"nested":       map[string]any{"spec": map[string]any{"template": map[string]any{"containers": []any{map[string]any{"name": "c", "ports": []any{map[string]any{"containerPort": int64(8080)}}}}}}},
	} {
		checkAppendJSON(t, name, v)
	}
}

// TestAppendJSONRenderedObjects checks every object the examples render.
func TestAppendJSONRenderedObjects(t *testing.T) {
	dirs, err := os.ReadDir("../../../examples")
	if err != nil {
		t.Fatal(err)
	}
	n := 0
	for _, d := range dirs {
		if !d.IsDir() {
			continue
		}
		tree, err := serving.Load(os.DirFS("../../../examples/" + d.Name()))
		if err != nil {
			t.Fatalf("%s: %v", d.Name(), err)
		}
		objs, err := render.Render(render.TreeInput(tree, tree.Ledgers))
		if err != nil {
			t.Fatalf("%s: %v", d.Name(), err)
		}
		for _, u := range objs {
			checkAppendJSON(t, d.Name()+" "+RefOf(u).String(), u.Object)
			n++
		}
	}
	if n < 20 {
		t.Fatalf("checked %d rendered objects, want the examples' (at least 20)", n)
	}
}

func FuzzAppendJSONString(f *testing.F) {
	for _, s := range []string{"", "plain", "<&>", "\u2028", "\xff", "é", `"\`} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		checkAppendJSON(t, "string", map[string]any{s: []any{s, int64(len(s))}})
	})
}
