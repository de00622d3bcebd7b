package serving

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
)

// HashTemplate identifies a template as written: the SHA-256 of its
// canonical JSON (spec and metadata; keys sorted; null, "", {} and []
// dropped), so that equal templates hash equal however they were spelled,
// and a Kubernetes library that starts printing one more empty field does
// not change the hash of every template.
func HashTemplate(t *RevisionTemplateSpec) string {
	b, err := canonicalJSON(t)
	if err != nil {
		// A decoded template always encodes; keep the hash total anyway.
		b = []byte(err.Error())
	}
	sum := sha256.Sum256(b)
	return "sha256:" + hex.EncodeToString(sum[:])
}

func canonicalJSON(v any) ([]byte, error) {
	b, err := json.Marshal(v)
	if err != nil {
		return nil, err
	}
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.UseNumber()
	var tree any
	if err := dec.Decode(&tree); err != nil {
		return nil, err
	}
	return json.Marshal(prune(tree))
}

// prune drops empty values from maps (recursively); list elements keep
// their places.
func prune(v any) any {
	switch x := v.(type) {
	case map[string]any:
		for k, e := range x {
			e = prune(e)
			if isEmpty(e) {
				delete(x, k)
				continue
			}
			x[k] = e
		}
		return x
	case []any:
		for i, e := range x {
			x[i] = prune(e)
		}
		return x
	}
	return v
}

func isEmpty(v any) bool {
	switch x := v.(type) {
	case nil:
		return true
	case string:
		return x == ""
	case map[string]any:
		return len(x) == 0
	case []any:
		return len(x) == 0
	}
	return false
}
