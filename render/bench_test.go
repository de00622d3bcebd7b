//go:build unix

package render

import (
	"fmt"
	goruntime "runtime"
	"slices"
	"syscall"
	"testing"
	"time"

	"k8s.io/apimachinery/pkg/runtime"
	"sigs.k8s.io/kustomize/api/krusty"
	"sigs.k8s.io/kustomize/kyaml/filesys"

	"github.com/ebb-dev/ebb/serving"
)

func benchmarkRender(b *testing.B, n int) {
	in := benchInput(n, 1)
	b.ReportAllocs()
	objs := 0
	cpu := cpuTime(b)
	for b.Loop() {
		out, err := Render(in)
		if err != nil {
			b.Fatal(err)
		}
		objs = len(out)
	}
	reportPerService(b, n, cpuTime(b)-cpu)
	b.ReportMetric(float64(objs)/float64(n), "objects/service")
}

// BenchmarkRender1000 and BenchmarkRender2000 are B7: rendering 1000 and
// 2000 Services.
func BenchmarkRender1000(b *testing.B) { benchmarkRender(b, 1000) }
func BenchmarkRender2000(b *testing.B) { benchmarkRender(b, 2000) }

// benchmarkFirstPass is the engine's render of a first state (see
// engine.Pipeline): a Memo without a base, RenderLean, then the whole
// state rendered again as a Target that needs every object does.
func benchmarkFirstPass(b *testing.B, n int, whole bool) {
	in := benchInput(n, 1)
	b.ReportAllocs()
	objs := 0
	cpu := cpuTime(b)
	for b.Loop() {
		m := Memo{Whole: whole}
		d, err := m.RenderLean(in)
		if err != nil {
			b.Fatal(err)
		}
		out := d.Objects
		if len(d.Same) > 0 || out == nil {
			if out, err = Render(in); err != nil {
				b.Fatal(err)
			}
		}
		objs = len(out)
	}
	reportPerService(b, n, cpuTime(b)-cpu)
	b.ReportMetric(float64(objs)/float64(n), "objects/service")
}

// BenchmarkFirstPass1000 and BenchmarkFirstPass2000 are B7 through the
// engine's pipeline: a first pass over 1000 and 2000 Services, lean (the
// cluster's Target) and whole (the local runtime's, Memo.Whole).
func BenchmarkFirstPass1000(b *testing.B)      { benchmarkFirstPass(b, 1000, false) }
func BenchmarkFirstPass2000(b *testing.B)      { benchmarkFirstPass(b, 2000, false) }
func BenchmarkFirstPassWhole1000(b *testing.B) { benchmarkFirstPass(b, 1000, true) }
func BenchmarkFirstPassWhole2000(b *testing.B) { benchmarkFirstPass(b, 2000, true) }

// BenchmarkMemoPush1000 is a push to the 1000-Service state of
// BenchmarkRender1000: each Render changes one Service's template (its
// ledger gains a revision that takes the traffic) relative to the last
// state, which is then kept. It reports the bytes the kept base holds.
func BenchmarkMemoPush1000(b *testing.B) {
	const n = 1000
	in := benchInput(n, 1)
	var m Memo
	mustMemo(b, &m, in) // not kept: warms the converter's caches
	goruntime.GC()
	var before, after goruntime.MemStats
	goruntime.ReadMemStats(&before)
	m.Keep(mustMemo(b, &m, in))
	goruntime.GC()
	goruntime.ReadMemStats(&after)
	base := float64(after.HeapAlloc) - float64(before.HeapAlloc)

	b.ReportAllocs()
	objs, same := 0, 0
	cpu := cpuTime(b)
	i := 0
	for b.Loop() {
		next := pushed(in, i%n)
		d := mustMemo(b, &m, next)
		m.Keep(d)
		in = next
		objs, same = len(d.Objects), len(d.Same)
		i++
	}
	reportPerService(b, n, cpuTime(b)-cpu)
	b.ReportMetric(float64(objs), "objects/push")
	b.ReportMetric(float64(same), "same/push")
	b.ReportMetric(base, "base-bytes")
}

func mustMemo(b *testing.B, m *Memo, in Input) *Delta {
	d, err := m.Render(in)
	if err != nil {
		b.Fatal(err)
	}
	return d
}

