package serving

import (
	"fmt"
	"sort"
	"strings"
)

// FieldError is one problem in the serving repository, located by file,
// line and field path. Message is Knative's message where Knative has one.
type FieldError struct {
	File string
	Line int
	Path string
	// Near, for an error Knative reports without a path, is the field it
	// is about: its line is the error's line.
	Near    string
	Message string
	// Details, when set, is printed indented under the message (for
	// instance the diff of "Saw the following changes without a name
	// change (-old +new)").
	Details string
	// Object names the object the error is about; the tree uses it to fill
	// in File and Line for errors found after loading (planning).
	Object ObjectRef
}

// Error formats the error as "file:line: path: message".
func (e *FieldError) Error() string {
	var b strings.Builder
	switch {
	case e.File != "" && e.Line > 0:
		fmt.Fprintf(&b, "%s:%d: ", e.File, e.Line)
	case e.File != "":
		fmt.Fprintf(&b, "%s: ", e.File)
	case e.Object.Name != "":
		fmt.Fprintf(&b, "%s: ", e.Object)
	}
	if e.Path != "" {
		b.WriteString(e.Path)
		b.WriteString(": ")
	}
	b.WriteString(e.Message)
	if e.Details != "" {
		for _, l := range strings.Split(strings.TrimRight(e.Details, "\n"), "\n") {
			b.WriteString("\n\t")
			b.WriteString(l)
		}
	}
	return b.String()
}

// where is the field path the error's line is taken from.
func (e *FieldError) where() string {
	if e.Path == "" {
		return e.Near
	}
	return e.Path
}

// ErrorList is every error found in a tree. Its Error prints one per line,
// sorted by file, line and path.
type ErrorList []*FieldError

// Error prints one error per line.
func (l ErrorList) Error() string {
	lines := make([]string, len(l))
	for i, e := range l {
		lines[i] = e.Error()
	}
	return strings.Join(lines, "\n")
}

// Sort orders the list by file, line, path and message.
func (l ErrorList) Sort() {
	sort.SliceStable(l, func(i, j int) bool {
		a, b := l[i], l[j]
		if a.File != b.File {
			return a.File < b.File
		}
		if a.Line != b.Line {
			return a.Line < b.Line
		}
		if a.Path != b.Path {
			return a.Path < b.Path
		}
		return a.Message < b.Message
	})
}

// Err returns nil for an empty list, or the sorted list.
func (l ErrorList) Err() error {
	if len(l) == 0 {
		return nil
	}
	l.Sort()
	return l
}

// ObjectRef names a Kubernetes object of the tree.
type ObjectRef struct {
	Group     string
	Kind      string
	Namespace string
	Name      string
}

// String is "Kind.group namespace/name".
func (r ObjectRef) String() string {
	k := r.Kind
	if r.Group != "" {
		k += "." + r.Group
	}
	if r.Namespace == "" {
		return k + " " + r.Name
	}
	return k + " " + r.Namespace + "/" + r.Name
}

// ServiceRef is the ObjectRef of a serving Service.
func ServiceRef(namespace, name string) ObjectRef {
	return ObjectRef{Group: Group, Kind: KindService, Namespace: namespace, Name: name}
}
