package serving

import (
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/util/intstr"
)

// validateReadinessProbe checks a readiness probe as Knative does: one
// handler, non-negative delays and periods, and periodSeconds 0 (Knative's
// aggressive probing) without timeoutSeconds or failureThreshold.
func validateReadinessProbe(p *corev1.Probe, port *corev1.ContainerPort, user bool) kerrs {
	if p == nil {
		return nil
	}
	errs := validateProbe(p, port, user)
	if p.PeriodSeconds < 0 {
		errs = errs.also(errBounds(p.PeriodSeconds, 0, maxID, "periodSeconds"))
	}
	if p.InitialDelaySeconds < 0 {
		errs = errs.also(errBounds(p.InitialDelaySeconds, 0, maxID, "initialDelaySeconds"))
	}
	if p.SuccessThreshold < 1 {
		errs = errs.also(errBounds(p.SuccessThreshold, 1, maxID, "successThreshold"))
	}
	if p.PeriodSeconds == 0 {
		if p.FailureThreshold != 0 {
			errs = errs.also(errAt("failureThreshold is disallowed when periodSeconds is zero", "failureThreshold"))
		}
		if p.TimeoutSeconds != 0 {
			errs = errs.also(errAt("timeoutSeconds is disallowed when periodSeconds is zero", "timeoutSeconds"))
		}
		return errs
	}
	if p.TimeoutSeconds < 1 {
		errs = errs.also(errBounds(p.TimeoutSeconds, 1, maxID, "timeoutSeconds"))
	}
	if p.FailureThreshold < 1 {
		errs = errs.also(errBounds(p.FailureThreshold, 1, maxID, "failureThreshold"))
	}
	return errs
}

// validateProbe checks that a probe has exactly one handler, that a user
// container's probe names no port but the container's, and that a
// sidecar's probe names one.
func validateProbe(p *corev1.Probe, port *corev1.ContainerPort, user bool) kerrs {
	if p == nil {
		return nil
	}
	errs := disallowed(*p, probeMask(p))
	h := &p.ProbeHandler
	errs = errs.also(disallowed(*h, handlerMask(h)))
	// Knative prefixes what was found so far with each handler's name
	// (its ViaField applies to the whole list): kept, for the same paths.
	var handlers []string
	if h.HTTPGet != nil {
		handlers = append(handlers, "httpGet")
		errs = errs.via("httpGet").also(probePort(h.HTTPGet.Port, port, user, "httpGet.port"))
	}
	if h.TCPSocket != nil {
		handlers = append(handlers, "tcpSocket")
		errs = errs.via("tcpSocket").also(probePort(h.TCPSocket.Port, port, user, "tcpSocket.port"))
	}
	if h.Exec != nil {
		handlers = append(handlers, "exec")
		errs = errs.via("exec")
	}
	if h.GRPC != nil {
		handlers = append(handlers, "gRPC")
		errs = errs.via("grpc")
	}
	switch {
	case len(handlers) == 0:
		errs = errs.also(errMissingOneOf("httpGet", "tcpSocket", "exec", "grpc"))
	case len(handlers) > 1:
		errs = errs.also(errMultipleOneOf(handlers...))
	}
	return errs
}

func probePort(got intstr.IntOrString, port *corev1.ContainerPort, user bool, path string) kerrs {
	switch {
	case user && got.StrVal != "" && got.StrVal != port.Name:
		return errInvalid(got.String(), path, "Probe port must match container port")
	case !user && got.StrVal == "" && got.IntVal == 0:
		return errInvalid(got.String(), path, "Probe port must be specified")
	}
	return nil
}
