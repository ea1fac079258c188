// Package dashboard is the root's read-only web page: HTML, CSS and plain JavaScript
// embedded in the binary and served under [Prefix] on the root's HTTPS API listener.
//
// # Basics
//
// What this package serves is a static shell, the same bytes for everyone and no fleet
// data, so it is the one thing on the API listener served without a token. The page asks
// for an API token (a form, or the URL fragment #token=..., which browsers never send to
// the server), keeps it in the tab's sessionStorage, and reads everything it shows from the
// /api/v1 routes with Authorization: Bearer, so a person sees exactly what the token may
// read and the API's authentication stays the only gate. Views are hash routes (#/,
// #/rules/ID, #/nodes/ID, #/drift, #/relays) so a URL opens a given view.
//
// # Caveats
//
// The shell is sent with a Content-Security-Policy that allows only its own files (no
// inline script or style, no framing), so the page must never build markup from strings:
// hostnames and messages come from nodes and are set as text. There is no build step:
// the files under static/ are what browsers run.
//
// dashboard imports nothing of bosun; the root mounts [Handler].
package dashboard
