// Package browsertest drives Debian's Chromium, headless, through chromedp
// for the tests that look at the console in a real browser: the console's
// own tests and the e-commerce example's. A tab records console errors,
// uncaught exceptions and failed loads, so a test can fail on any of them.
//
// Tests skip when no Chromium is installed, unless EDDY_REQUIRE_CLIENTS=1
// (CI), where that is a failure. EDDY_CHROMIUM=/path picks another binary.
// Screenshots are written only when EDDY_UPDATE_SCREENSHOTS=1.
package browsertest

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
)

// The width and height of every page the tests load and screenshot.
const ViewW, ViewH = 1280, 860

// Chromium returns the path of a Chromium binary, or skips (fails under
// EDDY_REQUIRE_CLIENTS=1) when there is none.
func Chromium(t *testing.T) string {
	t.Helper()
	if p := os.Getenv("EDDY_CHROMIUM"); p != "" {
		return p
	}
	for _, name := range []string{"chromium", "chromium-headless-shell", "chromium-browser", "google-chrome"} {
		if p, err := exec.LookPath(name); err == nil {
			return p
		}
	}
	if os.Getenv("EDDY_REQUIRE_CLIENTS") == "1" {
		t.Fatal("browser tests need Chromium (apt-get install chromium); EDDY_REQUIRE_CLIENTS=1 forbids skipping")
	}
	t.Skip("browser tests skipped: no chromium on PATH (apt-get install chromium, or set EDDY_CHROMIUM)")
	return ""
}

// Start starts one headless Chromium for the test and returns its
// context; tabs are opened with NewTab. The browser ends with the test.
func Start(t *testing.T) context.Context {
	path := Chromium(t)
	opts := append(chromedp.DefaultExecAllocatorOptions[:],
		chromedp.ExecPath(path),
		chromedp.Headless,
		chromedp.NoSandbox,
		chromedp.DisableGPU,
		chromedp.Flag("disable-background-networking", true),
		chromedp.Flag("disable-component-update", true),
		chromedp.Flag("disable-sync", true),
		chromedp.NoFirstRun,
		chromedp.UserDataDir(t.TempDir()),
		chromedp.WindowSize(ViewW, ViewH),
	)
	actx, cancelAlloc := chromedp.NewExecAllocator(context.Background(), opts...)
	bctx, cancelBrowser := chromedp.NewContext(actx)
	if err := chromedp.Do(bctx); err != nil { // starts the browser
		cancelBrowser()
		cancelAlloc()
		t.Fatalf("start chromium %s: %v", path, err)
	}
	t.Cleanup(func() { cancelBrowser(); cancelAlloc() })
	return bctx
}

// Tab is one browser tab that records console errors, uncaught exceptions
// and failed loads.
type Tab struct {
	// T is the test the tab reports to.
	T *testing.T
	// Ctx is the tab's chromedp context.
	Ctx context.Context
	// Base is the server's URL that Open's paths are relative to.
	Base string

	mu     sync.Mutex
	errors []string
}

// NewTab opens a tab on the browser bctx (see Start) whose actions must
// all end within 30 s.
func NewTab(t *testing.T, bctx context.Context, base string) *Tab {
	return NewTabFor(t, bctx, base, 30*time.Second)
}

// NewTabFor is NewTab whose actions must all end within d; opts are
// chromedp's (e.g. chromedp.WithNewBrowserContext() for a tab with its
// own cookies and sign-in cache).
func NewTabFor(t *testing.T, bctx context.Context, base string, d time.Duration, opts ...chromedp.ContextOption) *Tab {
	ctx, cancel := chromedp.NewContext(bctx, opts...)
	ctx, cancelTimeout := context.WithTimeout(ctx, d)
	t.Cleanup(func() { cancelTimeout(); cancel() })
	tb := &Tab{T: t, Ctx: ctx, Base: base}
	messages := chromedp.Console(ctx)
	go func() {
		for m, err := range messages {
			if err != nil {
				return
			}
			if m.Type == chromedp.ConsoleError || m.Type == chromedp.ConsoleException {
				tb.AddError(fmt.Sprintf("%s %s:%d", m, m.URL, m.Line))
			}
		}
	}()
	tb.Run(chromedp.EmulateViewport(ViewW, ViewH))
	return tb
}

