package console_test

// Firefox smoke test: Debian's firefox-esr, headless, driven over WebDriver
// BiDi (Firefox's remote protocol, served on --remote-debugging-port at
// /session) with the small WebSocket client below; no geckodriver. Each
// console page must load and show its data with no error logged, no
// uncaught exception and no failed load, and live tail must show a record
// produced after it started. Skips without Firefox unless
// EDDY_REQUIRE_CLIENTS=1; EDDY_FIREFOX=/path picks the binary.

import (
	"bufio"
	"bytes"
	"context"
	"crypto/rand"
	"crypto/sha1"
	"encoding/base64"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/eddy-streaming/eddy/internal/console/browsertest"
)

// firefox returns the path of a Firefox binary, or skips (fails under
// EDDY_REQUIRE_CLIENTS=1).
func firefox(t *testing.T) string {
	t.Helper()
	if p := os.Getenv("EDDY_FIREFOX"); p != "" {
		return p
	}
	for _, name := range []string{"firefox-esr", "firefox"} {
		if p, err := exec.LookPath(name); err == nil {
			return p
		}
	}
	if os.Getenv("EDDY_REQUIRE_CLIENTS") == "1" {
		t.Fatal("the Firefox test needs Firefox (apt-get install firefox-esr); EDDY_REQUIRE_CLIENTS=1 forbids skipping")
	}
	t.Skip("Firefox test skipped: no firefox-esr on PATH (apt-get install firefox-esr, or set EDDY_FIREFOX)")
	return ""
}

// wsConn is a minimal WebSocket client (RFC 6455): text frames, masked as
// a client must, fragmented messages reassembled, pings answered.
type wsConn struct {
	c  net.Conn
	br *bufio.Reader
	mu sync.Mutex // writes
}

func wsDial(ctx context.Context, rawURL string) (*wsConn, error) {
	u, err := url.Parse(rawURL)
	if err != nil {
		return nil, err
	}
	var d net.Dialer
	c, err := d.DialContext(ctx, "tcp", u.Host)
	if err != nil {
		return nil, fmt.Errorf("dial %s: %w", u.Host, err)
	}
	keyRaw := make([]byte, 16)
	_, _ = rand.Read(keyRaw)
	key := base64.StdEncoding.EncodeToString(keyRaw)
	fmt.Fprintf(c, "GET %s HTTP/1.1\r\nHost: %s\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Key: %s\r\nSec-WebSocket-Version: 13\r\n\r\n", u.RequestURI(), u.Host, key)
	br := bufio.NewReader(c)
	res, err := http.ReadResponse(br, nil)
	if err != nil {
		c.Close()
		return nil, fmt.Errorf("websocket handshake: %w", err)
	}
	sum := sha1.Sum([]byte(key + "258EAFA5-E914-47DA-95CA-C5AB0DC85B11"))
	if res.StatusCode != http.StatusSwitchingProtocols || res.Header.Get("Sec-WebSocket-Accept") != base64.StdEncoding.EncodeToString(sum[:]) {
		c.Close()
		return nil, fmt.Errorf("websocket handshake: %s", res.Status)
	}
	return &wsConn{c: c, br: br}, nil
}

func (w *wsConn) writeFrame(op byte, payload []byte) error {
	w.mu.Lock()
	defer w.mu.Unlock()
	hdr := []byte{0x80 | op}
	switch n := len(payload); {
	case n < 126:
		hdr = append(hdr, 0x80|byte(n))
	case n < 1<<16:
		hdr = append(hdr, 0x80|126)
		hdr = binary.BigEndian.AppendUint16(hdr, uint16(n))
	default:
		hdr = append(hdr, 0x80|127)
		hdr = binary.BigEndian.AppendUint64(hdr, uint64(n))
	}
	mask := make([]byte, 4)
	_, _ = rand.Read(mask)
	hdr = append(hdr, mask...)
	body := make([]byte, len(payload))
	for i, b := range payload {
		body[i] = b ^ mask[i%4]
	}
	_, err := w.c.Write(append(hdr, body...))
	return err
}

