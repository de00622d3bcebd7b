package knativevalidate

import "fmt"

// rules are the cases of Knative's own rules the issue names: probes,
// volumes, container names, ports, images, capabilities, and the places
// where ebb deliberately differs.
func rules() []Case {
	var cs []Case
	add := func(name string, fs flagSet, kv ...any) {
		cs = append(cs, Case{Name: "rule/" + name + "/" + fs.name, Service: service(kv...), Features: fs.data})
	}
	differs := func(name, why string, kv ...any) {
		cs = append(cs, Case{Name: "differs/" + name, Service: service(kv...), Differs: why})
	}
	m := func(kv ...any) map[string]any {
		out := map[string]any{}
		for i := 0; i+1 < len(kv); i += 2 {
			out[kv[i].(string)] = kv[i+1]
		}
		return out
	}
	l := func(v ...any) []any { return v }
	tcp := m("port", 0)
	http := m("path", "/")
	port8080 := l(m("containerPort", 8080))

	// Probes: handlers, periods, thresholds, named ports.
	for _, probe := range []string{"readinessProbe", "livenessProbe", "startupProbe"} {
		p := ctrPath + "." + probe
		add(probe+"/two-handlers", defaultFlags, p, m("tcpSocket", tcp, "httpGet", http))
		add(probe+"/three-handlers", defaultFlags, p, m("tcpSocket", tcp, "httpGet", http, "exec", m("command", l("true"))))
		add(probe+"/no-handler", defaultFlags, p, m("periodSeconds", 1))
		add(probe+"/grpc", defaultFlags, p, m("grpc", m("port", 8080)))
		add(probe+"/exec-and-grpc", defaultFlags, p, m("exec", m("command", l("true")), "grpc", m("port", 8080)))
		for _, f := range []string{"periodSeconds", "initialDelaySeconds", "timeoutSeconds", "successThreshold", "failureThreshold"} {
			add(probe+"/negative-"+f, defaultFlags, p, m("httpGet", http, f, -1))
		}
		add(probe+"/period-0-failure-3", defaultFlags, p, m("httpGet", http, "periodSeconds", 0, "failureThreshold", 3))
		add(probe+"/period-0-timeout-1", defaultFlags, p, m("httpGet", http, "timeoutSeconds", 1))
		add(probe+"/period-1-timeout-0", defaultFlags, p, m("httpGet", http, "periodSeconds", 1, "timeoutSeconds", 0))
		add(probe+"/period-1-success-0", defaultFlags, p, m("httpGet", http, "periodSeconds", 1, "successThreshold", 0))
		add(probe+"/period-5-all-set", defaultFlags, p, m("httpGet", http, "periodSeconds", 5, "timeoutSeconds", 2, "failureThreshold", 2, "successThreshold", 1))
		add(probe+"/named-port-not-the-containers", defaultFlags, p, m("httpGet", m("port", "web")))
		add(probe+"/named-port-http1", defaultFlags, ctrPath+".ports", l(m("name", "http1", "containerPort", 8080)), p, m("httpGet", m("port", "http1")))
		add(probe+"/named-port-default-http", defaultFlags, p, m("tcpSocket", m("port", "http")))
		add(probe+"/named-port-h2c-mismatch", defaultFlags, ctrPath+".ports", l(m("name", "h2c", "containerPort", 8080)), p, m("tcpSocket", m("port", "http1")))
		add(probe+"/numbered-port", defaultFlags, p, m("tcpSocket", m("port", 9999)))
		add(probe+"/two-handlers-bad-port", defaultFlags, p, m("httpGet", m("port", "web"), "exec", m("command", l("true"))))
	}
	// Sidecar probes: off by default, port required when on.
	side := append(l(ctrPath+".ports", port8080), sidePath+".image", "gcr.io/knative-samples/sidecar")
	for _, fs := range []flagSet{defaultFlags, enabledFlags} {
		add("sidecar/readiness-no-port", fs, append(side, sidePath+".readinessProbe", m("tcpSocket", m("port", 0)))...)
		add("sidecar/readiness-port", fs, append(side, sidePath+".readinessProbe", m("tcpSocket", m("port", 9000)))...)
		add("sidecar/liveness-http-no-port", fs, append(side, sidePath+".livenessProbe", m("httpGet", m("path", "/")))...)
		add("sidecar/liveness-exec", fs, append(side, sidePath+".livenessProbe", m("exec", m("command", l("true"))))...)
		add("sidecar/startup", fs, append(side, sidePath+".startupProbe", m("exec", m("command", l("true"))))...)
		add("sidecar/env-PORT", fs, append(side, sidePath+".env", l(m("name", "PORT", "value", "1")))...)
		add("sidecar/env-K_SERVICE", fs, append(side, sidePath+".env", l(m("name", "K_SERVICE", "value", "1")))...)
	}

	// Containers: names, counts, ports.
	two := func(a, b string) []any {
		return l(m("name", a, "image", "gcr.io/a", "ports", port8080), m("name", b, "image", "gcr.io/b"))
	}
	add("names/duplicate", defaultFlags, podPath+".containers", two("app", "app"))
	add("names/distinct", defaultFlags, podPath+".containers", two("app", "side"))
	add("names/reserved", defaultFlags, ctrPath+".name", "queue-proxy")
	add("names/reserved-sidecar", defaultFlags, podPath+".containers", two("app", "queue-proxy"))
	add("names/init-duplicates-container", enabledFlags, ctrPath+".name", "app", initPath, m("name", "app", "image", "gcr.io/knative-samples/init"))
	add("names/unnamed-and-user-container-0", defaultFlags, podPath+".containers", l(m("image", "gcr.io/a/b", "ports", port8080), m("name", "user-container-0", "image", "gcr.io/b/c")))
	add("names/named-and-unnamed", defaultFlags, podPath+".containers", l(m("name", "user-container-1", "image", "gcr.io/a/b", "ports", port8080), m("image", "gcr.io/b/c")))
	add("names/unnamed-and-user-container", defaultFlags, ctrPath+".name", "", podPath+".containers[1]", m("name", "user-container", "image", "gcr.io/b/c"), ctrPath+".ports", port8080)
	add("names/init-unnamed-and-init-container", enabledFlags, podPath+".initContainers", l(m("image", "gcr.io/a/b"), m("name", "init-container", "image", "gcr.io/b/c")))
	add("names/init-named-like-user-container", enabledFlags, initPath, m("name", "user-container", "image", "gcr.io/a/b"))
	add("names/init-unnamed", enabledFlags, initPath, m("image", "gcr.io/knative-samples/init"))
	add("names/init-two-unnamed", enabledFlags, podPath+".initContainers", l(m("image", "gcr.io/knative-samples/init"), m("image", "gcr.io/knative-samples/init2")))
	add("names/init-off", defaultFlags, initPath, m("image", "gcr.io/knative-samples/init"))
	add("names/init-probe-lifecycle", enabledFlags, initPath, m("image", "gcr.io/knative-samples/init", "readinessProbe", m("exec", m("command", l("true"))), "lifecycle", m("preStop", m("exec", m("command", l("true"))))))
	add("names/init-ports", enabledFlags, initPath, m("image", "gcr.io/knative-samples/init", "ports", l(m("containerPort", 8012), m("containerPort", 9000, "hostPort", 9000))))
	add("containers/none", defaultFlags, podPath+".containers", l())
	add("containers/two-no-ports", defaultFlags, podPath+".containers", l(m("image", "gcr.io/a"), m("image", "gcr.io/b")))
	add("containers/two-both-ports", defaultFlags, podPath+".containers", l(m("image", "gcr.io/a", "ports", port8080), m("image", "gcr.io/b", "ports", l(m("containerPort", 9000)))))
	add("containers/multi-off", flagSet{"multi-off", map[string]string{"multi-container": "Disabled"}}, podPath+".containers", two("a", "b"))
	add("containers/empty", defaultFlags, podPath+".containers", l(m()))
	add("ports/two", defaultFlags, ctrPath+".ports", l(m("containerPort", 8080), m("containerPort", 9000)))
	for i, p := range []map[string]any{
		m("containerPort", 8080, "hostPort", 8080), m("containerPort", 8080, "hostIP", "1.2.3.4"),
		m("containerPort", 8012), m("containerPort", 9090), m("containerPort", 8008), m("containerPort", -1), m("containerPort", 70000),
		m("containerPort", 8080, "protocol", "UDP"), m("containerPort", 8080, "protocol", "TCP"), m("containerPort", 8080, "name", "grpc"),
		m("containerPort", 8080, "name", "h2c"), m("name", "http1"),
	} {
		add("ports/"+strconvI(i), defaultFlags, ctrPath+".ports", l(p))
	}

	// Fields Knative never allows on a container.
	for _, f := range []struct {
		name string
		v    any
	}{
		{"lifecycle", m("preStop", m("exec", m("command", l("true"))))},
		{"stdin", true}, {"stdinOnce", true}, {"tty", true},
		{"volumeDevices", l(m("name", "d", "devicePath", "/dev/x"))},
		{"resizePolicy", l(m("resourceName", "cpu", "restartPolicy", "NotRequired"))},
		{"restartPolicy", "Always"},
		{"terminationMessagePolicy", "Bogus"},
		{"terminationMessagePolicy", "FallbackToLogsOnError"},
	} {
		for _, fs := range flagSets {
			add("container/"+f.name+"/"+strconvS(f.v), fs, ctrPath+"."+f.name, f.v)
		}
	}
	// Security contexts: privileged, capabilities, ids.
	for _, fs := range []flagSet{defaultFlags, enabledFlags, allowedFlags, rootBounded,
		{"addcaps", map[string]string{"kubernetes.containerspec-addcapabilities": "Enabled"}},
		{"addcaps-allowed", map[string]string{"kubernetes.containerspec-addcapabilities": "Allowed"}}} {
		sc := ctrPath + ".securityContext"
		add("sc/privileged-true", fs, sc, m("privileged", true))
		add("sc/privileged-false", fs, sc, m("privileged", false))
		add("sc/add-net-bind", fs, sc, m("capabilities", m("add", l("NET_BIND_SERVICE"))))
		add("sc/add-net-bind-and-chown", fs, sc, m("capabilities", m("add", l("NET_BIND_SERVICE", "CHOWN"))))
		add("sc/add-sys-admin", fs, sc, m("capabilities", m("add", l("SYS_ADMIN"))))
		add("sc/add-empty", fs, sc, m("capabilities", m("add", l())))
		add("sc/drop-all", fs, sc, m("capabilities", m("drop", l("ALL"))))
		add("sc/run-as-user-negative", fs, sc, m("runAsUser", -1, "runAsGroup", 4294967296))
		add("sc/proc-mount", fs, sc, m("procMount", "Unmasked"))
		add("sc/low-port", fs, ctrPath+".ports", l(m("containerPort", 80)))
		psc := podPath + ".securityContext"
		add("psc/run-as", fs, psc, m("runAsUser", 1000, "runAsGroup", -1, "fsGroup", -1, "supplementalGroups", l(1, -1)))
		add("psc/seccomp-runtime-default", fs, psc, m("seccompProfile", m("type", "RuntimeDefault")))
		add("psc/seccomp-unconfined", fs, psc, m("seccompProfile", m("type", "Unconfined")))
		add("psc/seccomp-localhost", fs, psc, m("seccompProfile", m("type", "Localhost", "localhostProfile", "p.json")))
		add("psc/sysctls", fs, psc, m("sysctls", l(m("name", "net.core.somaxconn", "value", "1024"))))
		add("pod/automount-false", fs, podPath+".automountServiceAccountToken", false)
		add("pod/automount-true", fs, podPath+".automountServiceAccountToken", true)
		add("pod/host-network", fs, podPath+".hostNetwork", true)
		add("pod/host-pid-ipc", fs, podPath+".hostPID", true, podPath+".hostIPC", true)
		add("pod/service-account-bad", fs, podPath+".serviceAccountName", "Not_A_Name")
		add("pod/tolerations-empty", fs, podPath+".tolerations", l())
	}

	// Volumes: unmounted, duplicate names, bad names, no source, two
	// sources, projections, mounts.
	cm := m("configMap", m("name", "c"))
	vol := func(name string, src map[string]any) map[string]any {
		out := m("name", name)
		for k, v := range src {
			out[k] = v
		}
		return out
	}
	mnt := func(name, path string, ro bool) map[string]any {
		return m("name", name, "mountPath", path, "readOnly", ro)
	}
	vs, ms := podPath+".volumes", ctrPath+".volumeMounts"
	for _, fs := range []flagSet{defaultFlags, enabledFlags, allowedFlags} {
		add("volumes/unmounted", fs, vs, l(vol("v", cm)))
		add("volumes/duplicate", fs, vs, l(vol("v", cm), vol("v", cm)), ms, l(mnt("v", "/v", true)))
		add("volumes/bad-name", fs, vs, l(vol("V_1", cm)), ms, l(mnt("V_1", "/v", true)))
		add("volumes/no-name", fs, vs, l(cm))
		add("volumes/no-source", fs, vs, l(m("name", "v")), ms, l(mnt("v", "/v", true)))
		add("volumes/two-sources", fs, vs, l(vol("v", m("configMap", m("name", "c"), "secret", m("secretName", "s")))), ms, l(mnt("v", "/v", true)))
		add("volumes/emptydir", fs, vs, l(vol("v", m("emptyDir", m()))), ms, l(mnt("v", "/v", false)))
		add("volumes/emptydir-medium", fs, vs, l(vol("v", m("emptyDir", m("medium", "Disk", "sizeLimit", "-1")))), ms, l(mnt("v", "/v", false)))
		add("volumes/pvc-ro", fs, vs, l(vol("v", m("persistentVolumeClaim", m("claimName", "c", "readOnly", true)))), ms, l(mnt("v", "/v", false)))
		add("volumes/pvc-rw", fs, vs, l(vol("v", m("persistentVolumeClaim", m("claimName", "c")))), ms, l(mnt("v", "/v", false)))
		add("volumes/hostpath", fs, vs, l(vol("v", m("hostPath", m("path", "/")))), ms, l(mnt("v", "/v", true)))
		add("volumes/csi", fs, vs, l(vol("v", m("csi", m("driver", "d")))), ms, l(mnt("v", "/v", true)))
		add("volumes/image", fs, vs, l(vol("v", m("image", m("pullPolicy", "Sometimes")))), ms, l(mnt("v", "/v", true)))
		add("volumes/nfs", fs, vs, l(vol("v", m("nfs", m("server", "s", "path", "/")))), ms, l(mnt("v", "/v", true)))
		add("volumes/secret-items", fs, vs, l(vol("v", m("secret", m("secretName", "s", "items", l(m("key", "", "path", "")))))), ms, l(mnt("v", "/v", true)))
		add("volumes/projected", fs, vs, l(vol("v", m("projected", m("sources", l(
			m("secret", m("items", l(m("key", "k")))),
			m("configMap", m("name", "c"), "secret", m("name", "s")),
			m(),
			m("serviceAccountToken", m("audience", "a")),
			m("downwardAPI", m("items", l(m("path", "p"), m("path", "", "fieldRef", m("fieldPath", "metadata.name"), "resourceFieldRef", m("resource", "limits.cpu"))))),
			m("clusterTrustBundle", m("path", "p")),
		))))), ms, l(mnt("v", "/v", true)))
		add("mounts/no-volume", fs, ms, l(mnt("nope", "/v", true)))
		add("mounts/not-read-only", fs, vs, l(vol("v", cm)), ms, l(mnt("v", "/v", false)))
		add("mounts/relative", fs, vs, l(vol("v", cm)), ms, l(mnt("v", "v", true)))
		add("mounts/reserved", fs, vs, l(vol("v", cm)), ms, l(mnt("v", "/dev/", true)))
		add("mounts/empty-path", fs, vs, l(vol("v", cm)), ms, l(mnt("v", "", true)))
		add("mounts/same-path", fs, vs, l(vol("v", cm), vol("w", cm)), ms, l(mnt("v", "/v", true), mnt("w", "/v/", true)))
		add("mounts/propagation", fs, vs, l(vol("v", cm)), ms, l(m("name", "v", "mountPath", "/v", "readOnly", true, "mountPropagation", "Bidirectional")))
		add("mounts/propagation-none", fs, vs, l(vol("v", cm)), ms, l(m("name", "v", "mountPath", "/v", "readOnly", true, "mountPropagation", "None")))
		add("mounts/sub-path-expr", fs, vs, l(vol("v", cm)), ms, l(m("name", "v", "mountPath", "/v", "readOnly", true, "subPathExpr", "$(X)")))
		add("mounts/init-only", fs, vs, l(vol("v", cm)), initPath, m("image", "gcr.io/knative-samples/init", "volumeMounts", l(mnt("v", "/v", true))))
		add("mounts/init-not-read-only", fs, vs, l(vol("v", cm)), initPath, m("image", "gcr.io/knative-samples/init", "volumeMounts", l(mnt("v", "/v", false))))
		add("env/field-ref", fs, ctrPath+".env", l(m("name", "N", "valueFrom", m("fieldRef", m("fieldPath", "metadata.name")))))
		add("env/no-name", fs, ctrPath+".env", l(m("value", "1")))
		add("env/reserved", fs, ctrPath+".env", l(m("name", "K_REVISION", "value", "1"), m("name", "PORT", "value", "1")))
		add("envFrom/both-and-neither", fs, ctrPath+".envFrom", l(m("configMapRef", m("name", "c"), "secretRef", m("name", "s")), m("prefix", "P"), m("secretRef", m("name", "s"))))
	}

	// Images: references Knative's webhook parses, and ones it refuses.
	for i, image := range []string{
		"gcr.io/knative-samples/helloworld-go", "helloworld", "x", "a/b:tag", "localhost:5000/app", "registry:5000/app:v1",
		"UPPER/case", "app:", "app:bad tag", "app@sha256:" + hex64, "app:v1@sha256:" + hex64, "app@sha256:abc", "app@md5:" + hex64,
		"example.com/app:" + long129, "a//b", "-app", "app.", "ex ample.com/app", "[::1]:5000/app", "example.com:port/app",
	} {
		add("image/"+strconvI(i), defaultFlags, ctrPath+".image", image)
	}

	// Revision knobs.
	for _, kv := range [][]any{
		{podPath + ".timeoutSeconds", 601}, {podPath + ".timeoutSeconds", -1}, {podPath + ".timeoutSeconds", 0},
		{podPath + ".containerConcurrency", -1}, {podPath + ".containerConcurrency", 1001}, {podPath + ".containerConcurrency", 0},
		{podPath + ".responseStartTimeoutSeconds", 300}, {podPath + ".idleTimeoutSeconds", 0},
	} {
		add("knob/"+kv[0].(string)[len(podPath)+1:]+"="+strconvS(kv[1]), defaultFlags, kv...)
	}

	// Where ebb deliberately differs.
	add("image/ko", defaultFlags, ctrPath+".image", "ko://github.com/ebb-dev/ebb/examples/hello")
	differs("ko-image-dot-dot", "ebb builds a ko:// image from its Go import path, which must be one the go command takes (no .. elements); Knative's webhook sees the string as a registry \"ko:\" and a repository, and accepts it",
		ctrPath+".image", "ko://example.com/../../etc")
	differs("ko-image-upper-case", "a Go import path may hold upper case (github.com/BurntSushi/toml), which ebb builds; Knative's webhook refuses upper case in a repository (ko resolves such images before Knative sees them)",
		ctrPath+".image", "ko://github.com/BurntSushi/app")
	differs("response-start-timeout-over-timeout", "ebb bounds responseStartTimeoutSeconds by timeoutSeconds, as Knative's docs ask; Knative v0.48.1's webhook leaves it unchecked and the queue-proxy then never applies it",
		podPath+".timeoutSeconds", 10, podPath+".responseStartTimeoutSeconds", 20)
	differs("idle-timeout-negative", "ebb refuses a negative idleTimeoutSeconds; Knative v0.48.1's webhook leaves it unchecked",
		podPath+".idleTimeoutSeconds", -1)
	return cs
}

var (
	hex64   = "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"
	long129 = func() string {
		b := make([]byte, 129)
		for i := range b {
			b[i] = 'a'
		}
		return string(b)
	}()
)

func strconvI(i int) string { return fmt.Sprint(i) }

func strconvS(v any) string { return fmt.Sprint(v) }
