package console_test

// The console behind authentication: the browser answers the HTTP Basic
// challenge with an Eddy user (as a person answers the sign-in prompt),
// and every page shows only what that user may describe.

import (
	"context"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/chromedp/cdproto/fetch"
	"github.com/chromedp/chromedp"
	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kgo"
	"github.com/twmb/franz-go/pkg/sasl/scram"

	"github.com/eddy-streaming/eddy/internal/console/browsertest"
	"github.com/eddy-streaming/eddy/internal/eddytest"
)

// signIn makes the tab answer every authentication challenge (401 with
// WWW-Authenticate: Basic) with user and password, through the DevTools
// Fetch domain: the browser's own sign-in path, not a header the test
// adds. It counts the challenges answered.
func signIn(tb *browsertest.Tab, user, password string) *atomic.Int64 {
	tb.T.Helper()
	challenges := new(atomic.Int64)
	paused := chromedp.Events(tb.Ctx, fetch.RequestPaused)
	auths := chromedp.Events(tb.Ctx, fetch.AuthRequired)
	go func() {
		for ev, err := range paused {
			if err != nil {
				return
			}
			_, _ = chromedp.Call(tb.Ctx, fetch.ContinueRequest, fetch.ContinueRequestParams{RequestID: ev.RequestID})
		}
	}()
	go func() {
		for ev, err := range auths {
			if err != nil {
				return
			}
			challenges.Add(1)
			_, _ = chromedp.Call(tb.Ctx, fetch.ContinueWithAuth, fetch.ContinueWithAuthParams{RequestID: ev.RequestID,
				AuthChallengeResponse: &fetch.AuthChallengeResponse{Response: fetch.AuthChallengeResponseResponseProvideCredentials, Username: user, Password: password}})
		}
	}()
	handle := true
	if _, err := chromedp.Call(tb.Ctx, fetch.Enable, fetch.EnableParams{HandleAuthRequests: &handle}); err != nil {
		tb.T.Fatal(err)
	}
	return challenges
}

