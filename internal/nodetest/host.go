//go:build linux

package nodetest

import (
	"bufio"
	"errors"
	"fmt"
	"io/fs"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"time"

	"golang.org/x/sys/unix"
)

// hostSysctls are the host-wide settings the kubelet changes when it
// starts; they are not namespaced, so the node's network namespace does not
// keep them in.
var hostSysctls = []string{"kernel.panic", "kernel.panic_on_oops", "vm.overcommit_memory"}

// host is what the node may change on the host, read before it starts, so
// that teardown puts it back.
// It is kept in the lock file while the node runs, so that the next node
// can undo a run that died without its teardown.
type host struct {
	// Dir is the node's directory.
	Dir     string            `json:"dir"`
	Sysctls map[string]string `json:"sysctls"`
	// Existed records which of the fixed paths the node's programs write
	// (/run/containerd, /var/log/containers, ...) were there before.
	Existed map[string]bool `json:"existed"`
	// Netns lists /run/netns before the node: the pod namespaces
	// containerd adds are the others.
	Netns map[string]bool `json:"netns"`
}

// fixedPaths are directories containerd 1.6, CNI (its result cache) and
// the kubelet use whatever their configuration says. Teardown removes those
// that were not there before.
var fixedPaths = []string{"/run/containerd", "/var/log/containers", "/var/lib/cni"}

func readHost(dir string) (*host, error) {
	h := &host{Dir: dir, Sysctls: map[string]string{}, Existed: map[string]bool{}, Netns: map[string]bool{}}
	for _, k := range hostSysctls {
		v, err := readSysctl(k)
		if err != nil {
			return nil, err
		}
		h.Sysctls[k] = v
	}
	for _, p := range append(fixedPaths, "/run/netns") {
		_, err := os.Stat(p)
		h.Existed[p] = err == nil
	}
	entries, _ := os.ReadDir("/run/netns")
	for _, e := range entries {
		h.Netns[e.Name()] = true
	}
	return h, nil
}

// killPods kills every process in the kubepods cgroups (containers and
// sandboxes) and waits until none is left, so that their mounts and cgroups
// can go.
func killPods() error {
	for range 100 {
		pids := podPIDs()
		if len(pids) == 0 {
			return nil
		}
		for _, pid := range pids {
			_ = syscall.Kill(pid, syscall.SIGKILL)
		}
		time.Sleep(100 * time.Millisecond)
	}
	return fmt.Errorf("kubepods: processes %v still alive after SIGKILL", podPIDs())
}

// kubepodsDirs returns the kubelet's kubepods cgroup in every hierarchy
// (cgroup v1 has one per controller; v2 one).
func kubepodsDirs() []string {
	var dirs []string
	if fi, err := os.Stat("/sys/fs/cgroup/kubepods"); err == nil && fi.IsDir() {
		dirs = append(dirs, "/sys/fs/cgroup/kubepods")
	}
	hierarchies, _ := os.ReadDir("/sys/fs/cgroup")
	for _, h := range hierarchies {
		d := filepath.Join("/sys/fs/cgroup", h.Name(), "kubepods")
		if fi, err := os.Stat(d); err == nil && fi.IsDir() {
			dirs = append(dirs, d)
		}
	}
	return dirs
}

// podPIDs lists the processes in any kubepods cgroup.
func podPIDs() []int {
	seen := map[int]bool{}
	for _, root := range kubepodsDirs() {
		_ = filepath.WalkDir(root, func(p string, d fs.DirEntry, err error) error {
			if err != nil || d.IsDir() || d.Name() != "cgroup.procs" {
				return nil
			}
			b, _ := os.ReadFile(p)
			for _, f := range strings.Fields(string(b)) {
				if pid, err := strconv.Atoi(f); err == nil {
					seen[pid] = true
				}
			}
			return nil
		})
	}
	return slices.Sorted(maps.Keys(seen))
}

// removeKubepods removes the kubepods cgroups, deepest first.
func removeKubepods() error {
	var errs []error
	for _, root := range kubepodsDirs() {
		var dirs []string
		_ = filepath.WalkDir(root, func(p string, d fs.DirEntry, err error) error {
			if err == nil && d.IsDir() {
				dirs = append(dirs, p)
			}
			return nil
		})
		slices.Reverse(dirs)
		for _, d := range dirs {
			if err := rmdirRetry(d); err != nil {
				errs = append(errs, fmt.Errorf("cgroup %s: %w", d, err))
			}
		}
	}
	return errors.Join(errs...)
}

// rmdirRetry removes an empty cgroup, which the kernel may call busy for a
// moment after its last process died.
func rmdirRetry(d string) error {
	var err error
	for range 50 {
		if err = unix.Rmdir(d); err == nil || errors.Is(err, fs.ErrNotExist) {
			return nil
		}
		time.Sleep(20 * time.Millisecond)
	}
	return err
}

// killByArg kills the processes whose command line has arg as one of its
// arguments: the containerd shims of the node's containerd, whose -address
// is the node's own socket, and nothing else.
func killByArg(arg string) {
	procs, _ := os.ReadDir("/proc")
	for _, p := range procs {
		pid, err := strconv.Atoi(p.Name())
		if err != nil {
			continue
		}
		b, err := os.ReadFile(filepath.Join("/proc", p.Name(), "cmdline"))
		if err != nil {
			continue
		}
		if slices.Contains(strings.Split(string(b), "\x00"), arg) {
			_ = syscall.Kill(pid, syscall.SIGKILL)
		}
	}
}

