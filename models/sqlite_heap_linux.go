//go:build linux && cgo

package models

/*
// mallopt is glibc's. It is declared weak so that a C library without it
// (musl) leaves it null instead of failing the link; the heap then keeps
// that library's own policy.
extern int mallopt(int param, int value) __attribute__((weak));

static int keepFreedHeap(int bytes) {
	if (!mallopt) {
		return 0;
	}
	return mallopt(-1, bytes); // M_TRIM_THRESHOLD
}
*/
import "C"

// keepFreedHeapBytes is how much freed memory glibc keeps at the top of a
// heap before it hands it back to the kernel; its default is 128 KiB.
//
// SQLite gives every statement that needs a temporary b-tree (an IN list,
// RETURNING rows, an UPDATE … FROM) a page cache of its own, about 100 KiB
// it allocates and frees on each run. At the default threshold glibc gave
// that memory back after each statement (brk, madvise: each a TLB shootdown
// on every core) and took page faults getting it again: in the webhook
// dispatcher's benchmark about a quarter of the process's CPU (perf: most
// of the kernel time under pcache1FetchStage2, sqlite3BtreeClose and
// memjrnlTruncate), 200 → 160 cpu-µs a delivery. Memory once used stays
// mapped up to this much per heap.
const keepFreedHeapBytes = 16 << 20

// keepFreedHeap raises glibc's trim threshold, once, before SQLite starts.
func keepFreedHeap() { C.keepFreedHeap(keepFreedHeapBytes) }
