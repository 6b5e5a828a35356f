//go:build unix

package webhooks

import "syscall"

// peekSocket looks at the bytes waiting on fd without taking them or waiting.
func peekSocket(fd uintptr, buf []byte) (int, error) {
	n, _, err := syscall.Recvfrom(int(fd), buf, syscall.MSG_PEEK|syscall.MSG_DONTWAIT)
	return n, err
}
