//go:build !unix

package models

// freeBytes is unknown here; the health probe's write decides alone.
func freeBytes(string) (uint64, bool) { return 0, false }
