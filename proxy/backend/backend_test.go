package backend

import (
	"testing"

	"github.com/google/go-cmp/cmp"
)

func TestStatic(t *testing.T) {
	s := NewStatic()
	var seen []string
	stop := s.Watch(func(ns, rev string) { seen = append(seen, ns+"/"+rev) })
	s.Set("default", "hello-00001", []string{"10.0.0.2:8012", "10.0.0.1:8012"})
	if diff := cmp.Diff([]string{"10.0.0.1:8012", "10.0.0.2:8012"}, s.Addresses("default", "hello-00001")); diff != "" {
		t.Errorf("addresses (-want +got):\n%s", diff)
	}
	s.Set("default", "hello-00001", nil)
	if got := s.Addresses("default", "hello-00001"); got != nil {
		t.Errorf("addresses after clearing = %v", got)
	}
	stop()
	s.Set("default", "other", []string{"x:1"})
	if diff := cmp.Diff([]string{"default/hello-00001", "default/hello-00001"}, seen); diff != "" {
		t.Errorf("notifications (-want +got):\n%s", diff)
	}
}
