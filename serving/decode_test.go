package serving

import (
	"testing"

	"github.com/google/go-cmp/cmp"
)

// Documents that do not convert are reported at the line of the node at
// fault, as values (FieldError.Line), not as text to be parsed back.
func TestDecodeFileErrorLines(t *testing.T) {
	for name, tt := range map[string]struct {
		yaml string
		want []FieldError
	}{
		"duplicate key": {
			yaml: "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: a\n  name: b\n",
			want: []FieldError{{File: "f.yaml", Line: 5, Message: `mapping key "name" already defined`}},
		},
		"merge key": {
			yaml: "base: &b\n  x: 1\nkind: ConfigMap\nother:\n  <<: *b\n",
			want: []FieldError{{File: "f.yaml", Line: 5, Message: "merge keys (<<) are not supported"}},
		},
		"not a JSON number": {
			yaml: "kind: ConfigMap\ndata:\n  x: .inf\n",
			want: []FieldError{{File: "f.yaml", Line: 3, Message: ".inf is not a JSON number"}},
		},
		"mapping key not a string": {
			yaml: "kind: ConfigMap\ndata:\n  [a, b]: 1\n",
			want: []FieldError{{File: "f.yaml", Line: 3, Message: "mapping key is not a string"}},
		},
		"second document": {
			yaml: "kind: ConfigMap\n---\nkind: Secret\nkind: Secret\n",
			want: []FieldError{{File: "f.yaml", Line: 4, Message: `mapping key "kind" already defined`}},
		},
		"syntax error (yaml.v3's text)": {
			yaml: "kind: ConfigMap\nmetadata:\n  name: a\n b c\n",
			want: []FieldError{{File: "f.yaml", Line: 3, Message: "did not find expected key"}},
		},
		"not a mapping": {
			yaml: "\n- a\n- b\n",
			want: []FieldError{{File: "f.yaml", Line: 2, Message: "expected a Kubernetes object (a YAML mapping)"}},
		},
	} {
		t.Run(name, func(t *testing.T) {
			_, errs := decodeFile("f.yaml", []byte(tt.yaml))
			var got []FieldError
			for _, e := range errs {
				got = append(got, *e)
			}
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("errors (-want +got):\n%s", diff)
			}
		})
	}
}