// pushed is in with Service i's image changed and planned by hand: a new
// revision with all the traffic.
func pushed(in Input, i int) Input {
	in.Services = slices.Clone(in.Services)
	in.Ledgers = slices.Clone(in.Ledgers)
	s := *in.Services[i]
	s.Spec.Template = *s.Spec.Template.DeepCopy()
	s.Spec.Template.Spec.Containers[0].Image += "-next"
	l := in.Ledgers[i].DeepCopy()
	l.Generation++
	name := fmt.Sprintf("%s-%05d", l.Service, l.Generation)
	l.Revisions = append(l.Revisions[len(l.Revisions)-1:], serving.Revision{
		Name: name, Generation: l.Generation, Hash: fmt.Sprintf("h%d", l.Generation), Template: *s.Spec.Template.DeepCopy(),
	})
	l.Latest = name
	l.Traffic = []serving.Target{{RevisionName: name, LatestRevision: true, Percent: 100}}
	in.Services[i], in.Ledgers[i] = &s, l
	return in
}

// benchmarkKrusty is B7's peer: kustomize (krusty) building the same
// objects from YAML files in memory, the way a GitOps tool builds a tree.
func benchmarkKrusty(b *testing.B, n int) {
	objs, err := Render(benchInput(n, 1))
	if err != nil {
		b.Fatal(err)
	}
	fs := filesys.MakeFsInMemory()
	kust := "resources:\n"
	for i := 0; i < len(objs); i += 50 {
		name := fmt.Sprintf("/app/objects-%05d.yaml", i/50)
		if err := fs.WriteFile(name, []byte(toYAML(b, objs[i:min(i+50, len(objs))]))); err != nil {
			b.Fatal(err)
		}
		kust += "- " + name[len("/app/"):] + "\n"
	}
	if err := fs.WriteFile("/app/kustomization.yaml", []byte(kust)); err != nil {
		b.Fatal(err)
	}
	k := krusty.MakeKustomizer(krusty.MakeDefaultOptions())
	b.ReportAllocs()
	cpu := cpuTime(b)
	for b.Loop() {
		m, err := k.Run(fs, "/app")
		if err != nil {
			b.Fatal(err)
		}
		if m.Size() != len(objs) {
			b.Fatalf("krusty built %d objects, want %d", m.Size(), len(objs))
		}
	}
	reportPerService(b, n, cpuTime(b)-cpu)
}

// reportPerService reports wall time and CPU time (all threads, GC
// included) per Service: on a machine shared with other work the wall
// time grows with the load, the CPU time much less.
func reportPerService(b *testing.B, n int, cpu time.Duration) {
	per := float64(b.N) * float64(n)
	b.ReportMetric(float64(b.Elapsed().Microseconds())/per, "µs/service")
	b.ReportMetric(float64(cpu.Microseconds())/per, "cpu-µs/service")
}

// cpuTime is the CPU time the process has used so far.
func cpuTime(b *testing.B) time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		b.Fatal(err)
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

func BenchmarkKrusty1000(b *testing.B) { benchmarkKrusty(b, 1000) }
func BenchmarkKrusty2000(b *testing.B) { benchmarkKrusty(b, 2000) }
func BenchmarkKrusty100(b *testing.B)  { benchmarkKrusty(b, 100) }
func BenchmarkKrusty200(b *testing.B)  { benchmarkKrusty(b, 200) }

// BenchmarkCopyOutput1000 is B7's floor: deep-copying the 1000-Service
// output, i.e. only allocating the same unstructured maps, no building.
func BenchmarkCopyOutput1000(b *testing.B) {
	objs, err := Render(benchInput(1000, 1))
	if err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	cpu := cpuTime(b)
	for b.Loop() {
		for _, o := range objs {
			_ = runtime.DeepCopyJSON(o.Object)
		}
	}
	reportPerService(b, 1000, cpuTime(b)-cpu)
}

// BenchmarkConvert1000 is the conversion part of BenchmarkRender1000:
// every typed object of the 1000-Service render converted to its
// unstructured form, on one goroutine.
func BenchmarkConvert1000(b *testing.B) {
	var typed []any
	if _, err := render(benchInput(1000, 1), func(obj any, _ map[string]any) { typed = append(typed, obj) }); err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	cpu := cpuTime(b)
	for b.Loop() {
		var st encodeState
		for _, obj := range typed {
			if _, err := st.toUnstructured(obj); err != nil {
				b.Fatal(err)
			}
		}
	}
	reportPerService(b, 1000, cpuTime(b)-cpu)
}
