//go:build !linux

package gitdir

import "os"

// stat is the stat data git keeps in an index entry; here only the
// modification time is known, and git reads the file to be sure.
type stat struct {
	ctime, ctimeNsec, mtime, mtimeNsec, dev, ino, uid, gid uint32
}

func statOf(fi os.FileInfo) stat {
	return stat{mtime: uint32(fi.ModTime().Unix()), mtimeNsec: uint32(fi.ModTime().Nanosecond())}
}
