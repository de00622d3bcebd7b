//go:build unix

package main

import (
	"flag"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/ebb-dev/ebb/internal/gittest"
)

// TestVerifyFlags: what --verify and its key flags make of a source's
// configuration, and what they refuse.
func TestVerifyFlags(t *testing.T) {
	dir := t.TempDir()
	write := func(name, content string) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, []byte(content), 0o600); err != nil {
			t.Fatal(err)
		}
		return p
	}
	k := gittest.NewSigningKey(t)
	allowed := write("allowed_signers", k.AllowedSigner("alice@example.com", ""))
	badAllowed := write("bad_allowed_signers", "# trusted\nalice@example.com ssh-ed25519\n")
	signing := write("signing-key", string(k.PEM))
	e := &env{getenv: func(string) string { return "" }}
	type got struct {
		Err            string
		Verify, Signed bool
	}
	for _, tc := range []struct {
		name string
		args []string
		want got
	}{
		{"off", nil, got{}},
		{"signing only", []string{"--signing-key", signing}, got{Signed: true}},
		{"ssh", []string{"--verify", "ssh", "--allowed-signers", allowed, "--signing-key", signing}, got{Verify: true, Signed: true}},
		{"ssh read-only", []string{"--verify", "ssh", "--allowed-signers", allowed, "--read-only"}, got{Verify: true}},
		{"ssh unsigned ledger", []string{"--verify", "ssh", "--allowed-signers", allowed},
			got{Err: "--verify=ssh: ledger commits must be signed for the repository to stay verifiable: give --signing-key FILE (its key is then trusted too), or --read-only"}},
		{"ssh without keys", []string{"--verify", "ssh", "--read-only"}, got{Err: "--verify=ssh needs --allowed-signers FILE"}},
		{"openpgp without keys", []string{"--verify", "openpgp", "--read-only"}, got{Err: "--verify=openpgp needs --verify-keys FILE"}},
		{"keys without mode", []string{"--allowed-signers", allowed}, got{Err: "--allowed-signers: give --verify=openpgp or --verify=ssh to verify commits"}},
		{"bad mode", []string{"--verify", "x509"}, got{Err: `--verify "x509": want none, openpgp or ssh`}},
		{"bad allowed signers", []string{"--verify", "ssh", "--allowed-signers", badAllowed, "--read-only"},
			got{Err: "--allowed-signers: " + badAllowed + ":2: key: ssh: no key found"}},
		{"openpgp with an ssh key ring", []string{"--verify", "openpgp", "--verify-keys", allowed, "--read-only"},
			got{Err: "--verify-keys " + allowed + ": OpenPGP key ring: EOF"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			fs := flag.NewFlagSet("up", flag.ContinueOnError)
			g := addGitFlags(fs)
			if err := fs.Parse(tc.args); err != nil {
				t.Fatal(err)
			}
			cfg, err := g.sourceConfig(e, "https://git.example.com/serving.git", t.TempDir())
			var res got
			if err != nil {
				res.Err = err.Error()
			} else {
				res.Verify, res.Signed = cfg.Verify != nil, cfg.Signer != nil
			}
			if diff := cmp.Diff(tc.want, res); diff != "" {
				t.Errorf("(-want +got):\n%s", diff)
			}
		})
	}
}

// TestControllerVerifyEnv: in a pod, the mode comes from $EBB_VERIFY and
// the keys from the Secret's files; a signing key file the Secret leaves
// empty is no signing key.
func TestControllerVerifyEnv(t *testing.T) {
	in := readInstall(t)
	k := gittest.NewSigningKey(t)
	for _, tc := range []struct {
		name           string
		secret, config map[string]string
		want           string // the error, "" for none
		verify, signed bool
	}{
		{"install defaults", nil, nil, "", false, false},
		{"ssh", map[string]string{"allowed_signers": k.AllowedSigner("a@example.com", ""), "signing-key": string(k.PEM)},
			map[string]string{"EBB_VERIFY": "ssh"}, "", true, true},
		{"ssh without a signing key", map[string]string{"allowed_signers": k.AllowedSigner("a@example.com", "")},
			map[string]string{"EBB_VERIFY": "ssh"}, "--verify=ssh: ledger commits must be signed for the repository to stay verifiable: give --signing-key FILE (its key is then trusted too), or --read-only", false, false},
		{"openpgp with an empty key ring", nil, map[string]string{"EBB_VERIFY": "openpgp"}, "OpenPGP key ring: no keys", false, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			config := map[string]string{"EBB_REPO_URL": "https://git.example.com/serving.git"}
			for k, v := range tc.config {
				config[k] = v
			}
			e := &env{getenv: in.env(t, tc.secret, config, dir)}
			o, err := controllerFlags(e, nil)
			if err != nil {
				t.Fatal(err)
			}
			cfg, err := o.git.sourceConfig(e, o.url, t.TempDir())
			got := ""
			if err != nil {
				got = err.Error()
			}
			if tc.want == "" && got != "" || tc.want != "" && !strings.Contains(got, tc.want) {
				t.Fatalf("error %q, want %q", got, tc.want)
			}
			if err == nil && ((cfg.Verify != nil) != tc.verify || (cfg.Signer != nil) != tc.signed) {
				t.Errorf("verify %v, signed %v; want %v, %v", cfg.Verify != nil, cfg.Signer != nil, tc.verify, tc.signed)
			}
		})
	}
}
