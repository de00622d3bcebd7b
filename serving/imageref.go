package serving

import (
	"fmt"
	"net/url"
	"strings"
	"unicode/utf8"
)

// The characters of a tag and of a repository, as go-containerregistry's
// name package (which Knative's webhook uses) allows them.
const (
	tagChars        = "abcdefghijklmnopqrstuvwxyz0123456789_-.ABCDEFGHIJKLMNOPQRSTUVWXYZ"
	repositoryChars = "abcdefghijklmnopqrstuvwxyz0123456789_-./"
)

// checkImageReference reports whether image parses as a tag or digest
// reference under go-containerregistry's weak validation, the check
// Knative applies to a container's image.
func checkImageReference(image string) error {
	if parseTag(image) == nil || parseDigest(image) == nil {
		return nil
	}
	return fmt.Errorf("could not parse reference: %s", image)
}

func parseTag(name string) error {
	base := name
	parts := strings.Split(name, ":")
	if len(parts) > 1 && !strings.Contains(parts[len(parts)-1], "/") {
		base = strings.Join(parts[:len(parts)-1], ":")
		if tag := parts[len(parts)-1]; tag != "" {
			if err := checkElement(tag, tagChars, 1, 128); err != nil {
				return err
			}
		}
	}
	return parseRepository(base)
}

func parseDigest(name string) error {
	parts := strings.Split(name, "@")
	if len(parts) != 2 {
		return fmt.Errorf("no single @")
	}
	hex, ok := strings.CutPrefix(parts[1], "sha256:")
	if !ok || len(hex) != 64 || strings.Trim(hex, "0123456789abcdef") != "" {
		return fmt.Errorf("bad digest %s", parts[1])
	}
	if parseTag(parts[0]) == nil {
		return nil
	}
	return parseRepository(parts[0])
}

func parseRepository(name string) error {
	if name == "" {
		return fmt.Errorf("a repository name must be specified")
	}
	registry, repo := "", name
	if r, rest, ok := strings.Cut(name, "/"); ok && strings.ContainsAny(r, ".:") {
		registry, repo = r, rest
	}
	if err := checkElement(repo, repositoryChars, 2, 255); err != nil {
		return err
	}
	if u, err := url.Parse("//" + registry); err != nil || u.Host != registry {
		return fmt.Errorf("registries must be valid RFC 3986 URI authorities: %s", registry)
	}
	return nil
}

func checkElement(s, allowed string, lo, hi int) error {
	if n := utf8.RuneCountInString(s); n < lo || n > hi {
		return fmt.Errorf("%q: length %d, want %d to %d", s, n, lo, hi)
	}
	if strings.ContainsFunc(s, func(r rune) bool { return !strings.ContainsRune(allowed, r) }) {
		return fmt.Errorf("%q: characters outside %s", s, allowed)
	}
	return nil
}
