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

func TestPeers(t *testing.T) {
	p := NewPeers("10.2.0.2")
	var seen []string
	stop := p.Watch(func(ns, rev string) { seen = append(seen, ns+"/"+rev) })
	p.Set("default", "hello-00001", []string{"10.2.0.3", "10.2.0.2"})
	acts, self := p.Activators("default", "hello-00001")
	if d := cmp.Diff([]string{"10.2.0.2", "10.2.0.3"}, acts); d != "" || self != "10.2.0.2" {
		t.Errorf("activators (-want +got):\n%s\nself = %q", d, self)
	}
	if acts, _ := p.Activators("default", "other"); acts != nil {
		t.Errorf("activators of an unknown revision = %v", acts)
	}
	p.Set("default", "hello-00001", nil)
	if acts, _ := p.Activators("default", "hello-00001"); acts != nil {
		t.Errorf("activators after clearing = %v", acts)
	}
	stop()
	p.Set("default", "other", []string{"10.2.0.1"})
	if d := cmp.Diff([]string{"default/hello-00001", "default/hello-00001"}, seen); d != "" {
		t.Errorf("notifications (-want +got):\n%s", d)
	}
}
