package serving

import "testing"

// Rebalanced compares the routes' load balancers only: another
// generation or share is no move; a load balancer reported, changed,
// reordered or gone (with its route's report) is.
func TestRebalanced(t *testing.T) {
	ip := func(ips ...string) LoadBalancer {
		var lb LoadBalancer
		for _, a := range ips {
			lb.Private = append(lb.Private, LoadBalancerIngress{IP: a})
		}
		return lb
	}
	was := Programmed{"default/hello": {Generation: 1, LoadBalancer: ip("10.0.0.7")}, "default/other": {Generation: 3}}
	tests := []struct {
		name string
		now  Programmed
		want bool
	}{
		{"the same", Programmed{"default/hello": {Generation: 1, LoadBalancer: ip("10.0.0.7")}, "default/other": {Generation: 3}}, false},
		{"another generation and share", Programmed{"default/hello": {Generation: 2, Percent: 5, LoadBalancer: ip("10.0.0.7")}, "default/other": {Generation: 4}}, false},
		{"a route without a load balancer gone", Programmed{"default/hello": {Generation: 1, LoadBalancer: ip("10.0.0.7")}}, false},
		{"another IP", Programmed{"default/hello": {Generation: 1, LoadBalancer: ip("10.0.0.8")}, "default/other": {Generation: 3}}, true},
		{"one reported", Programmed{"default/hello": {Generation: 1, LoadBalancer: ip("10.0.0.7")}, "default/other": {Generation: 3, LoadBalancer: ip("10.0.0.9")}}, true},
		{"public instead of private", Programmed{"default/hello": {Generation: 1, LoadBalancer: LoadBalancer{Public: ip("10.0.0.7").Private}}, "default/other": {Generation: 3}}, true},
		{"an entry added", Programmed{"default/hello": {Generation: 1, LoadBalancer: ip("10.0.0.7", "10.0.0.8")}, "default/other": {Generation: 3}}, true},
		{"a route with a load balancer gone", Programmed{"default/other": {Generation: 3}}, true},
		{"nothing reported any more", nil, true},
	}
	for _, tt := range tests {
		if got := tt.now.Rebalanced(was); got != tt.want {
			t.Errorf("%s: Rebalanced = %v, want %v", tt.name, got, tt.want)
		}
	}
}
