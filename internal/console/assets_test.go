package console_test

import (
	"io"
	"net/http"
	"regexp"
	"testing"

	"github.com/eddy-streaming/eddy/internal/eddytest"
)

// TestConsoleAssetCaching checks the pages name the stylesheet and the
// script with the version of their contents, served to be kept (no
// revalidation before a page paints), and that other URLs of the same
// files are revalidated; / redirects to /ui/.
func TestConsoleAssetCaching(t *testing.T) {
	p := eddytest.Start(t)
	get := func(path string) (*http.Response, string) {
		t.Helper()
		res, err := http.Get(p.HTTPURL() + path)
		if err != nil {
			t.Fatal(err)
		}
		defer res.Body.Close()
		b, _ := io.ReadAll(res.Body)
		return res, string(b)
	}
	res, page := get("/")
	if res.StatusCode != 200 || res.Request.URL.Path != "/ui/" {
		t.Fatalf("GET /: %d at %s, want the overview at /ui/", res.StatusCode, res.Request.URL.Path)
	}
	m := regexp.MustCompile(`href="(/ui/static/app\.css\?v=([0-9a-f]{12}))"`).FindStringSubmatch(page)
	if m == nil || !regexp.MustCompile(`src="/ui/static/app\.js\?v=`+m[2]+`"`).MatchString(page) {
		t.Fatalf("the page does not name app.css and app.js with one version:\n%s", page)
	}
	for path, want := range map[string]string{
		m[1]:                          "public, max-age=31536000, immutable",
		"/ui/static/app.js?v=" + m[2]: "public, max-age=31536000, immutable",
		"/ui/static/app.css":          "no-cache",
		"/ui/static/app.css?v=old":    "no-cache",
	} {
		res, body := get(path)
		if res.StatusCode != 200 || len(body) < 100 || res.Header.Get("Cache-Control") != want {
			t.Errorf("GET %s: %d, %d bytes, Cache-Control %q; want 200, the file, %q", path, res.StatusCode, len(body), res.Header.Get("Cache-Control"), want)
		}
	}
}
