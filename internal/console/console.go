// Package console is Eddy's web console: server-rendered pages at /ui/ on
// the HTTP listener, with one small vanilla JavaScript file that fills
// them from the same JSON API every client uses (/v1/status, /metrics,
// /v1/topics, /v1/groups, the SSE subscribe routes). Everything it serves
// is embedded in the binary with go:embed; nothing is loaded from
// elsewhere, and nothing is built with a JavaScript toolchain.
//
// Each page is a Go html/template rendering the page's frame: navigation,
// headings, forms and empty tables, so the page is usable and focusable
// before any data arrives; app.js then fetches the data and keeps live
// parts (charts, live tail) up to date. Write actions (topic create and
// delete, produce, config edits, group deletes and offset resets, dead
// letter redrives, schema registration and version deletes) are shown
// only when the server runs with --console-write; the server refuses its
// own write routes anyway (403) when it does not.
//
// Usage:
//
//	err := console.Register(httpServer, console.Options{Version: "1.2.3", AllowWrites: false})
package console

import (
	"bytes"
	"crypto/sha256"
	"embed"
	"encoding/hex"
	"fmt"
	"html/template"
	"io/fs"
	"net/http"
	"strings"

	"github.com/eddy-streaming/eddy/internal/httpapi"
)

//go:embed assets
var assets embed.FS

// Options configures the console.
type Options struct {
	// Version is shown in the page footer.
	Version string
	// AllowWrites shows the write controls (the server decides on its own
	// whether to accept the writes).
	AllowWrites bool
}

// page is one console page: its path under /ui/, the template that
// renders it, and its title and navigation entry.
type page struct {
	path  string // ServeMux pattern suffix after /ui/
	name  string // template name and data-page attribute
	title string
	nav   string // navigation entry it highlights
}

var pages = []page{
	{"{$}", "overview", "Overview", "overview"},
	{"topics", "topics", "Topics", "topics"},
	{"topics/{topic}", "topic", "Topic", "topics"},
	{"messages", "messages", "Messages", "messages"},
	{"groups", "groups", "Consumer groups", "groups"},
	{"groups/{group}", "group", "Consumer group", "groups"},
	{"share-groups/{group}", "share-group", "Share group", "groups"},
	{"streams", "streams", "Streams", "streams"},
	{"dlq", "dlq", "Dead letters", "dlq"},
	{"schemas", "schemas", "Schemas", "schemas"},
}

// navItems is the navigation bar, in order.
var navItems = []struct{ Key, Label, Href string }{
	{"overview", "Overview", "/ui/"},
	{"topics", "Topics", "/ui/topics"},
	{"messages", "Messages", "/ui/messages"},
	{"groups", "Groups", "/ui/groups"},
	{"streams", "Streams", "/ui/streams"},
	{"dlq", "Dead letters", "/ui/dlq"},
	{"schemas", "Schemas", "/ui/schemas"},
}

// pageData is what every page template sees.
type pageData struct {
	Page, Title, Nav string
	Version          string
	Writes           bool
	Items            any
	// Param is the page's path parameter (topic or group name).
	Param string
	// Assets is the version of the static files (a hash of their
	// contents), appended to their URLs so browsers cache them.
	Assets string
}

// Register adds the console's routes to s: GET /ui/... for the pages and
// assets, and GET / redirecting to /ui/.
func Register(s *httpapi.Server, o Options) error {
	tmpl, err := template.New("").ParseFS(assets, "assets/*.html")
	if err != nil {
		return fmt.Errorf("parse console templates: %w", err)
	}
	static, err := fs.Sub(assets, "assets/static")
	if err != nil {
		return fmt.Errorf("console assets: %w", err)
	}
	version, err := assetsVersion(static)
	if err != nil {
		return fmt.Errorf("console assets: %w", err)
	}
	files := http.StripPrefix("/ui/static/", http.FileServerFS(static))
	s.HandleHTTP("GET /ui/static/", http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		// The pages name the files with ?v= their contents' hash, so a
		// browser keeps them without asking again (no revalidation round
		// trip before the first paint); a URL with another or no version
		// is revalidated each time.
		if r.URL.Query().Get("v") == version {
			w.Header().Set("Cache-Control", "public, max-age=31536000, immutable")
		} else {
			w.Header().Set("Cache-Control", "no-cache")
		}
		files.ServeHTTP(w, r)
	}))
	s.HandleHTTP("GET /{$}", http.RedirectHandler("/ui/", http.StatusFound))
	s.HandleHTTP("GET /ui", http.RedirectHandler("/ui/", http.StatusMovedPermanently))
	for _, p := range pages {
		p := p
		s.HandleHTTP("GET /ui/"+p.path, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			d := pageData{Page: p.name, Title: p.title, Nav: p.nav, Version: o.Version, Writes: o.AllowWrites, Items: navItems, Assets: version}
			if i := strings.IndexByte(p.path, '{'); i >= 0 && p.path != "{$}" {
				d.Param = r.PathValue(strings.Trim(p.path[i:], "{}"))
				d.Title = p.title + " " + d.Param
			}
			var buf bytes.Buffer
			if err := tmpl.ExecuteTemplate(&buf, p.name+".html", d); err != nil {
				s.WriteError(w, r, fmt.Errorf("render console page %s: %w", p.name, err))
				return
			}
			h := w.Header()
			h.Set("Content-Type", "text/html; charset=utf-8")
			h.Set("Cache-Control", "no-cache")
			// Everything is served from here; inline script and remote
			// loads are refused.
			h.Set("Content-Security-Policy", "default-src 'self'; img-src 'self' data:; style-src 'self'; script-src 'self'; connect-src 'self'; frame-ancestors 'none'")
			h.Set("X-Content-Type-Options", "nosniff")
			_, _ = w.Write(buf.Bytes())
		}))
	}
	return nil
}

// assetsVersion is the first 12 hex digits of the SHA-256 of every
// static file's name and contents.
func assetsVersion(static fs.FS) (string, error) {
	h := sha256.New()
	err := fs.WalkDir(static, ".", func(path string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		b, err := fs.ReadFile(static, path)
		if err != nil {
			return err
		}
		fmt.Fprintf(h, "%s\x00%d\x00", path, len(b))
		h.Write(b)
		return nil
	})
	if err != nil {
		return "", err
	}
	return hex.EncodeToString(h.Sum(nil))[:12], nil
}
