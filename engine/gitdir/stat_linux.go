package gitdir

import (
	"os"
	"syscall"
)

// stat is the stat data git keeps in an index entry, cut to 32 bits as
// git cuts it.
type stat struct {
	ctime, ctimeNsec, mtime, mtimeNsec, dev, ino, uid, gid uint32
}

func statOf(fi os.FileInfo) stat {
	st, ok := fi.Sys().(*syscall.Stat_t)
	if !ok {
		return stat{mtime: uint32(fi.ModTime().Unix()), mtimeNsec: uint32(fi.ModTime().Nanosecond())}
	}
	return stat{
		ctime: uint32(st.Ctim.Sec), ctimeNsec: uint32(st.Ctim.Nsec),
		mtime: uint32(st.Mtim.Sec), mtimeNsec: uint32(st.Mtim.Nsec),
		dev: uint32(st.Dev), ino: uint32(st.Ino), uid: st.Uid, gid: st.Gid,
	}
}
