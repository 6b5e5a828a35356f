package static

import _ "embed"

// WinkJS is the Wink widget SDK. It is served at the stable URL
// /static/wink.js (no content hash) because customers embed that URL.
//
//go:embed wink.js
var WinkJS []byte

// DemoJS and DemoCSS drive and style the public demo page; the app's CSP
// allows no inline script or style, so they are files.
var (
	//go:embed demo.js
	DemoJS []byte
	//go:embed demo.css
	DemoCSS []byte
)
