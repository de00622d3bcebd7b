package kubetest

import (
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"encoding/hex"
	"encoding/pem"
	"fmt"
	"net"
	"os"
	"path/filepath"
)

// writeServiceAccountKey writes a fresh 2048-bit RSA key in PKCS#8 PEM: the
// apiserver signs and verifies service-account tokens with it, and the
// controller-manager signs them.
func writeServiceAccountKey(path string) error {
	key, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		return fmt.Errorf("service-account key: %w", err)
	}
	der, err := x509.MarshalPKCS8PrivateKey(key)
	if err != nil {
		return fmt.Errorf("service-account key: %w", err)
	}
	return os.WriteFile(path, pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: der}), 0o600)
}

// newToken returns a random bearer token.
func newToken() (string, error) {
	b := make([]byte, 24)
	if _, err := rand.Read(b); err != nil {
		return "", fmt.Errorf("token: %w", err)
	}
	return hex.EncodeToString(b), nil
}

// writeTokenFile writes the apiserver's static token file: one user, admin,
// in system:masters, so RBAC allows it everything.
func writeTokenFile(path, token string) error {
	line := fmt.Sprintf("%s,admin,admin,system:masters\n", token)
	return os.WriteFile(path, []byte(line), 0o600)
}

// writeKubeconfig writes a kubeconfig for the admin token that skips TLS
// verification of the apiserver's self-signed serving certificate.
func writeKubeconfig(path, host, token string) error {
	const format = `apiVersion: v1
kind: Config
clusters:
- name: kubetest
  cluster:
    server: %s
    insecure-skip-tls-verify: true
users:
- name: admin
  user:
    token: %s
contexts:
- name: kubetest
  context:
    cluster: kubetest
    user: admin
current-context: kubetest
`
	return os.WriteFile(path, fmt.Appendf(nil, format, host, token), 0o600)
}

// freePorts finds n distinct free TCP ports on 127.0.0.1. etcd and
// kube-apiserver bind the ports they are given by flag and take no
// listener handed over, so the ports are released before returning and
// another process could take one in between: New then starts over on other
// ports, three times at most.
func freePorts(n int) ([]int, error) {
	ports := make([]int, 0, n)
	var ls []net.Listener
	defer func() {
		for _, l := range ls {
			l.Close()
		}
	}()
	for range n {
		l, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			return nil, fmt.Errorf("free port: %w", err)
		}
		ls = append(ls, l)
		ports = append(ports, l.Addr().(*net.TCPAddr).Port)
	}
	return ports, nil
}

// mkdirs creates the directories under dir.
func mkdirs(dir string, names ...string) error {
	for _, n := range names {
		if err := os.MkdirAll(filepath.Join(dir, n), 0o700); err != nil {
			return err
		}
	}
	return nil
}
