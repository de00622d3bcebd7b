package serving

import (
	"fmt"
	"strings"
)

// kerr is one problem found by the checks ported from Knative's pod spec
// validation, its paths relative to the value checked. Prefixes are
// added the way Knative's apis.FieldError adds them (ViaField, ViaIndex),
// so the paths come out exactly as Knative's webhook reports them.
type kerr struct {
	paths   []string
	message string
	details string
	// near is the field a path-less error is about: Knative reports some
	// errors without a path; ebb still gives them a line.
	near string
}

// kerrs is a list of kerr.
type kerrs []kerr

// also appends more lists.
func (e kerrs) also(more ...kerrs) kerrs {
	for _, m := range more {
		e = append(e, m...)
	}
	return e
}

// via prefixes every path with prefix (Knative's ViaField).
func (e kerrs) via(prefix ...string) kerrs {
	if len(e) == 0 {
		return nil
	}
	out := make(kerrs, len(e))
	for i, k := range e {
		paths := make([]string, len(k.paths))
		for j, p := range k.paths {
			paths[j] = flattenPath(append(append([]string(nil), prefix...), p))
		}
		out[i] = kerr{paths: paths, message: k.message, details: k.details,
			near: flattenPath(append(append([]string(nil), prefix...), k.near))}
	}
	return out
}

// viaIndex prefixes every path with [i] (Knative's ViaIndex).
func (e kerrs) viaIndex(i int) kerrs { return e.via(fmt.Sprintf("[%d]", i)) }

// viaFieldIndex prefixes every path with field[i].
func (e kerrs) viaFieldIndex(field string, i int) kerrs { return e.viaIndex(i).via(field) }

// flattenPath joins path parts with dots, gluing indexes to the part
// before them and dropping Knative's CurrentField ("").
func flattenPath(parts []string) string {
	var out []string
	for _, part := range parts {
		for _, p := range strings.Split(part, ".") {
			switch {
			case p == "":
			case len(out) > 0 && strings.HasPrefix(p, "[") && strings.HasSuffix(p, "]"):
				out[len(out)-1] += p
			default:
				out = append(out, p)
			}
		}
	}
	return strings.Join(out, ".")
}

// addTo appends e to es as FieldErrors under the path prefix p.
func (e kerrs) addTo(es *errs, p string) {
	for _, k := range e.via(p) {
		*es = append(*es, &FieldError{Path: strings.Join(k.paths, ", "), Near: k.near, Message: k.message, Details: k.details})
	}
}

// Knative's error constructors (knative.dev/pkg/apis).

func errAt(message string, paths ...string) kerrs {
	return kerrs{{message: message, paths: paths}}
}

func errDisallowed(paths ...string) kerrs {
	if len(paths) == 0 {
		return nil
	}
	return errAt("must not set the field(s)", paths...)
}

func errMissing(paths ...string) kerrs { return errAt("missing field(s)", paths...) }

func errInvalid(value any, path string, details ...string) kerrs {
	return kerrs{{message: fmt.Sprint("invalid value: ", value), paths: []string{path}, details: strings.Join(details, ", ")}}
}

func errBounds(value, lower, upper any, path string) kerrs {
	return errAt(fmt.Sprintf("expected %v <= %v <= %v", lower, value, upper), path)
}

func errMissingOneOf(paths ...string) kerrs {
	return errAt("expected exactly one, got neither", paths...)
}

func errMultipleOneOf(paths ...string) kerrs {
	return errAt("expected exactly one, got both", paths...)
}

// errNear is a path-less error about the field near.
func errNear(near, format string, args ...any) kerrs {
	return kerrs{{message: fmt.Sprintf(format, args...), near: near}}
}
