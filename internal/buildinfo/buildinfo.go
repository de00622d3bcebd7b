// Package buildinfo names the build of an ebb binary.
package buildinfo

import "runtime/debug"

// Version is linked when set at link time (-ldflags "-X main.version=…");
// otherwise the module version of a `go install …@version`, else the Git
// commit the binary was built from (as `go build` and ko record it, with
// "-dirty" for uncommitted changes), else "dev".
func Version(linked string) string {
	if linked != "" && linked != "dev" {
		return linked
	}
	bi, ok := debug.ReadBuildInfo()
	if !ok {
		return "dev"
	}
	return fromBuildInfo(bi)
}

func fromBuildInfo(bi *debug.BuildInfo) string {
	if v := bi.Main.Version; v != "" && v != "(devel)" {
		return v
	}
	var rev string
	dirty := false
	for _, s := range bi.Settings {
		switch s.Key {
		case "vcs.revision":
			rev = s.Value
		case "vcs.modified":
			dirty = s.Value == "true"
		}
	}
	if rev == "" {
		return "dev"
	}
	if len(rev) > 12 {
		rev = rev[:12]
	}
	if dirty {
		rev += "-dirty"
	}
	return rev
}