// read returns the next text message.
func (w *wsConn) read() ([]byte, error) {
	var msg []byte
	for {
		var h [2]byte
		if _, err := io.ReadFull(w.br, h[:]); err != nil {
			return nil, err
		}
		fin, op := h[0]&0x80 != 0, h[0]&0x0f
		n := uint64(h[1] & 0x7f)
		switch n {
		case 126:
			var b [2]byte
			if _, err := io.ReadFull(w.br, b[:]); err != nil {
				return nil, err
			}
			n = uint64(binary.BigEndian.Uint16(b[:]))
		case 127:
			var b [8]byte
			if _, err := io.ReadFull(w.br, b[:]); err != nil {
				return nil, err
			}
			n = binary.BigEndian.Uint64(b[:])
		}
		if n > 64<<20 {
			return nil, fmt.Errorf("websocket frame of %d bytes", n)
		}
		var mask []byte
		if h[1]&0x80 != 0 {
			mask = make([]byte, 4)
			if _, err := io.ReadFull(w.br, mask); err != nil {
				return nil, err
			}
		}
		p := make([]byte, n)
		if _, err := io.ReadFull(w.br, p); err != nil {
			return nil, err
		}
		if mask != nil {
			for i := range p {
				p[i] ^= mask[i%4]
			}
		}
		switch op {
		case 0x8:
			return nil, io.EOF
		case 0x9:
			if err := w.writeFrame(0xA, p); err != nil {
				return nil, err
			}
			continue
		case 0xA:
			continue
		}
		msg = append(msg, p...)
		if fin {
			return msg, nil
		}
	}
}

// bidi is a WebDriver BiDi session over a wsConn: commands are matched to
// their answers by id; events go to onEvent.
type bidi struct {
	ws      *wsConn
	mu      sync.Mutex
	nextID  int
	waiting map[int]chan json.RawMessage
	onEvent func(method string, params json.RawMessage)
	done    chan struct{}
}

func newBidi(ws *wsConn, onEvent func(string, json.RawMessage)) *bidi {
	b := &bidi{ws: ws, waiting: map[int]chan json.RawMessage{}, onEvent: onEvent, done: make(chan struct{})}
	go b.loop()
	return b
}

func (b *bidi) loop() {
	defer close(b.done)
	for {
		raw, err := b.ws.read()
		if err != nil {
			return
		}
		var m struct {
			ID     *int            `json:"id"`
			Type   string          `json:"type"`
			Method string          `json:"method"`
			Params json.RawMessage `json:"params"`
		}
		if json.Unmarshal(raw, &m) != nil {
			continue
		}
		if m.ID != nil {
			b.mu.Lock()
			ch := b.waiting[*m.ID]
			delete(b.waiting, *m.ID)
			b.mu.Unlock()
			if ch != nil {
				ch <- raw
			}
			continue
		}
		if m.Type == "event" && b.onEvent != nil {
			b.onEvent(m.Method, m.Params)
		}
	}
}

// call sends a command and decodes its result into out.
func (b *bidi) call(ctx context.Context, method string, params, out any) error {
	b.mu.Lock()
	b.nextID++
	id := b.nextID
	ch := make(chan json.RawMessage, 1)
	b.waiting[id] = ch
	b.mu.Unlock()
	req, _ := json.Marshal(map[string]any{"id": id, "method": method, "params": params})
	if err := b.ws.writeFrame(0x1, req); err != nil {
		return fmt.Errorf("%s: %w", method, err)
	}
	select {
	case raw := <-ch:
		var ans struct {
			Type    string          `json:"type"`
			Result  json.RawMessage `json:"result"`
			Error   string          `json:"error"`
			Message string          `json:"message"`
		}
		if err := json.Unmarshal(raw, &ans); err != nil {
			return fmt.Errorf("%s: %w", method, err)
		}
		if ans.Type == "error" {
			return fmt.Errorf("%s: %s: %s", method, ans.Error, ans.Message)
		}
		if out != nil {
			return json.Unmarshal(ans.Result, out)
		}
		return nil
	case <-b.done:
		return fmt.Errorf("%s: connection closed", method)
	case <-ctx.Done():
		return fmt.Errorf("%s: %w", method, ctx.Err())
	}
}

