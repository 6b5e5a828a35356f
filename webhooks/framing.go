package webhooks

import (
	"bufio"
	"bytes"
	"net/http"
)

// framing finds where each HTTP/1.1 response ends in the bytes a receiver
// sends, so a connection can tell the receiver's answer from bytes nobody
// asked for (see guardedConn). It decodes nothing: the header block is
// parsed by net/http's own ReadResponse, the function the Transport reads
// it with, so both agree on how the body is framed (Transfer-Encoding over
// Content-Length, no body for 1xx, 204 and 304), and chunked framing is
// followed with the rules of net/http's chunked reader (CRLF line ends,
// hex sizes, extensions after ';', trailers up to an empty line).
type framing struct {
	state   int
	header  []byte // the header block read so far
	line    []byte // a chunk-size line read so far
	lineLen int    // bytes of the current trailer line
	remain  int64  // bytes left of the body or chunk
	// unframed: the response runs until the connection closes, or could
	// not be read; such a connection is never reused.
	unframed bool
	// What the header block is parsed from, kept: a new 4 KiB reader per
	// answer was most of the garbage a delivery made.
	src bytes.Reader
	br  *bufio.Reader
}

const (
	frHeader     = iota // reading a header block
	frBody              // Content-Length bytes left
	frChunkLine         // reading a chunk-size line
	frChunkData         // chunk bytes left
	frChunkEnd          // the CRLF after a chunk's data (remain counts it)
	frTrailer           // trailer lines up to an empty one
	frUntilClose        // everything to the end of the connection
)

// maxChunkLine matches net/http's limit on a chunk-size line.
const maxChunkLine = 4096

func (f *framing) reset() {
	f.state, f.header, f.line, f.lineLen, f.remain = frHeader, f.header[:0], f.line[:0], 0, 0
}

// feed takes bytes that arrived and returns how many of them belong to
// the response being read, and whether it ended with them.
func (f *framing) feed(p []byte) (used int, done bool) {
	for used < len(p) {
		b := p[used:]
		switch f.state {
		case frUntilClose:
			return len(p), false
		case frHeader:
			n, end := headerEnd(f.header, b)
			f.header = append(f.header, b[:n]...)
			used += n
			if !end {
				if len(f.header) > maxResponseHeaderBytes+4096 {
					f.state, f.unframed = frUntilClose, true // the Transport refuses it too
				}
				continue
			}
			if f.startBody() {
				return used, true
			}
		case frBody, frChunkData:
			n := int(min(int64(len(b)), f.remain))
			f.remain -= int64(n)
			used += n
			if f.remain == 0 {
				if f.state == frBody {
					return used, true
				}
				f.state, f.remain = frChunkEnd, 2
			}
		case frChunkEnd:
			c := b[0]
			used++
			if (f.remain == 2 && c != '\r') || (f.remain == 1 && c != '\n') {
				f.state, f.unframed = frUntilClose, true // malformed: the Transport fails the body
				continue
			}
			if f.remain--; f.remain == 0 {
				f.state = frChunkLine
			}
		case frChunkLine:
			i := bytes.IndexByte(b, '\n')
			if i < 0 {
				f.line = append(f.line, b...)
				used += len(b)
				if len(f.line) > maxChunkLine {
					f.state, f.unframed = frUntilClose, true
				}
				continue
			}
			f.line = append(f.line, b[:i+1]...)
			used += i + 1
			size, ok := chunkSize(f.line)
			f.line = f.line[:0]
			switch {
			case !ok:
				f.state, f.unframed = frUntilClose, true
			case size == 0:
				f.state, f.lineLen = frTrailer, 0
			default:
				f.state, f.remain = frChunkData, size
			}
		case frTrailer:
			c := b[0]
			used++
			switch {
			case c == '\n' && f.lineLen == 0:
				return used, true
			case c == '\n':
				f.lineLen = 0
			case c == '\r' && f.lineLen == 0:
				// an empty line may end in CRLF; the CR does not count
			default:
				f.lineLen++
			}
		}
	}
	return used, false
}

// startBody reads the finished header block and sets up its body; it
// reports whether the response has already ended.
func (f *framing) startBody() bool {
	f.src.Reset(f.header)
	if f.br == nil {
		f.br = bufio.NewReaderSize(&f.src, 512)
	} else {
		f.br.Reset(&f.src)
	}
	resp, err := http.ReadResponse(f.br, &http.Request{Method: http.MethodPost})
	f.header = f.header[:0]
	if err != nil {
		f.state, f.unframed = frUntilClose, true
		return false
	}
	switch code := resp.StatusCode; {
	case code == http.StatusSwitchingProtocols:
		f.state, f.unframed = frUntilClose, true
		return false
	case code >= 100 && code < 200:
		f.state = frHeader // an informational answer: the real one follows
		return false
	case code == http.StatusNoContent || code == http.StatusNotModified:
		return true
	case len(resp.TransferEncoding) > 0 && resp.TransferEncoding[0] == "chunked":
		f.state = frChunkLine
		return false
	case resp.ContentLength == 0:
		return true
	case resp.ContentLength > 0:
		f.state, f.remain = frBody, resp.ContentLength
		return false
	}
	f.state, f.unframed = frUntilClose, true
	return false
}

// headerEnd returns how much of b belongs to the header block begun with
// seen, and whether the block ends there: at the first empty line, ended by
// LF or CRLF, as net/textproto reads it.
func headerEnd(seen, b []byte) (int, bool) {
	// The state at the start of b: the bytes since the last LF.
	lineStart := bytes.LastIndexByte(seen, '\n') + 1
	lineLen := len(seen) - lineStart
	onlyCR := lineLen == 1 && seen[len(seen)-1] == '\r'
	atStart := len(seen) == 0
	for i, c := range b {
		if c == '\n' {
			if (lineLen == 0 || onlyCR) && !atStart {
				return i + 1, true
			}
			lineLen, onlyCR, atStart = 0, false, false
			continue
		}
		lineLen++
		onlyCR = lineLen == 1 && c == '\r'
	}
	return len(b), false
}

// chunkSize reads a chunk-size line ending in CRLF as net/http does.
func chunkSize(line []byte) (int64, bool) {
	if len(line) < 2 || line[len(line)-2] != '\r' || bytes.IndexByte(line, '\r') != len(line)-2 {
		return 0, false
	}
	line = bytes.TrimRight(line[:len(line)-2], " \t\n\r")
	line, _, _ = bytes.Cut(line, []byte(";"))
	if len(line) == 0 || len(line) > 15 { // 16 hex digits overflow what a body can be
		return 0, false
	}
	var n int64
	for _, c := range line {
		switch {
		case '0' <= c && c <= '9':
			c -= '0'
		case 'a' <= c && c <= 'f':
			c = c - 'a' + 10
		case 'A' <= c && c <= 'F':
			c = c - 'A' + 10
		default:
			return 0, false
		}
		n = n<<4 | int64(c)
	}
	return n, true
}