// TestConsoleSignedIn starts a server that authenticates (a bootstrap
// administrator, a SASL listener, the ACL authorizer) with topics and
// groups and share groups of two teams; user ann may describe and read the ann-* topics
// and groups only. Signed in as ann, the topic list and the groups page
// show hers and nothing else; a topic she may not describe, the overview
// (DESCRIBE on the cluster) and creating a topic (CREATE on the cluster)
// are refused in words. Signed in as the administrator, every topic and
// group shows.
func TestConsoleSignedIn(t *testing.T) {
	bctx := browsertest.Start(t)
	pw := filepath.Join(t.TempDir(), "admin.pw")
	if err := os.WriteFile(pw, []byte("admin-secret\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	p := eddytest.Start(t, eddytest.Args(
		"--listeners", "PLAINTEXT://127.0.0.1:0,SASL_PLAINTEXT://127.0.0.1:0",
		"--bootstrap-user", "admin", "--bootstrap-password-file", pw,
		"--authorizer", "acl", "--super-users", "User:admin", "--console-write"))
	sasl := p.ListenerAddr("SASL_PLAINTEXT")
	if sasl == "" {
		t.Fatalf("no SASL_PLAINTEXT listener in the start line:\n%s", p.Output())
	}
	cl, err := kgo.NewClient(kgo.SeedBrokers(sasl), kgo.SASL(scram.Auth{User: "admin", Pass: "admin-secret"}.AsSha256Mechanism()))
	if err != nil {
		t.Fatal(err)
	}
	defer cl.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	adm := kadm.NewClient(cl)
	if _, err := adm.CreateTopics(ctx, 1, 1, nil, "ann-orders", "ann-invoices", "payroll", "secrets"); err != nil {
		t.Fatal(err)
	}
	var recs []*kgo.Record
	for _, topic := range []string{"ann-orders", "payroll", "payroll"} {
		recs = append(recs, &kgo.Record{Topic: topic, Value: []byte(`{"x":1}`)})
	}
	if err := cl.ProduceSync(ctx, recs...).FirstErr(); err != nil {
		t.Fatal(err)
	}
	for group, topic := range map[string]string{"ann-billing": "ann-orders", "hr": "payroll"} {
		offs := kadm.Offsets{}
		offs.Add(kadm.Offset{Topic: topic, Partition: 0, At: 0, LeaderEpoch: -1})
		if resp, err := adm.CommitOffsets(ctx, group, offs); err != nil || resp.Error() != nil {
			t.Fatalf("commit %s: %v %v", group, err, resp.Error())
		}
	}
	// Two share groups (queues), each created by a receive.
	for group, topic := range map[string]string{"ann-queue": "ann-orders", "hr-queue": "payroll"} {
		req, _ := http.NewRequest("POST", p.HTTPURL()+"/v1/share-groups/"+group+"/receive", strings.NewReader(`{"topics":["`+topic+`"],"max":1,"waitMs":100}`))
		req.SetBasicAuth("admin", "admin-secret")
		req.Header.Set("Content-Type", "application/json")
		res, err := http.DefaultClient.Do(req)
		if err != nil || res.StatusCode != 200 {
			t.Fatalf("receive as %s: %v %v", group, err, res)
		}
		res.Body.Close()
	}
	if res, err := adm.AlterUserSCRAMs(ctx, nil, []kadm.UpsertSCRAM{{User: "ann", Mechanism: kadm.ScramSha256, Iterations: 4096, Password: "ann-pw"}}); err != nil || res.Error() != nil {
		t.Fatalf("create user ann: %v %v", err, res.Error())
	}
	acls := []*kadm.ACLBuilder{
		kadm.NewACLs().Allow("User:ann").Topics("ann-").ResourcePatternType(kadm.ACLPatternPrefixed).Operations(kadm.OpDescribe, kadm.OpRead),
		kadm.NewACLs().Allow("User:ann").Groups("ann-").ResourcePatternType(kadm.ACLPatternPrefixed).Operations(kadm.OpDescribe, kadm.OpRead),
	}
	for _, b := range acls {
		res, err := adm.CreateACLs(ctx, b)
		if err == nil {
			for _, r := range res {
				if r.Err != nil {
					err = r.Err
				}
			}
		}
		if err != nil {
			t.Fatalf("create ACLs: %v", err)
		}
	}

	// Without credentials the server asks for them.
	if code := httpJSON(t, "GET", p.HTTPURL()+"/v1/topics", "", nil); code != 401 {
		t.Fatalf("/v1/topics without credentials: %d, want 401", code)
	}

	// Each user signs in in a browser context of its own: one context
	// keeps the credentials it signed in with for the origin.
	ann := browsertest.NewTabFor(t, bctx, p.HTTPURL(), 30*time.Second, chromedp.WithNewBrowserContext())
	challenges := signIn(ann, "ann", "ann-pw")
	ann.Open("/ui/topics", `document.querySelector("#topic-count").textContent === "2 topics"`)
	if list := browsertest.Eval[string](ann, `document.querySelector("#topics tbody").innerText`); !strings.Contains(list, "ann-orders") || !strings.Contains(list, "ann-invoices") || strings.Contains(list, "payroll") || strings.Contains(list, "secrets") {
		t.Errorf("ann's topic list:\n%s\nwant ann-orders and ann-invoices only", list)
	}
	n := challenges.Load()
	if n == 0 {
		t.Errorf("the browser was never asked to sign in")
	}
	ann.Open("/ui/groups", `document.querySelector("#groups tbody").innerText.includes("ann-billing") && document.querySelector("#share-groups tbody").innerText.includes("ann-queue")`)
	if list := browsertest.Eval[string](ann, `document.querySelector("#groups tbody").innerText + document.querySelector("#share-groups tbody").innerText`); strings.Contains(list, "hr") {
		t.Errorf("ann's group lists show hr's groups:\n%s", list)
	}
	ann.NoErrors("signed in as ann")
	// The overview describes the whole node (DESCRIBE on the cluster).
	ann.Open("/ui/", `!document.querySelector("#error").hidden`)
	if msg := browsertest.Eval[string](ann, `document.querySelector("#error").textContent`); !strings.Contains(msg, "DESCRIBE on the cluster") {
		t.Errorf("the overview for ann says %q", msg)
	}
	ann.ExpectLoadErrors(403)
	// A topic she may not describe, and a write she may not do.
	ann.Open("/ui/topics/payroll", `!document.querySelector("#error").hidden`)
	if msg := browsertest.Eval[string](ann, `document.querySelector("#error").textContent`); !strings.Contains(msg, "Your user may not do this") || !strings.Contains(msg, "Ask an administrator for an ACL") {
		t.Errorf("payroll for ann says %q", msg)
	}
	ann.ExpectLoadErrors(403)
	ann.Open("/ui/topics", `document.querySelector("#topic-count").textContent === "2 topics"`)
	ann.Run(chromedp.SetValue(chromedp.CSS("#create-name"), "ann-new"), chromedp.Click(chromedp.CSS(`#topic-create button[type="submit"]`)))
	confirm(ann, `Create topic "ann-new"`)
	ann.WaitJS(`!document.querySelector("#error").hidden`, 5*time.Second)
	if msg := browsertest.Eval[string](ann, `document.querySelector("#error").textContent`); !strings.Contains(msg, "Your user may not do this") {
		t.Errorf("creating a topic as ann says %q", msg)
	}
	ann.ExpectLoadErrors(403)
	ann.NoErrors("refusals for ann")
	if topics, err := adm.ListTopics(ctx); err != nil || topics.Has("ann-new") {
		t.Errorf("ann-new exists after a refused create (err %v)", err)
	}

	admin := browsertest.NewTabFor(t, bctx, p.HTTPURL(), 30*time.Second, chromedp.WithNewBrowserContext())
	signIn(admin, "admin", "admin-secret")
	admin.Open("/ui/topics", `document.querySelector("#topic-count").textContent === "4 topics"`)
	admin.Open("/ui/", `document.querySelector("#st-ready").textContent === "ready" && document.querySelector("#top-topics tbody").rows.length === 4 && document.querySelector("#top-lag tbody").rows.length === 2`)
	admin.Open("/ui/groups", `document.querySelector("#groups tbody").innerText.includes("ann-billing") && document.querySelector("#groups tbody").innerText.includes("hr") && document.querySelector("#share-groups tbody").innerText.includes("hr-queue")`)
	admin.NoErrors("signed in as admin")
}
