package serving

import (
	"bytes"
	"fmt"
	"io"
	"io/fs"
	"strconv"
	"strings"

	"k8s.io/apimachinery/pkg/api/resource"
)

// Limits bound what Load reads from a repository, so that a commit with a
// huge file or tens of thousands of objects is refused with an error
// naming the file and the limit, instead of being read into memory. Sizes
// are checked from the file system's Stat before a file is read (a Git
// tree knows a blob's size without inflating it), and no read goes past
// the limit. Zero fields take the defaults.
type Limits struct {
	// FileBytes bounds one file: a YAML file, a ledger, or any file a
	// kustomize build is given (default 4 MiB).
	FileBytes int64
	// DocumentBytes bounds one YAML document, and one object a kustomize
	// build makes (default 1.5 MiB: the largest request etcd accepts, so
	// the largest object a cluster can store).
	DocumentBytes int64
	// Objects bounds the documents of the tree, or the objects a
	// kustomize build makes (default 10 000).
	Objects int
	// TreeBytes bounds the files read, together (default 64 MiB).
	TreeBytes int64
	// Files bounds how many files are read: YAML files and ledgers, or
	// every file given to a kustomize build (default 10 000).
	Files int
}

// DefaultLimits are the limits Load applies where none are set.
var DefaultLimits = Limits{
	FileBytes:     4 << 20,
	DocumentBytes: 3 << 19, // 1.5 MiB
	Objects:       10000,
	TreeBytes:     64 << 20,
	Files:         10000,
}

// orDefault fills the zero fields of l from DefaultLimits.
func (l Limits) orDefault() Limits {
	d := DefaultLimits
	if l.FileBytes > 0 {
		d.FileBytes = l.FileBytes
	}
	if l.DocumentBytes > 0 {
		d.DocumentBytes = l.DocumentBytes
	}
	if l.Objects > 0 {
		d.Objects = l.Objects
	}
	if l.TreeBytes > 0 {
		d.TreeBytes = l.TreeBytes
	}
	if l.Files > 0 {
		d.Files = l.Files
	}
	return d
}

// String prints l (its zero fields as the defaults) the way Set reads it:
// "file=4Mi,document=1536Ki,objects=10k,tree=64Mi,files=10k".
func (l Limits) String() string {
	l = l.orDefault()
	q := func(n int64, f resource.Format) string { return resource.NewQuantity(n, f).String() }
	return fmt.Sprintf("file=%s,document=%s,objects=%s,tree=%s,files=%s",
		q(l.FileBytes, resource.BinarySI), q(l.DocumentBytes, resource.BinarySI), q(int64(l.Objects), resource.DecimalSI),
		q(l.TreeBytes, resource.BinarySI), q(int64(l.Files), resource.DecimalSI))
}

// Set reads limits as a comma-separated list of key=value, as a flag:
// file, document and tree take sizes (4Mi, 1.5Mi, 4194304), objects and
// files counts (10000, 10k). Keys not given keep their value.
func (l *Limits) Set(spec string) error {
	for _, kv := range strings.Split(spec, ",") {
		k, v, ok := strings.Cut(strings.TrimSpace(kv), "=")
		if !ok {
			return fmt.Errorf("limit %q: want key=value", kv)
		}
		q, err := resource.ParseQuantity(v)
		if err != nil || q.Sign() <= 0 {
			return fmt.Errorf("limit %s=%s: want a positive size or count (4Mi, 10000)", k, v)
		}
		n := q.Value()
		switch k {
		case "file":
			l.FileBytes = n
		case "document":
			l.DocumentBytes = n
		case "tree":
			l.TreeBytes = n
		case "objects":
			l.Objects = int(n)
		case "files":
			l.Files = int(n)
		default:
			return fmt.Errorf("limit %q: want file, document, tree, objects or files", k)
		}
	}
	return nil
}

// FormatBytes prints a size the way limit errors do: "54.0 MiB",
// "4 MiB", "1.5 MiB", "512 KiB", "900 B".
func FormatBytes(n int64) string {
	for _, u := range []struct {
		size int64
		name string
	}{{1 << 30, "GiB"}, {1 << 20, "MiB"}, {1 << 10, "KiB"}} {
		if n < u.size {
			continue
		}
		if n%u.size == 0 {
			return strconv.FormatInt(n/u.size, 10) + " " + u.name
		}
		return strconv.FormatFloat(float64(n)/float64(u.size), 'f', 1, 64) + " " + u.name
	}
	return strconv.FormatInt(n, 10) + " B"
}

// budget counts what one Load has read against its Limits.
type budget struct {
	lim     Limits
	files   int
	bytes   int64
	objects int
	// over is set once a tree limit is passed: nothing more is read.
	over bool
}

func newBudget(l Limits) *budget { return &budget{lim: l.orDefault()} }

