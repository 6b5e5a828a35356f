package models

import (
	"fmt"
	"io"
	"time"
)

// orderedID returns a 32-hex id (the contract's object id shape) that starts
// with the time in milliseconds. Rows written together then sit together in
// every index keyed by the id: an attempt insert touches the page the last
// one did instead of a random page, which is most of the write volume at
// thousands of deliveries a second.
func orderedID(r io.Reader, t time.Time) string {
	return fmt.Sprintf("%012x", uint64(t.UnixMilli())&(1<<48-1)) + randomHex(r, 10)
}
