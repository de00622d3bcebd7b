package nodetest

import (
	"archive/tar"
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"maps"
	"os"
	"path"
	"runtime"
	"slices"
)

// Image is a container image of static binaries, written as a docker
// archive (the format of `docker save`) that `ctr images import` loads, so
// no registry is needed.
type Image struct {
	// Ref names the image, e.g. ebb.local/ebb:test; pods name it with
	// imagePullPolicy Never.
	Ref string
	// Files maps a path in the image to the file on disk it copies.
	Files map[string]string
	// Entrypoint and User are the image's config; User as uid:gid, so
	// that runAsNonRoot pods can run it.
	Entrypoint []string
	User       string
}

// WriteArchive writes img as a docker archive to file: one uncompressed
// layer with img's files (mode 0755), a config, and manifest.json.
func (img Image) WriteArchive(file string) error {
	layer, err := img.layer()
	if err != nil {
		return fmt.Errorf("image %s: %w", img.Ref, err)
	}
	layerSum := sha256.Sum256(layer)
	diffID := "sha256:" + hex.EncodeToString(layerSum[:])
	config, err := json.Marshal(map[string]any{
		"architecture": runtime.GOARCH,
		"os":           "linux",
		"config": map[string]any{
			"Entrypoint": img.Entrypoint,
			"User":       img.User,
			"Env":        []string{"PATH=/usr/local/bin:/usr/bin:/bin"},
		},
		"rootfs": map[string]any{"type": "layers", "diff_ids": []string{diffID}},
	})
	if err != nil {
		return fmt.Errorf("image %s: %w", img.Ref, err)
	}
	configSum := sha256.Sum256(config)
	configName := hex.EncodeToString(configSum[:]) + ".json"
	layerName := hex.EncodeToString(layerSum[:]) + "/layer.tar"
	manifest, err := json.Marshal([]map[string]any{{
		"Config": configName, "RepoTags": []string{img.Ref}, "Layers": []string{layerName},
	}})
	if err != nil {
		return fmt.Errorf("image %s: %w", img.Ref, err)
	}
	var out bytes.Buffer
	tw := tar.NewWriter(&out)
	for _, f := range []struct {
		name string
		body []byte
	}{{configName, config}, {layerName, layer}, {"manifest.json", manifest}} {
		if err := writeTarFile(tw, f.name, 0o644, f.body); err != nil {
			return fmt.Errorf("image %s: %w", img.Ref, err)
		}
	}
	if err := tw.Close(); err != nil {
		return fmt.Errorf("image %s: %w", img.Ref, err)
	}
	if err := os.WriteFile(file, out.Bytes(), 0o644); err != nil {
		return fmt.Errorf("image %s: %w", img.Ref, err)
	}
	return nil
}

// layer is the tar of img's files, their directories first.
func (img Image) layer() ([]byte, error) {
	var buf bytes.Buffer
	tw := tar.NewWriter(&buf)
	written := map[string]bool{}
	for _, name := range slices.Sorted(maps.Keys(img.Files)) {
		rel := path.Clean("/" + name)[1:]
		var dirs []string
		for d := path.Dir(rel); d != "." && !written[d]; d = path.Dir(d) {
			written[d] = true
			dirs = append(dirs, d)
		}
		slices.Reverse(dirs)
		for _, d := range dirs {
			if err := tw.WriteHeader(&tar.Header{Typeflag: tar.TypeDir, Name: d + "/", Mode: 0o755}); err != nil {
				return nil, err
			}
		}
		body, err := os.ReadFile(img.Files[name])
		if err != nil {
			return nil, err
		}
		if err := writeTarFile(tw, rel, 0o755, body); err != nil {
			return nil, err
		}
	}
	if err := tw.Close(); err != nil {
		return nil, err
	}
	return buf.Bytes(), nil
}

func writeTarFile(tw *tar.Writer, name string, mode int64, body []byte) error {
	if err := tw.WriteHeader(&tar.Header{Typeflag: tar.TypeReg, Name: name, Mode: mode, Size: int64(len(body))}); err != nil {
		return err
	}
	_, err := tw.Write(body)
	return err
}
