package admin

import (
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
)

// NewToken returns a random bearer token: 32 bytes, hex.
func NewToken() string {
	b := make([]byte, 32)
	rand.Read(b) // never fails (crypto/rand)
	return hex.EncodeToString(b)
}

// TokenPath is where the admin server of `ebb up` listening on port keeps
// its token: $XDG_RUNTIME_DIR/ebb/<port>.token, else
// $XDG_CACHE_HOME/ebb/admin/<port>.token, else
// $HOME/.cache/ebb/admin/<port>.token. getenv reads the environment.
func TokenPath(getenv func(string) string, port int) (string, error) {
	name := strconv.Itoa(port) + ".token"
	if d := getenv("XDG_RUNTIME_DIR"); d != "" {
		return filepath.Join(d, "ebb", name), nil
	}
	if d := getenv("XDG_CACHE_HOME"); d != "" {
		return filepath.Join(d, "ebb", "admin", name), nil
	}
	if d := getenv("HOME"); d != "" {
		return filepath.Join(d, ".cache", "ebb", "admin", name), nil
	}
	return "", errors.New("admin token: none of $XDG_RUNTIME_DIR, $XDG_CACHE_HOME, $HOME is set")
}

// WriteToken writes token to path, readable by this user only (0600, in
// a directory made 0700), through a rename so that a reader never sees
// half of it.
func WriteToken(path, token string) error {
	dir := filepath.Dir(path)
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return fmt.Errorf("admin token: %w", err)
	}
	f, err := os.CreateTemp(dir, ".token-*")
	if err != nil {
		return fmt.Errorf("admin token: %w", err)
	}
	_, err = f.WriteString(token + "\n")
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = os.Rename(f.Name(), path)
	}
	if err != nil {
		os.Remove(f.Name())
		return fmt.Errorf("admin token %s: %w", path, err)
	}
	return nil
}

// ReadToken reads the token WriteToken wrote at path.
func ReadToken(path string) (string, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return "", fmt.Errorf("admin token: %w", err)
	}
	tok := strings.TrimSpace(string(b))
	if tok == "" {
		return "", fmt.Errorf("admin token %s: empty", path)
	}
	return tok, nil
}

// RemoveToken removes the token at path if it is still token (another
// ebb up may have taken the port since).
func RemoveToken(path, token string) {
	if got, err := ReadToken(path); err == nil && got == token {
		os.Remove(path)
	}
}
