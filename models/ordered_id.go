package models

import (
	"encoding/binary"
	"encoding/hex"
	"io"
	"time"
)

// orderedID returns a 32-hex id (the contract's object id shape) that starts
// with the time in milliseconds. Rows written together then sit together in
// every index keyed by the id: an attempt insert touches the page the last
// one did instead of a random page, which is most of the write volume at
// thousands of deliveries a second.
func orderedID(r io.Reader, t time.Time) string {
	var raw [16]byte
	binary.BigEndian.PutUint64(raw[:8], uint64(t.UnixMilli())<<16) // 48 bits of milliseconds, then random
	if _, err := io.ReadFull(r, raw[6:]); err != nil {
		panic("read random bytes: " + err.Error()) // as randomHex: crypto/rand does not fail
	}
	return hex.EncodeToString(raw[:])
}