// AddError records an error as if the page had logged it.
func (tb *Tab) AddError(s string) {
	tb.mu.Lock()
	tb.errors = append(tb.errors, s)
	tb.mu.Unlock()
}

// NoErrors fails the test if the page logged any error so far.
func (tb *Tab) NoErrors(what string) {
	tb.T.Helper()
	tb.mu.Lock()
	defer tb.mu.Unlock()
	if len(tb.errors) > 0 {
		tb.T.Errorf("%s: browser errors:\n  %s", what, strings.Join(tb.errors, "\n  "))
	}
	tb.errors = nil
}

// ExpectLoadErrors forgets the browser's "failed to load resource" errors
// for answers with status, which the test caused on purpose.
func (tb *Tab) ExpectLoadErrors(status int) {
	time.Sleep(100 * time.Millisecond)
	tb.mu.Lock()
	defer tb.mu.Unlock()
	kept := tb.errors[:0]
	for _, e := range tb.errors {
		if !strings.Contains(e, fmt.Sprintf("status of %d", status)) {
			kept = append(kept, e)
		}
	}
	tb.errors = kept
}

// Run runs chromedp actions in the tab, failing the test on an error.
func (tb *Tab) Run(actions ...chromedp.Action[chromedp.Void]) {
	tb.T.Helper()
	if err := chromedp.Do(tb.Ctx, actions...); err != nil {
		tb.T.Fatalf("browser: %v", err)
	}
}

// WaitJS polls a JavaScript condition until it is true or timeout passes;
// then the test fails with the start of the page's text.
func (tb *Tab) WaitJS(cond string, timeout time.Duration) {
	tb.T.Helper()
	if _, err := chromedp.Run(tb.Ctx, chromedp.Poll[bool](cond, chromedp.WithPollingTimeout(timeout), chromedp.WithPollingInterval(25*time.Millisecond))); err != nil {
		state, _ := chromedp.Run(tb.Ctx, chromedp.Evaluate[string](`document.querySelector("main").innerText.slice(0, 1500) + "\nerror box: " + document.querySelector("#error").textContent`))
		tb.T.Fatalf("waiting for %s: %v\npage:\n%s", cond, err, state)
	}
}

// Eval evaluates js in the page (awaiting a promise) and decodes its value.
func Eval[T any](tb *Tab, js string) T {
	tb.T.Helper()
	v, err := chromedp.Run(tb.Ctx, chromedp.Evaluate[T](js, chromedp.EvalAwaitPromise))
	if err != nil {
		tb.T.Fatalf("evaluate %s: %v", js, err)
	}
	return v
}

// Open navigates to path and waits for ready, a JavaScript condition that
// holds once the page shows its data.
func (tb *Tab) Open(path, ready string) {
	tb.T.Helper()
	tb.Run(chromedp.Navigate(tb.Base + path))
	tb.WaitJS(ready, 10*time.Second)
}

// Screenshot saves the viewport as the PNG file path when
// EDDY_UPDATE_SCREENSHOTS=1; otherwise it does nothing.
func (tb *Tab) Screenshot(path string) {
	tb.T.Helper()
	if os.Getenv("EDDY_UPDATE_SCREENSHOTS") != "1" {
		return
	}
	png, err := chromedp.Run(tb.Ctx, chromedp.CaptureScreenshot())
	if err != nil {
		tb.T.Fatal(err)
	}
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		tb.T.Fatal(err)
	}
	if err := os.WriteFile(path, png, 0o644); err != nil {
		tb.T.Fatal(err)
	}
}
