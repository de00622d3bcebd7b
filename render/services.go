package render

import (
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/intstr"

	"github.com/ebb-dev/ebb/serving/names"
)

// Values of LabelServiceType.
const (
	serviceTypePublic  = "Public"
	serviceTypePrivate = "Private"
)

// makePrivateService is <rev>-private: it selects the revision's pods and
// exposes the queue-proxy's ports.
func makePrivateService(r *revision) *corev1.Service {
	ports := append(servingPorts(r),
		corev1.ServicePort{Name: AutometricPortName, Protocol: corev1.ProtocolTCP, Port: QueueAutometricPort, TargetPort: intstr.FromInt32(QueueAutometricPort)},
		corev1.ServicePort{Name: UsermetricPortName, Protocol: corev1.ProtocolTCP, Port: QueueUsermetricPort, TargetPort: intstr.FromInt32(QueueUsermetricPort)},
		// A mirror of the queue port for meshes that route by port.
		corev1.ServicePort{Name: "http-istio", Protocol: corev1.ProtocolTCP, Port: QueueHTTPPort, TargetPort: intstr.FromInt32(QueueHTTPPort)},
	)
	return &corev1.Service{
		TypeMeta: metav1.TypeMeta{APIVersion: "v1", Kind: "Service"},
		ObjectMeta: metav1.ObjectMeta{
			Name:        names.PrivateService(r.name),
			Namespace:   r.namespace,
			Labels:      serviceNetworkLabels(r, serviceTypePrivate),
			Annotations: serviceNetworkAnnotations(r.tmpl.Annotations),
		},
		Spec: corev1.ServiceSpec{
			Type:     corev1.ServiceTypeClusterIP,
			Ports:    ports,
			Selector: map[string]string{LabelRevisionUID: r.uid},
		},
	}
}

// makePublicService is <rev>: selector-less; ebb writes its EndpointSlices
// at run time, pointing at the activator or at the pods.
func makePublicService(r *revision) *corev1.Service {
	return &corev1.Service{
		TypeMeta: metav1.TypeMeta{APIVersion: "v1", Kind: "Service"},
		ObjectMeta: metav1.ObjectMeta{
			Name:        names.PublicService(r.name),
			Namespace:   r.namespace,
			Labels:      serviceNetworkLabels(r, serviceTypePublic),
			Annotations: serviceNetworkAnnotations(r.tmpl.Annotations),
		},
		Spec: corev1.ServiceSpec{
			Type:  corev1.ServiceTypeClusterIP,
			Ports: servingPorts(r),
		},
	}
}

// servingPorts are the ports both revision Services serve requests on:
// http 80→8012 (or http2 81→8013 for h2c) and https 443→8112.
func servingPorts(r *revision) []corev1.ServicePort {
	port, name := r.servicePort()
	serving := corev1.ServicePort{Name: name, Protocol: corev1.ProtocolTCP, Port: port, TargetPort: intstr.FromInt32(r.queuePort())}
	if r.h2c() {
		serving.AppProtocol = new(appProtocolH2C)
	}
	return []corev1.ServicePort{
		serving,
		{Name: "https", Protocol: corev1.ProtocolTCP, Port: ServiceHTTPSPort, TargetPort: intstr.FromInt32(QueueHTTPSPort)},
	}
}

// makePlaceholderService is the k8s Service that gives a route (or one of
// its tags) its in-cluster DNS name, <name>.<ns>.svc.<cluster domain>: an
// ExternalName pointing at the local gateway, which routes on the Host
// header. Knative starts its placeholders the same way.
func makePlaceholderService(name, namespace, target string, meta routeMeta) *corev1.Service {
	labels := make(map[string]string, len(meta.labels))
	for k, v := range meta.labels {
		if k != LabelVisibility {
			labels[k] = v
		}
	}
	return &corev1.Service{
		TypeMeta: metav1.TypeMeta{APIVersion: "v1", Kind: "Service"},
		ObjectMeta: metav1.ObjectMeta{
			Name:        name,
			Namespace:   namespace,
			Labels:      labels,
			Annotations: meta.annotations,
		},
		Spec: corev1.ServiceSpec{
			Type:         corev1.ServiceTypeExternalName,
			ExternalName: target,
			Ports: []corev1.ServicePort{{
				Name:        "http2",
				Protocol:    corev1.ProtocolTCP,
				Port:        ServiceHTTPPort,
				TargetPort:  intstr.FromInt32(ServiceHTTPPort),
				AppProtocol: new(appProtocolH2C),
			}},
		},
	}
}