// unmountUnder unmounts every mount point under dir (containerd's
// snapshots and shm, the kubelet's volumes), deepest first.
func unmountUnder(dir string) error {
	points, err := mountPoints()
	if err != nil {
		return err
	}
	var errs []error
	for _, p := range points {
		if strings.HasPrefix(p, dir+"/") {
			if err := unix.Unmount(p, unix.MNT_DETACH); err != nil && !errors.Is(err, unix.EINVAL) {
				errs = append(errs, fmt.Errorf("unmount %s: %w", p, err))
			}
		}
	}
	return errors.Join(errs...)
}

// mountPoints lists this mount namespace's mount points, deepest (longest)
// first.
func mountPoints() ([]string, error) {
	f, err := os.Open("/proc/self/mountinfo")
	if err != nil {
		return nil, err
	}
	defer f.Close()
	var points []string
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 64<<10), 1<<20)
	for sc.Scan() {
		fields := strings.Fields(sc.Text())
		if len(fields) > 4 {
			points = append(points, unescapeMount(fields[4]))
		}
	}
	slices.SortFunc(points, func(a, b string) int { return len(b) - len(a) })
	return points, sc.Err()
}

// unescapeMount undoes mountinfo's octal escapes (\040 for a space).
func unescapeMount(s string) string {
	if !strings.Contains(s, `\`) {
		return s
	}
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		if s[i] == '\\' && i+3 < len(s) {
			if n, err := strconv.ParseUint(s[i+1:i+4], 8, 8); err == nil {
				b.WriteByte(byte(n))
				i += 3
				continue
			}
		}
		b.WriteByte(s[i])
	}
	return b.String()
}

// undo removes the node from the host and restores it, whether the node
// stopped or its test process died: it kills what is left in the kubepods
// cgroups and the shims of the node's containerd, unmounts what is under
// Dir, deletes the network namespace (with its bridge, routes and iptables
// rules), restores the host (restore), checks that nothing is left (check)
// and removes Dir.
func (h *host) undo() error {
	errs := []error{killPods()}
	killByArg(socket(h.Dir))
	errs = append(errs, unmountUnder(h.Dir))
	if _, err := os.Stat(filepath.Join("/run/netns", NodeName)); err == nil {
		errs = append(errs, ip("netns", "delete", NodeName))
	}
	errs = append(errs, h.restore(), h.check(), os.RemoveAll(h.Dir))
	return errors.Join(errs...)
}

// restore puts back what the node changed on the host: the pod network
// namespaces containerd pinned under /run/netns, the kubepods cgroups, the
// sysctls, the kubelet's links in /var/log/containers to the node's logs in
// Dir, and the fixed paths and /run/netns if they were not there. The
// node's processes must have ended.
func (h *host) restore() error {
	dir := h.Dir
	var errs []error
	entries, _ := os.ReadDir("/run/netns")
	for _, e := range entries {
		if h.Netns[e.Name()] || !strings.HasPrefix(e.Name(), "cni-") {
			continue
		}
		p := filepath.Join("/run/netns", e.Name())
		if err := unix.Unmount(p, unix.MNT_DETACH); err != nil && !errors.Is(err, unix.EINVAL) {
			errs = append(errs, fmt.Errorf("unmount %s: %w", p, err))
		}
		if err := os.Remove(p); err != nil {
			errs = append(errs, err)
		}
	}
	errs = append(errs, removeKubepods())
	for _, k := range hostSysctls {
		if v, err := readSysctl(k); err != nil || v != h.Sysctls[k] {
			errs = append(errs, writeSysctl(k, h.Sysctls[k]))
		}
	}
	links, _ := os.ReadDir("/var/log/containers")
	for _, l := range links {
		p := filepath.Join("/var/log/containers", l.Name())
		if target, err := os.Readlink(p); err == nil && strings.HasPrefix(target, dir+"/") {
			errs = append(errs, os.Remove(p))
		}
	}
	for _, p := range fixedPaths {
		if !h.Existed[p] {
			errs = append(errs, os.RemoveAll(p))
		}
	}
	if !h.Existed["/run/netns"] {
		// ip netns made it, bind-mounted on itself; remove it unless
		// something else pinned a namespace there meanwhile.
		if entries, err := os.ReadDir("/run/netns"); err == nil && len(entries) == 0 {
			_ = unix.Unmount("/run/netns", unix.MNT_DETACH)
			errs = append(errs, os.Remove("/run/netns"))
		}
	}
	return errors.Join(errs...)
}

// check says what of the node is still on the host after restore: its
// network namespace, kubepods cgroups, mounts under dir, changed sysctls.
func (h *host) check() error {
	dir := h.Dir
	var errs []error
	if _, err := os.Stat(filepath.Join("/run/netns", NodeName)); err == nil {
		errs = append(errs, fmt.Errorf("network namespace %s is still there", NodeName))
	}
	if d := kubepodsDirs(); len(d) > 0 {
		errs = append(errs, fmt.Errorf("cgroups %v are still there", d))
	}
	points, _ := mountPoints()
	for _, p := range points {
		if strings.HasPrefix(p, dir+"/") {
			errs = append(errs, fmt.Errorf("%s is still mounted", p))
		}
	}
	for _, k := range hostSysctls {
		if v, err := readSysctl(k); err != nil || v != h.Sysctls[k] {
			errs = append(errs, fmt.Errorf("sysctl %s is %q, was %q (%v)", k, v, h.Sysctls[k], err))
		}
	}
	return errors.Join(errs...)
}