// startFirefox runs headless Firefox with a fresh profile and returns the
// WebDriver BiDi WebSocket URL it announces on stderr.
func startFirefox(t *testing.T, ctx context.Context, path string) string {
	profile := t.TempDir()
	// Quiet, local-only: no updates, telemetry or first-run pages.
	prefs := `user_pref("app.update.disabledForTesting", true);
user_pref("browser.shell.checkDefaultBrowser", false);
user_pref("datareporting.policy.dataSubmissionEnabled", false);
user_pref("toolkit.telemetry.reportingpolicy.firstRun", false);
user_pref("browser.startup.homepage_override.mstone", "ignore");
user_pref("network.captive-portal-service.enabled", false);
user_pref("network.connectivity-service.enabled", false);
`
	if err := os.WriteFile(filepath.Join(profile, "user.js"), []byte(prefs), 0o644); err != nil {
		t.Fatal(err)
	}
	cmd := exec.CommandContext(ctx, path, "--headless", "--no-remote", "--profile", profile, "--remote-debugging-port", "0", "about:blank")
	cmd.Env = append(os.Environ(), "MOZ_CRASHREPORTER_DISABLE=1", "HOME="+profile)
	stderr, err := cmd.StderrPipe()
	if err != nil {
		t.Fatal(err)
	}
	cmd.Stdout = nil
	if err := cmd.Start(); err != nil {
		t.Fatalf("start %s: %v", path, err)
	}
	t.Cleanup(func() {
		_ = cmd.Process.Kill()
		_ = cmd.Wait()
	})
	found := make(chan string, 1)
	var log bytes.Buffer
	var logMu sync.Mutex
	go func() {
		re := regexp.MustCompile(`WebDriver BiDi listening on (ws://\S+)`)
		sc := bufio.NewScanner(stderr)
		for sc.Scan() {
			logMu.Lock()
			log.WriteString(sc.Text() + "\n")
			logMu.Unlock()
			if m := re.FindStringSubmatch(sc.Text()); m != nil {
				found <- m[1]
			}
		}
	}()
	select {
	case u := <-found:
		return u
	case <-time.After(90 * time.Second):
		logMu.Lock()
		defer logMu.Unlock()
		t.Fatalf("Firefox announced no WebDriver BiDi endpoint in 90 s; stderr:\n%s", log.String())
	}
	return ""
}

