//go:build linux

package nodetest

import (
	"context"
	"net"
	"strings"
	"time"

	"golang.org/x/net/dns/dnsmessage"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"
)

// clusterDomain is the pods' DNS domain.
const clusterDomain = "cluster.local"

// serveDNS is the node's cluster DNS, on NodeIP:53 (UDP) inside its
// network, the kubelet's clusterDNS: it answers A queries for
// <service>.<namespace>.svc.cluster.local with the Service's ClusterIP, read
// from the apiserver, NXDOMAIN for other names (the pods' search path tries
// those first), and nothing resolves outside. It serves until pc is closed.
func serveDNS(pc net.PacketConn, cs kubernetes.Interface) {
	buf := make([]byte, 1500)
	for {
		size, addr, err := pc.ReadFrom(buf)
		if err != nil {
			return
		}
		if resp, ok := answerDNS(buf[:size], cs); ok {
			_, _ = pc.WriteTo(resp, addr)
		}
	}
}

// answerDNS builds the answer to one query.
func answerDNS(query []byte, cs kubernetes.Interface) ([]byte, bool) {
	var p dnsmessage.Parser
	h, err := p.Start(query)
	if err != nil {
		return nil, false
	}
	q, err := p.Question()
	if err != nil {
		return nil, false
	}
	resp := dnsmessage.Message{
		Header:    dnsmessage.Header{ID: h.ID, Response: true, Authoritative: true, RCode: dnsmessage.RCodeNameError},
		Questions: []dnsmessage.Question{q},
	}
	name := strings.TrimSuffix(strings.ToLower(q.Name.String()), ".")
	svc, ns, ok := serviceName(name)
	if ok {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		s, err := cs.CoreV1().Services(ns).Get(ctx, svc, metav1.GetOptions{})
		cancel()
		if err == nil && s.Spec.ClusterIP != "" && s.Spec.ClusterIP != "None" {
			resp.Header.RCode = dnsmessage.RCodeSuccess
			if ip := net.ParseIP(s.Spec.ClusterIP).To4(); ip != nil && q.Type == dnsmessage.TypeA {
				resp.Answers = append(resp.Answers, dnsmessage.Resource{
					Header: dnsmessage.ResourceHeader{Name: q.Name, Type: dnsmessage.TypeA, Class: dnsmessage.ClassINET, TTL: 5},
					Body:   &dnsmessage.AResource{A: [4]byte(ip)},
				})
			}
		}
	}
	b, err := resp.Pack()
	return b, err == nil
}

// serviceName splits <service>.<namespace>.svc.cluster.local.
func serviceName(name string) (svc, ns string, ok bool) {
	rest, ok := strings.CutSuffix(name, ".svc."+clusterDomain)
	if !ok {
		return "", "", false
	}
	svc, ns, ok = strings.Cut(rest, ".")
	if !ok || strings.Contains(ns, ".") {
		return "", "", false
	}
	return svc, ns, true
}
