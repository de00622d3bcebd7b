package serving

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"reflect"
	"regexp"
	"strings"

	yaml "go.yaml.in/yaml/v3"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	utiljson "k8s.io/apimachinery/pkg/util/json"
	sigsjson "sigs.k8s.io/json"

	"github.com/ebb-dev/ebb/serving/traffic"
)

// document is one YAML document of a file, converted to JSON.
type document struct {
	src  Source
	json []byte
	obj  *unstructured.Unstructured
}

// yamlLineRE reads the line out of yaml.v3's parse errors: the library
// reports a syntax error's position only in its text ("yaml: line 3:
// could not find expected ':'"), with no typed error to ask.
var yamlLineRE = regexp.MustCompile(`^yaml: line (\d+): (.*)$`)

// decodeFile splits a file into its YAML documents. Empty documents are
// skipped. A document that does not parse is reported and the rest of the
// file is skipped.
func decodeFile(file string, data []byte) ([]*document, ErrorList) {
	var docs []*document
	var errs ErrorList
	dec := yaml.NewDecoder(bytes.NewReader(data))
	for {
		var n yaml.Node
		err := dec.Decode(&n)
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			errs = append(errs, yamlError(file, err))
			break
		}
		if len(n.Content) == 0 || (n.Content[0].Kind == yaml.ScalarNode && n.Content[0].ShortTag() == "!!null") {
			continue
		}
		doc, fe := convertDocument(file, &n)
		if fe != nil {
			errs = append(errs, fe)
			continue
		}
		docs = append(docs, doc)
	}
	return docs, errs
}

func yamlError(file string, err error) *FieldError {
	msg := err.Error()
	fe := &FieldError{File: file, Message: msg}
	if m := yamlLineRE.FindStringSubmatch(msg); m != nil {
		fmt.Sscan(m[1], &fe.Line)
		fe.Message = m[2]
	}
	return fe
}

// convertDocument converts document n of file to JSON. A failure is a
// FieldError of file at the line of the node it is about (the converter
// carries the line in its FieldError), else at the document's.
func convertDocument(file string, n *yaml.Node) (*document, *FieldError) {
	c := &converter{fields: map[string]int{}}
	v, err := c.value(n, "", 0)
	if err != nil {
		var fe *FieldError
		if !errors.As(err, &fe) {
			fe = &FieldError{Line: n.Line, Message: err.Error()}
		}
		fe.File = file
		return nil, fe
	}
	line := n.Line
	if len(n.Content) > 0 {
		line = n.Content[0].Line
	}
	src := Source{File: file, Line: line, Fields: c.fields}
	m, ok := v.(map[string]any)
	if !ok {
		return nil, &FieldError{File: file, Line: line, Message: "expected a Kubernetes object (a YAML mapping)"}
	}
	b, err := json.Marshal(m)
	if err != nil {
		return nil, &FieldError{File: file, Line: line, Message: err.Error()}
	}
	var obj map[string]any
	if err := utiljson.Unmarshal(b, &obj); err != nil {
		return nil, &FieldError{File: file, Line: line, Message: err.Error()}
	}
	return &document{src: src, json: b, obj: &unstructured.Unstructured{Object: obj}}, nil
}

// typeErrRE reads encoding/json's type errors (through sigs.k8s.io/json,
// whose UnmarshalTypeError is an internal type that errors.As cannot
// name): the field and types exist only in the text.
var typeErrRE = regexp.MustCompile(`^json: cannot unmarshal (\S+) into Go struct field (\S+) of type (\S+)$`)

// strictDecode decodes a document into v; unknown and duplicate fields are
// errors, each located by its field path.
func strictDecode(doc *document, v any) ErrorList {
	strict, err := sigsjson.UnmarshalStrict(doc.json, v, sigsjson.DisallowUnknownFields, sigsjson.DisallowDuplicateFields)
	var errs ErrorList
	for _, e := range strict {
		path, msg := "", e.Error()
		if fe, ok := e.(sigsjson.FieldError); ok {
			path = fe.FieldPath()
			msg = strings.Replace(msg, fmt.Sprintf(" %q", path), "", 1)
		}
		errs = append(errs, &FieldError{File: doc.src.File, Line: doc.src.LineOf(path), Path: path, Message: msg})
	}
	if err != nil {
		fe := &FieldError{File: doc.src.File, Line: doc.src.Line, Message: err.Error()}
		if m := typeErrRE.FindStringSubmatch(err.Error()); m != nil {
			fe.Path = goFieldPath(m[2])
			fe.Message = fmt.Sprintf("cannot decode %s into %s", m[1], apiType(m[3]))
			fe.Line = doc.src.LineOf(fe.Path)
		}
		errs = append(errs, fe)
	}
	return errs
}

// apiType names a field's Go type as Knative's API does: a Percent is the
// int64 it is there.
func apiType(goType string) string {
	if t := reflect.TypeFor[traffic.Percent](); goType == t.String() {
		return t.Kind().String()
	}
	return goType
}

// goFieldPath turns encoding/json's "Type.a.PodSpec.b" into "a.b".
func goFieldPath(p string) string {
	parts := strings.Split(p, ".")
	var out []string
	for i, s := range parts {
		if i == 0 || s == "" {
			continue // the Go type name
		}
		if s[0] >= 'A' && s[0] <= 'Z' {
			continue // an embedded struct (PodSpec, ObjectMeta, TypeMeta)
		}
		out = append(out, s)
	}
	return strings.Join(out, ".")
}