func TestConsoleFirefox(t *testing.T) {
	path := firefox(t)
	f := newFixture(t, "--console-write")
	ctx, cancel := context.WithTimeout(context.Background(), 4*time.Minute)
	defer cancel()
	start := time.Now()
	wsURL := startFirefox(t, ctx, path)
	ws, err := wsDial(ctx, strings.TrimSuffix(wsURL, "/")+"/session")
	if err != nil {
		t.Fatal(err)
	}
	defer ws.c.Close()
	var mu sync.Mutex
	var problems []string
	b := newBidi(ws, func(method string, params json.RawMessage) {
		switch method {
		case "log.entryAdded":
			var e struct {
				Level, Text, Type string
				Source            struct{ Context string }
			}
			if json.Unmarshal(params, &e) == nil && e.Level == "error" {
				mu.Lock()
				problems = append(problems, fmt.Sprintf("%s error: %s", e.Type, e.Text))
				mu.Unlock()
			}
		case "network.responseCompleted":
			var e struct {
				Request  struct{ URL string }
				Response struct{ Status int }
			}
			if json.Unmarshal(params, &e) == nil && e.Response.Status >= 400 {
				mu.Lock()
				problems = append(problems, fmt.Sprintf("load failed: %d %s", e.Response.Status, e.Request.URL))
				mu.Unlock()
			}
		}
	})
	var sess struct {
		SessionID    string `json:"sessionId"`
		Capabilities struct {
			BrowserName, BrowserVersion string
		}
	}
	if err := b.call(ctx, "session.new", map[string]any{"capabilities": map[string]any{}}, &sess); err != nil {
		t.Fatal(err)
	}
	t.Logf("%s %s over WebDriver BiDi, ready in %v", sess.Capabilities.BrowserName, sess.Capabilities.BrowserVersion, time.Since(start).Round(time.Millisecond))
	defer b.call(context.Background(), "browser.close", map[string]any{}, nil) //nolint:errcheck // the process is killed anyway
	if err := b.call(ctx, "session.subscribe", map[string]any{"events": []string{"log.entryAdded", "network.responseCompleted"}}, nil); err != nil {
		t.Fatal(err)
	}
	var tree struct {
		Contexts []struct{ Context string }
	}
	if err := b.call(ctx, "browsingContext.getTree", map[string]any{}, &tree); err != nil || len(tree.Contexts) == 0 {
		t.Fatalf("browsing contexts: %v %+v", err, tree)
	}
	bc := tree.Contexts[0].Context
	if err := b.call(ctx, "browsingContext.setViewport", map[string]any{"context": bc, "viewport": map[string]int{"width": browsertest.ViewW, "height": browsertest.ViewH}}, nil); err != nil {
		t.Fatal(err)
	}
	eval := func(expr string) (json.RawMessage, error) {
		var r struct {
			Type   string
			Result struct {
				Type  string
				Value json.RawMessage
			}
			ExceptionDetails struct{ Text string }
		}
		err := b.call(ctx, "script.evaluate", map[string]any{"expression": expr, "target": map[string]string{"context": bc}, "awaitPromise": true}, &r)
		if err != nil {
			return nil, err
		}
		if r.Type == "exception" {
			return nil, errors.New(r.ExceptionDetails.Text)
		}
		return r.Result.Value, nil
	}
	waitFor := func(what, cond string, timeout time.Duration) {
		t.Helper()
		deadline := time.Now().Add(timeout)
		for {
			v, err := eval("Boolean(" + cond + ")")
			if err == nil && string(v) == "true" {
				return
			}
			if time.Now().After(deadline) {
				page, _ := eval(`document.querySelector("main") ? document.querySelector("main").innerText.slice(0, 800) + "\nerror box: " + document.querySelector("#error").textContent : document.documentElement.outerHTML.slice(0, 800)`)
				t.Fatalf("%s: waiting for %s: %v\npage: %s", what, cond, err, page)
			}
			time.Sleep(50 * time.Millisecond)
		}
	}
	check := func(what string) {
		t.Helper()
		time.Sleep(150 * time.Millisecond) // late errors of the page's fetches
		mu.Lock()
		defer mu.Unlock()
		if len(problems) > 0 {
			t.Errorf("%s in Firefox: %s", what, strings.Join(problems, "\n  "))
		}
		problems = nil
	}
	// The watch sees what it must: a logged error, an uncaught exception
	// and a failed load on a console page.
	if err := b.call(ctx, "browsingContext.navigate", map[string]any{"context": bc, "url": f.p.HTTPURL() + "/ui/topics", "wait": "complete"}, nil); err != nil {
		t.Fatal(err)
	}
	if _, err := eval(`console.error("eddy self-check"); setTimeout(() => { throw new Error("eddy self-check exception"); }); fetch("/v1/topics/no-such-topic").then(() => true)`); err != nil {
		t.Fatal(err)
	}
	time.Sleep(500 * time.Millisecond)
	mu.Lock()
	seen := strings.Join(problems, "\n")
	problems = nil
	mu.Unlock()
	for _, want := range []string{"eddy self-check", "self-check exception", "404 " + f.p.HTTPURL() + "/v1/topics/no-such-topic"} {
		if !strings.Contains(seen, want) {
			t.Fatalf("the error watch missed %q; it saw:\n%s", want, seen)
		}
	}
	// A share group for its page: a receive creates it.
	if code := httpJSON(t, "POST", f.p.HTTPURL()+"/v1/share-groups/fx-workers/receive", `{"topics":["orders"],"max":1,"waitMs":10}`, nil); code != 200 {
		t.Fatalf("share receive: %d", code)
	}
	pages := []struct{ name, path, ready string }{
		{"overview", "/", `document.querySelector("#st-ready").textContent === "ready" && document.querySelector("#top-topics tbody").rows.length >= 3`},
		{"share group", "/ui/share-groups/fx-workers", `document.querySelector("#sg-state").textContent === "Empty" && document.querySelector("#sg-members-t tbody").innerText.includes("no members")`},
		{"topics", "/ui/topics", `document.querySelector("#topics tbody").innerText.includes("payments")`},
		{"topic", "/ui/topics/orders", `document.querySelector("#partitions tbody").rows.length === 2 && document.querySelector("#t-records").textContent === "20"`},
		{"messages", "/ui/messages?topic=orders", `document.querySelector("#messages tbody").rows.length === 20`},
		{"groups", "/ui/groups", `document.querySelector("#groups tbody").innerText.includes("billing")`},
		{"group", "/ui/groups/billing", `document.querySelector("#g-lag").textContent === "6" && Number(document.querySelector("#chart-lag").dataset.points) >= 1`},
		{"streams", "/ui/streams?topic=shop&prefix=order-&stream=order-1", `document.querySelector("#events tbody").rows.length === 2 && document.querySelectorAll("#timeline li").length === 2`},
		{"dlq", "/ui/dlq", `document.querySelector("#dlqs tbody").innerText.includes("rejected: 2")`},
		{"schemas", "/ui/schemas?subject=orders-value", `document.querySelector("#subjects tbody").innerText.includes("BACKWARD") && Number(document.querySelector("#sc-right-text").dataset.changed) >= 4`},
	}
	for _, pg := range pages {
		if err := b.call(ctx, "browsingContext.navigate", map[string]any{"context": bc, "url": f.p.HTTPURL() + pg.path, "wait": "complete"}, nil); err != nil {
			t.Fatalf("%s: %v", pg.name, err)
		}
		waitFor(pg.name, pg.ready, 10*time.Second)
		check(pg.name)
		if pg.name == "overview" && os.Getenv("EDDY_UPDATE_SCREENSHOTS") == "1" {
			var shot struct{ Data string }
			if err := b.call(ctx, "browsingContext.captureScreenshot", map[string]any{"context": bc}, &shot); err != nil {
				t.Fatal(err)
			}
			png, _ := base64.StdEncoding.DecodeString(shot.Data)
			if err := os.WriteFile(filepath.Join("..", "..", "docs", "console", "firefox-overview.png"), png, 0o644); err != nil {
				t.Fatal(err)
			}
		}
	}
	// Live tail over EventSource: a record produced after it started
	// appears within 2 s.
	if err := b.call(ctx, "browsingContext.navigate", map[string]any{"context": bc, "url": f.p.HTTPURL() + "/ui/messages?topic=tail", "wait": "complete"}, nil); err != nil {
		t.Fatal(err)
	}
	waitFor("tail", `document.querySelector("#messages tbody").rows.length === 1`, 10*time.Second)
	if _, err := eval(`document.querySelector("#tail-toggle").click()`); err != nil {
		t.Fatal(err)
	}
	waitFor("tail", `document.querySelector("#tail-state").textContent.startsWith("live")`, 5*time.Second)
	produced := time.Now()
	if err := f.cl.ProduceSync(ctx, &kgo.Record{Topic: "tail", Key: []byte("ff-1"), Value: []byte(`{"from":"firefox test"}`)}).FirstErr(); err != nil {
		t.Fatal(err)
	}
	waitFor("tail", `document.querySelector("#messages tbody").innerText.includes("ff-1")`, 2*time.Second)
	t.Logf("live tail in Firefox showed the record after %v", time.Since(produced).Round(time.Millisecond))
	check("live tail")
}
