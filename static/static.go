// Package static holds the console's stylesheet and script and the Wink
// widget SDK, embedded in the binary.
package static

import (
	"crypto/sha256"
	"embed"
	"encoding/hex"
	"io/fs"
	"mime"
	"path"
	"strings"
)

//go:embed *.css *.js
var files embed.FS

// Assets serves the embedded files under two names each: the stable name
// (console.css, wink.js), cached briefly, and a content-hashed name
// (console.3f2a9c1b.css), cached for a year because its content never changes.
type Assets struct {
	byName map[string]*Asset // stable and hashed names
	url    map[string]string // stable name -> hashed URL
}

// Asset is one embedded file.
type Asset struct {
	Data        []byte
	ContentType string
	Immutable   bool // served under its content-hashed name
}

// Prefix is where the assets are served.
const Prefix = "/static/"

// Load reads and hashes every embedded file.
func Load() (*Assets, error) {
	a := &Assets{byName: map[string]*Asset{}, url: map[string]string{}}
	entries, err := fs.ReadDir(files, ".")
	if err != nil {
		return nil, err
	}
	for _, e := range entries {
		if e.IsDir() {
			continue
		}
		name := e.Name()
		data, err := files.ReadFile(name)
		if err != nil {
			return nil, err
		}
		ext := path.Ext(name)
		ctype := mime.TypeByExtension(ext)
		switch ext {
		case ".js":
			ctype = "text/javascript; charset=utf-8"
		case ".css":
			ctype = "text/css; charset=utf-8"
		}
		sum := sha256.Sum256(data)
		hashed := strings.TrimSuffix(name, ext) + "." + hex.EncodeToString(sum[:])[:12] + ext
		a.byName[name] = &Asset{Data: data, ContentType: ctype}
		a.byName[hashed] = &Asset{Data: data, ContentType: ctype, Immutable: true}
		a.url[name] = Prefix + hashed
	}
	return a, nil
}

// URL returns the content-hashed URL of the file with the stable name, or
// its stable URL when there is no such file (a broken link shows in tests).
func (a *Assets) URL(name string) string {
	if u, ok := a.url[name]; ok {
		return u
	}
	return Prefix + name
}

// Lookup returns the file served under name (stable or hashed).
func (a *Assets) Lookup(name string) (*Asset, bool) {
	f, ok := a.byName[name]
	return f, ok
}
