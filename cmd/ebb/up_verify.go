package main

import (
	"flag"
	"fmt"
	"os"

	"github.com/ebb-dev/ebb/engine/git"
)

const verifyUsage = `  --verify MODE         accept only heads signed by trusted keys: openpgp or ssh
                        (default none); an unverified head is not applied
  --verify-keys FILE    --verify=openpgp: the trusted keys, an armored key ring
  --allowed-signers FILE  --verify=ssh: the trusted keys, in git's
                        gpg.ssh.allowedSignersFile format
  --signing-key FILE    sign ledger commits with this key: an SSH private key, or
                        an armored OpenPGP one ($EBB_SIGNING_KEY_PASSPHRASE unlocks
                        it); with --verify it is trusted too, and required unless
                        --read-only
`

// verifyFlags are the flags that sign ledger commits and verify heads.
type verifyFlags struct {
	mode, keys, allowedSigners, signingKey *string
}

func addVerifyFlags(fs *flag.FlagSet) *verifyFlags {
	return &verifyFlags{
		mode:           fs.String("verify", "", "verification mode: none, openpgp or ssh"),
		keys:           fs.String("verify-keys", "", "armored OpenPGP key ring of trusted keys"),
		allowedSigners: fs.String("allowed-signers", "", "allowed signers file of trusted SSH keys"),
		signingKey:     fs.String("signing-key", "", "key that signs ledger commits"),
	}
}

// configure sets cfg's signing key and verifier from the flags.
func (v *verifyFlags) configure(e *env, cfg *git.Config, readOnly bool) error {
	if *v.signingKey != "" {
		b, err := os.ReadFile(*v.signingKey)
		if err != nil {
			return fmt.Errorf("--signing-key: %w", err)
		}
		if cfg.Signer, err = git.ParseSigningKey(b, e.getenv("EBB_SIGNING_KEY_PASSPHRASE")); err != nil {
			return fmt.Errorf("--signing-key %s: %w", *v.signingKey, err)
		}
	}
	var err error
	switch *v.mode {
	case "", "none":
		for flag, file := range map[string]string{"verify-keys": *v.keys, "allowed-signers": *v.allowedSigners} {
			if file != "" {
				return fmt.Errorf("--%s: give --verify=openpgp or --verify=ssh to verify commits", flag)
			}
		}
		return nil
	case git.FormatOpenPGP:
		var b []byte
		if b, err = readKeys("verify-keys", *v.keys, "openpgp"); err == nil {
			if cfg.Verify, err = git.NewOpenPGPVerifier(b); err != nil {
				err = fmt.Errorf("--verify-keys %s: %w", *v.keys, err)
			}
		}
	case git.FormatSSH:
		var b []byte
		if b, err = readKeys("allowed-signers", *v.allowedSigners, "ssh"); err == nil {
			var signers []git.AllowedSigner
			if signers, err = git.ParseAllowedSigners(*v.allowedSigners, b); err == nil {
				cfg.Verify, err = git.NewSSHVerifier(signers)
			}
			if err != nil {
				err = fmt.Errorf("--allowed-signers: %w", err)
			}
		}
	default:
		return fmt.Errorf("--verify %q: want none, openpgp or ssh", *v.mode)
	}
	if err != nil {
		return err
	}
	if cfg.Signer == nil && !readOnly {
		return fmt.Errorf("--verify=%s: ledger commits must be signed for the repository to stay verifiable: "+
			"give --signing-key FILE (its key is then trusted too), or --read-only", *v.mode)
	}
	return nil
}

// readKeys reads the file of trusted keys flag names.
func readKeys(flag, file, mode string) ([]byte, error) {
	if file == "" {
		return nil, fmt.Errorf("--verify=%s needs --%s FILE", mode, flag)
	}
	b, err := os.ReadFile(file)
	if err != nil {
		return nil, fmt.Errorf("--%s: %w", flag, err)
	}
	return b, nil
}

// fromEnv sets the flags not given from the environment a controller's
// pod has (manifests/controller.yaml): the mode from $EBB_VERIFY (the
// ConfigMap ebb-controller), the files of the Secret ebb-git from
// $EBB_SIGNING_KEY_FILE (used when the Secret holds a key) and, in the
// mode's format, $EBB_ALLOWED_SIGNERS_FILE or $EBB_VERIFY_KEYS_FILE.
func (v *verifyFlags) fromEnv(e *env, fs *flag.FlagSet, set map[string]bool) error {
	if m := e.getenv("EBB_VERIFY"); m != "" && !set["verify"] {
		*v.mode = m
	}
	files := map[string]string{"signing-key": "EBB_SIGNING_KEY_FILE"}
	switch *v.mode {
	case git.FormatOpenPGP:
		files["verify-keys"] = "EBB_VERIFY_KEYS_FILE"
	case git.FormatSSH:
		files["allowed-signers"] = "EBB_ALLOWED_SIGNERS_FILE"
	}
	for name, env := range files {
		file := e.getenv(env)
		if file == "" || set[name] {
			continue
		}
		if st, err := os.Stat(file); name == "signing-key" && (err != nil || st.Size() == 0) {
			continue // the Secret holds no signing key
		}
		if err := fs.Set(name, file); err != nil {
			return fmt.Errorf("$%s: %w", env, err)
		}
	}
	return nil
}
