package knativevalidate

import "encoding/json"

// docsSamples are Services from Knative's documentation samples
// (knative/docs code-samples/serving), as published.
var docsSamples = map[string]string{
	"helloworld-go": `apiVersion: serving.knative.dev/v1
kind: Service
metadata:
  name: helloworld-go
  namespace: default
spec:
  template:
    spec:
      containers:
        - image: ghcr.io/knative/helloworld-go:latest
          env:
            - name: TARGET
              value: "Go Sample v1"
`,
	"autoscale-go": `apiVersion: serving.knative.dev/v1
kind: Service
metadata:
  name: autoscale-go
  namespace: default
spec:
  template:
    metadata:
      annotations:
        autoscaling.knative.dev/target: "10"
    spec:
      containers:
        - image: ghcr.io/knative/autoscale-go:latest
`,
	"multi-container": `apiVersion: serving.knative.dev/v1
kind: Service
metadata:
  name: multi-container
  namespace: default
spec:
  template:
    spec:
      containers:
        - image: docker.io/{username}/servingcontainer
          ports:
            - containerPort: 8881
        - image: docker.io/{username}/sidecarcontainer
`,
	"secrets-go": `apiVersion: serving.knative.dev/v1
kind: Service
metadata:
  name: secrets-go
  namespace: default
spec:
  template:
    spec:
      containers:
        - image: docker.io/{username}/secrets-go
          env:
            - name: GOOGLE_APPLICATION_CREDENTIALS
              value: /var/secret/robot.json
          volumeMounts:
            - name: robot-secret
              mountPath: /var/secret
      volumes:
        - name: robot-secret
          secret:
            secretName: google-robot-secret
`,
	"tag-header-1": `apiVersion: serving.knative.dev/v1
kind: Service
metadata:
  name: tag-header
  namespace: default
spec:
  template:
    metadata:
      name: tag-header-revision-1
    spec:
      containers:
        - image: docker.io/{username}/helloworld-go
          env:
            - name: TARGET
              value: "First Revision"
`,
	"tag-header-2": `apiVersion: serving.knative.dev/v1
kind: Service
metadata:
  name: tag-header
  namespace: default
spec:
  template:
    metadata:
      name: tag-header-revision-2
    spec:
      containers:
        - image: docker.io/{username}/helloworld-go
          env:
            - name: TARGET
              value: "Second Revision"
  traffic:
    - tag: rev1
      revisionName: tag-header-revision-1
      percent: 0
    - revisionName: tag-header-revision-2
      percent: 100
`,
	"grpc-ping-go": `apiVersion: serving.knative.dev/v1
kind: Service
metadata:
  name: grpc-ping
  namespace: default
spec:
  template:
    spec:
      containers:
        - image: docker.io/{username}/grpc-ping-go
          ports:
            - name: h2c
              containerPort: 8080
          readinessProbe:
            grpc:
              port: 8080
`,
	"blue-green": `apiVersion: serving.knative.dev/v1
kind: Service
metadata:
  name: route-demo
  namespace: default
spec:
  template:
    metadata:
      name: route-demo-v2
    spec:
      containers:
        - image: ghcr.io/knative/helloworld-go:latest
          env:
            - name: TARGET
              value: "green"
  traffic:
    - revisionName: route-demo-v1
      percent: 50
    - revisionName: route-demo-v2
      percent: 50
      tag: v2
`,
}

// mutations change a sample's first container (or pod spec) into
// something Knative refuses, or keep it valid.
var mutations = []struct {
	name string
	kv   []any
}{
	{"as-published", nil},
	{"hostPort", []any{ctrPath + ".ports", []any{map[string]any{"containerPort": 8080, "hostPort": 80}}}},
	{"privileged", []any{ctrPath + ".securityContext", map[string]any{"privileged": true}}},
	{"add-sys-admin", []any{ctrPath + ".securityContext", map[string]any{"capabilities": map[string]any{"add": []any{"SYS_ADMIN"}}}}},
	{"add-net-bind", []any{ctrPath + ".securityContext", map[string]any{"capabilities": map[string]any{"add": []any{"NET_BIND_SERVICE"}}}}},
	{"lifecycle", []any{ctrPath + ".lifecycle", map[string]any{"preStop": map[string]any{"sleep": map[string]any{"seconds": 1}}}}},
	{"stdin-tty", []any{ctrPath + ".stdin", true, ctrPath + ".tty", true}},
	{"probe-two-handlers", []any{ctrPath + ".readinessProbe", map[string]any{"httpGet": map[string]any{"path": "/"}, "tcpSocket": map[string]any{"port": 0}}}},
	{"probe-negative-period", []any{ctrPath + ".livenessProbe", map[string]any{"httpGet": map[string]any{"path": "/"}, "periodSeconds": -5}}},
	{"probe-period-0-failure", []any{ctrPath + ".readinessProbe", map[string]any{"httpGet": map[string]any{"path": "/"}, "failureThreshold": 3}}},
	{"probe-named-port", []any{ctrPath + ".readinessProbe", map[string]any{"tcpSocket": map[string]any{"port": "metrics"}}}},
	{"unmounted-volume", []any{podPath + ".volumes", []any{map[string]any{"name": "extra", "emptyDir": map[string]any{}}}}},
	{"duplicate-names", []any{ctrPath + ".name", "app", sidePath, map[string]any{"name": "app", "image": "docker.io/x/side"}}},
	{"node-name", []any{podPath + ".nodeName", "node-1"}},
	{"host-network", []any{podPath + ".hostNetwork", true}},
}

// samples are the docs samples, each as published and mutated.
func samples() []Case {
	var cs []Case
	for _, name := range sortedKeys(docsSamples) {
		for _, mu := range mutations {
			obj := fromYAML(docsSamples[name])
			if mu.name == "duplicate-names" {
				// A second container needs the port on the first one.
				set(obj, ctrPath+".ports", []any{map[string]any{"containerPort": 8080}})
			}
			for i := 0; i+1 < len(mu.kv); i += 2 {
				set(obj, mu.kv[i].(string), clone(mu.kv[i+1]))
			}
			cs = append(cs, Case{Name: "sample/" + name + "/" + mu.name, Service: obj})
		}
	}
	return cs
}

// clone copies a JSON value, so that cases share no maps.
func clone(v any) any {
	b, err := json.Marshal(v)
	if err != nil {
		panic(err)
	}
	var out any
	if err := json.Unmarshal(b, &out); err != nil {
		panic(err)
	}
	return out
}
