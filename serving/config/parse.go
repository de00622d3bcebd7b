package config

import (
	"fmt"
	"strconv"
	"strings"
	"time"

	"k8s.io/apimachinery/pkg/api/resource"
)

// ExampleKey is the documentation key Knative ships in every ConfigMap; it
// is never parsed.
const ExampleKey = "_example"

// lookup returns the value of key, falling back to the legacy aliases in
// order. The canonical key wins when both are set.
func lookup(data map[string]string, key string, aliases ...string) (string, string, bool) {
	if v, ok := data[key]; ok {
		return strings.TrimSpace(v), key, true
	}
	for _, a := range aliases {
		if v, ok := data[a]; ok {
			return strings.TrimSpace(v), a, true
		}
	}
	return "", key, false
}

func asString(data map[string]string, dst *string, key string, aliases ...string) {
	if v, _, ok := lookup(data, key, aliases...); ok {
		*dst = v
	}
}

func asInt64(data map[string]string, dst *int64, key string, aliases ...string) error {
	v, k, ok := lookup(data, key, aliases...)
	if !ok {
		return nil
	}
	n, err := strconv.ParseInt(v, 10, 64)
	if err != nil {
		return fmt.Errorf("failed to parse %q: %w", k, err)
	}
	*dst = n
	return nil
}

func asBool(data map[string]string, dst *bool, key string, aliases ...string) error {
	v, k, ok := lookup(data, key, aliases...)
	if !ok {
		return nil
	}
	b, err := strconv.ParseBool(v)
	if err != nil {
		return fmt.Errorf("failed to parse %q: %w", k, err)
	}
	*dst = b
	return nil
}

func asDuration(data map[string]string, dst *time.Duration, key string, aliases ...string) error {
	v, k, ok := lookup(data, key, aliases...)
	if !ok {
		return nil
	}
	d, err := time.ParseDuration(v)
	if err != nil {
		return fmt.Errorf("failed to parse %q: %w", k, err)
	}
	*dst = d
	return nil
}

// asQuantity parses an optional resource quantity; an empty value leaves
// dst nil.
func asQuantity(data map[string]string, dst **resource.Quantity, key string, aliases ...string) error {
	v, k, ok := lookup(data, key, aliases...)
	if !ok || v == "" {
		return nil
	}
	q, err := resource.ParseQuantity(v)
	if err != nil {
		return fmt.Errorf("failed to parse %q: %w", k, err)
	}
	*dst = &q
	return nil
}

// outOfBounds is Knative's apis.ErrOutOfBoundsValue message.
func outOfBounds(v, lo, hi any, key string) error {
	return fmt.Errorf("expected %v <= %v <= %v: %s", lo, v, hi, key)
}