// file accounts for reading the file p of size bytes, before it is read.
func (b *budget) file(p string, size int64) *FieldError {
	switch {
	case size > b.lim.FileBytes:
		return &FieldError{File: p, Message: fmt.Sprintf("%s, over the %s file limit", FormatBytes(size), FormatBytes(b.lim.FileBytes))}
	case b.files+1 > b.lim.Files:
		b.over = true
		return &FieldError{File: p, Message: fmt.Sprintf("file %d of the tree, over the %d file limit", b.files+1, b.lim.Files)}
	case b.bytes+size > b.lim.TreeBytes:
		b.over = true
		return &FieldError{File: p, Message: fmt.Sprintf("the files read reach %s, over the %s limit for the whole tree", FormatBytes(b.bytes+size), FormatBytes(b.lim.TreeBytes))}
	}
	b.files++
	b.bytes += size
	return nil
}

// addObjects accounts for n more objects from file p (at line, 0 unknown).
func (b *budget) addObjects(p string, line, n int) *FieldError {
	if b.objects+n > b.lim.Objects {
		b.over = true
		return &FieldError{File: p, Line: line, Message: fmt.Sprintf("object %d, over the %d object limit", b.lim.Objects+1, b.lim.Objects)}
	}
	b.objects += n
	return nil
}

// stop is what a walk returns after a refused file: fs.SkipAll once a
// tree limit is passed, so that nothing more is read.
func (b *budget) stop() error {
	if b.over {
		return fs.SkipAll
	}
	return nil
}

// document checks one document's size.
func (b *budget) document(p string, line int, size int64) *FieldError {
	if size > b.lim.DocumentBytes {
		return &FieldError{File: p, Line: line, Message: fmt.Sprintf("document of %s, over the %s document limit", FormatBytes(size), FormatBytes(b.lim.DocumentBytes))}
	}
	return nil
}

// statFile accounts for the file p of fsys, met as d in a walk: its size
// comes from d for a regular file (a Git tree or a directory listing
// knows it), else from Stat, which follows a symbolic link inside the
// tree.
func (b *budget) statFile(fsys fs.FS, p string, d fs.DirEntry) *FieldError {
	var fi fs.FileInfo
	var err error
	if d.Type().IsRegular() {
		fi, err = d.Info()
	} else {
		fi, err = fs.Stat(fsys, p)
	}
	if err != nil {
		return fileError(p, err)
	}
	return b.file(p, fi.Size())
}

// readFile reads p, never more than max bytes: a file that grew past max
// since it was measured is refused rather than read. Like os.ReadFile, it
// reads into one buffer of the size the file says it has.
func readFile(fsys fs.FS, p string, max int64) ([]byte, error) {
	f, err := fsys.Open(p)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	size := int64(512)
	if fi, err := f.Stat(); err == nil && fi.Size() >= 0 && fi.Size() <= max {
		size = fi.Size() + 1 // one more byte finds the end without growing
	}
	r := io.LimitReader(f, max+1)
	b := make([]byte, 0, size)
	for {
		if len(b) == cap(b) {
			b = append(b, 0)[:len(b)]
		}
		n, err := r.Read(b[len(b):cap(b)])
		b = b[:len(b)+n]
		if err == io.EOF {
			break
		}
		if err != nil {
			return nil, err
		}
	}
	if int64(len(b)) > max {
		return nil, fmt.Errorf("more than %s, over the %s file limit", FormatBytes(max), FormatBytes(max))
	}
	return b, nil
}

// fileError is a FieldError for a file that could not be read, without
// the file's path twice.
func fileError(p string, err error) *FieldError {
	if pe, ok := err.(*fs.PathError); ok && pe.Path == p {
		err = pe.Err
	}
	return &FieldError{File: p, Message: err.Error()}
}

// documentLines splits YAML data into its documents the way the YAML
// grammar does: a document starts after a line that begins with "---"
// or ends at one that begins with "...", each followed by a space or the
// end of the line (neither may start a line of any scalar). It returns
// each document's first line (1-based) and size in bytes; documents of
// nothing but comments and blank lines count as well.
func documentLines(data []byte) (lines []int, sizes []int64) {
	start, startLine, line := 0, 1, 1
	flush := func(end int) {
		if end > start {
			lines = append(lines, startLine)
			sizes = append(sizes, int64(end-start))
		}
	}
	for i := 0; i < len(data); {
		j := bytes.IndexByte(data[i:], '\n')
		next := len(data)
		if j >= 0 {
			next = i + j + 1
		}
		if marker(data[i:next], "---") || marker(data[i:next], "...") {
			flush(i)
			start, startLine = next, line+1
		}
		i = next
		line++
	}
	flush(len(data))
	return lines, sizes
}

// marker reports whether line starts with the document marker m followed
// by white space or its end.
func marker(line []byte, m string) bool {
	if !bytes.HasPrefix(line, []byte(m)) {
		return false
	}
	rest := line[len(m):]
	return len(rest) == 0 || rest[0] == ' ' || rest[0] == '\t' || rest[0] == '\n' || rest[0] == '\r'
}
