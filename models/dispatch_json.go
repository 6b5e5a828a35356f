package models

import (
	"slices"
	"strconv"
	"unicode/utf8"
)

// The dispatcher hands SQLite each round's settlements as one JSON array,
// read back with jsonb_each: one bound parameter and one statement per
// round instead of a dozen parameters and a statement per delivery, whose
// binding and stepping through cgo cost more than the rows. (Attempts are
// not sent this way: their bodies and headers made the JSON itself cost
// more than the statements it saved; measured with BenchmarkDispatchQueue.)

// appendSettleJSON appends one held delivery's settlement as the array
// sqlSettleBatch reads: rowid, status, auto, next, code, error, manual,
// manual requests at the claim, and the delivery's id (PostgreSQL has no
// rowid and finds the row by it).
func appendSettleJSON(b []byte, rowid int64, s *settled, code, requests int, id string) []byte {
	b = append(b, '[')
	b = strconv.AppendInt(b, rowid, 10)
	b = append(b, ',')
	b = appendJSONString(b, s.status)
	b = append(b, ',')
	b = strconv.AppendInt(b, int64(s.auto), 10)
	b = append(b, ',')
	if next, ok := s.next.(int64); ok {
		b = strconv.AppendInt(b, next, 10)
	} else {
		b = append(b, "null"...)
	}
	b = append(b, ',')
	b = strconv.AppendInt(b, int64(code), 10)
	b = append(b, ',')
	b = appendJSONString(b, s.lastError)
	b = append(b, ',')
	if s.manual {
		b = append(b, '1')
	} else {
		b = append(b, '0')
	}
	b = append(b, ',')
	b = strconv.AppendInt(b, int64(requests), 10)
	b = append(b, ',')
	b = appendJSONString(b, id)
	return append(b, ']')
}

// headersJSON encodes headers as a JSON object with sorted keys, the way
// encoding/json would, without its reflection.
func headersJSON(h map[string]string) string {
	return string(appendHeadersJSON(nil, h))
}

func appendHeadersJSON(b []byte, h map[string]string) []byte {
	if len(h) == 0 {
		return append(b, "{}"...)
	}
	var stack [16]string
	keys := stack[:0]
	for k := range h {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	b = append(b, '{')
	for i, k := range keys {
		if i > 0 {
			b = append(b, ',')
		}
		b = appendJSONString(b, k)
		b = append(b, ':')
		b = appendJSONString(b, h[k])
	}
	return append(b, '}')
}

func appendJSONString(b []byte, s string) []byte {
	const hexDigits = "0123456789abcdef"
	b = append(b, '"')
	for i := 0; i < len(s); {
		c := s[i]
		if c < utf8.RuneSelf {
			switch {
			case c == '"' || c == '\\':
				b = append(b, '\\', c)
			case c == '\n':
				b = append(b, '\\', 'n')
			case c == '\t':
				b = append(b, '\\', 't')
			case c == '\r':
				b = append(b, '\\', 'r')
			case c < 0x20:
				b = append(b, '\\', 'u', '0', '0', hexDigits[c>>4], hexDigits[c&0xf])
			default:
				b = append(b, c)
			}
			i++
			continue
		}
		r, n := utf8.DecodeRuneInString(s[i:])
		if r == utf8.RuneError && n == 1 {
			b = append(b, "\\ufffd"...)
		} else {
			b = append(b, s[i:i+n]...)
		}
		i += n
	}
	return append(b, '"')
}
