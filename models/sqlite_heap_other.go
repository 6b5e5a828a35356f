//go:build !linux || !cgo

package models

// keepFreedHeap only tunes glibc (sqlite_heap_linux.go).
func keepFreedHeap() {}
