//go:build unix

package models

import (
	"path/filepath"
	"syscall"
)

// freeBytes is the space left to an unprivileged writer on the filesystem
// that holds path, and whether it could be read.
func freeBytes(path string) (uint64, bool) {
	var st syscall.Statfs_t
	if err := syscall.Statfs(filepath.Dir(path), &st); err != nil {
		return 0, false
	}
	return st.Bavail * uint64(st.Bsize), true
}
