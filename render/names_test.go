package render

import (
	"regexp"
	"testing"
)

func TestRevisionUID(t *testing.T) {
	uuid := regexp.MustCompile(`^[0-9a-f]{8}-[0-9a-f]{4}-5[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$`)
	a := RevisionUID("default", "hello-00001")
	if !uuid.MatchString(a) {
		t.Errorf("RevisionUID = %q, not a version 5 UUID", a)
	}
	if b := RevisionUID("default", "hello-00001"); a != b {
		t.Errorf("RevisionUID is not stable: %q then %q", a, b)
	}
	for _, other := range [][2]string{{"prod", "hello-00001"}, {"default", "hello-00002"}, {"default/hello", "00001"}} {
		if RevisionUID(other[0], other[1]) == a {
			t.Errorf("RevisionUID%v equals RevisionUID(default, hello-00001)", other)
		}
	}
}
