package node

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kgo"
	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/eddy-streaming/eddy/internal/acl"
	"github.com/eddy-streaming/eddy/internal/auth"
	"github.com/eddy-streaming/eddy/internal/broker"
	"github.com/eddy-streaming/eddy/internal/group"
	"github.com/eddy-streaming/eddy/internal/httpapi"
	"github.com/eddy-streaming/eddy/internal/share"
)

// The HTTP half of the authorization matrix: every route, asked without
// and then with the ACLs docs/security.md maps it to. Requests carry no
// credentials yet, so they act as User:ANONYMOUS.

func allow(op kmsg.ACLOperation, rt kmsg.ACLResourceType, name string) acl.Binding {
	return acl.Binding{ResourceType: rt, ResourceName: name, PatternType: kmsg.ACLResourcePatternTypeLiteral,
		Principal: string(auth.Anonymous), Host: "*", Operation: op, Permission: kmsg.ACLPermissionTypeAllow}
}

func setBindings(t *testing.T, a *acl.Authorizer, bs ...acl.Binding) {
	t.Helper()
	all := acl.Filter{ResourceType: kmsg.ACLResourceTypeAny, PatternType: kmsg.ACLResourcePatternTypeAny, Operation: kmsg.ACLOperationAny, Permission: kmsg.ACLPermissionTypeAny}
	if _, _, err := a.Delete([]acl.Filter{all}); err != nil {
		t.Fatal(err)
	}
	errs, err := a.Create(bs)
	if err != nil || errors.Join(errs...) != nil {
		t.Fatalf("create %v: %v %v", bs, err, errs)
	}
}

// call makes one request and returns the status and body; an SSE route
// that answers with headers and then streams counts by its status.
func call(t *testing.T, method, url, body string) (int, string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Second)
	defer cancel()
	var rd io.Reader
	if body != "" {
		rd = strings.NewReader(body)
	}
	req, err := http.NewRequestWithContext(ctx, method, url, rd)
	if err != nil {
		t.Fatal(err)
	}
	if body != "" {
		req.Header.Set("Content-Type", "application/json")
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatalf("%s %s: %v", method, url, err)
	}
	defer resp.Body.Close()
	if strings.HasPrefix(resp.Header.Get("Content-Type"), "text/event-stream") {
		return resp.StatusCode, ""
	}
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

func TestAuthorizationMatrixHTTP(t *testing.T) {
	cfg := testConfig(t.TempDir())
	cfg.ACL = &acl.Options{}
	cfg.Admin.AllowWrites = true
	cfg.SchemaRegistry = &SchemaRegistryConfig{}
	n := openT(t, cfg)
	a := n.ACL
	ctx := context.Background()
	base := "http://" + n.HTTP.Addr().String()
	b := n.Broker
	for _, tp := range []struct {
		name string
		cfg  map[string]string
	}{{"t", nil}, {"dt", nil}, {"dlq", nil}, {"st", map[string]string{broker.ConfigStreams: "true"}}, {"hidden", nil}} {
		if _, err := b.CreateTopic(tp.name, 1, tp.cfg, false); err != nil {
			t.Fatal(err)
		}
	}
	// A dead letter of t/0 in dlq, and a committed offset of group g.
	setBindings(t, a, allow(kmsg.ACLOperationAll, kmsg.ACLResourceTypeTopic, "*"), allow(kmsg.ACLOperationAll, kmsg.ACLResourceTypeCluster, acl.ClusterName))
	cl, err := kgo.NewClient(kgo.SeedBrokers(n.Kafka.Addr().String()))
	if err != nil {
		t.Fatal(err)
	}
	defer cl.Close()
	dead := &kgo.Record{Topic: "dlq", Value: []byte("v"), Headers: []kgo.RecordHeader{{Key: share.HeaderTopic, Value: []byte("t")}, {Key: share.HeaderPartition, Value: []byte("0")}}}
	if err := cl.ProduceSync(ctx, dead, &kgo.Record{Topic: "t", Value: []byte("v")}).FirstErr(); err != nil {
		t.Fatal(err)
	}
	if _, err := n.Groups.Commit(ctx, group.CommitRequest{Group: "g", Generation: -1, Offsets: []group.CommitOffset{{Topic: "t", Partition: 0, Offset: 1}}}); err != nil {
		t.Fatal(err)
	}
	if st, body := call(t, "PUT", base+"/v1/views/v", `{"source":"t","filter":"true"}`); st != 200 && st != 201 {
		t.Fatalf("create view v: %d %s", st, body)
	}
	if st, body := call(t, "POST", base+"/schema-registry/subjects/s-value/versions", `{"schema":"\"string\""}`); st != 200 {
		t.Fatalf("register s-value: %d %s", st, body)
	}

	const (
		read, write, create, del = kmsg.ACLOperationRead, kmsg.ACLOperationWrite, kmsg.ACLOperationCreate, kmsg.ACLOperationDelete
		describe, alter          = kmsg.ACLOperationDescribe, kmsg.ACLOperationAlter
		topic, grp, cluster      = kmsg.ACLResourceTypeTopic, kmsg.ACLResourceTypeGroup, kmsg.ACLResourceTypeCluster
		subject                  = acl.ResourceTypeSubject
	)
	cl1 := acl.ClusterName
	cases := []struct {
		method, path, body string
		base, need         []acl.Binding
	}{
		{"GET", "/v1/status", "", nil, []acl.Binding{allow(describe, cluster, cl1)}},
		{"GET", "/v1/topics/t", "", nil, []acl.Binding{allow(describe, topic, "t")}},
		{"GET", "/v1/topics/t/messages?partition=0", "", nil, []acl.Binding{allow(read, topic, "t")}},
		{"POST", "/v1/topics", `{"name":"ht"}`, nil, []acl.Binding{allow(create, topic, "ht")}},
		{"POST", "/v1/topics", `{"name":"ht2"}`, nil, []acl.Binding{allow(create, cluster, cl1)}},
		{"DELETE", "/v1/topics/dt", "", nil, []acl.Binding{allow(del, topic, "dt")}},
		{"POST", "/v1/topics/dlq/redrive", `{"partition":0,"offsets":[0],"dryRun":true}`, []acl.Binding{allow(write, topic, "t")}, []acl.Binding{allow(read, topic, "dlq")}},
		{"POST", "/v1/topics/dlq/redrive", `{"partition":0,"offsets":[0],"dryRun":true}`, []acl.Binding{allow(read, topic, "dlq")}, []acl.Binding{allow(write, topic, "t")}},
		{"GET", "/v1/groups/g", "", nil, []acl.Binding{allow(describe, grp, "g")}},
		{"POST", "/v1/groups/g/offsets/reset", `{"to":"earliest","topic":"t","dryRun":true}`, []acl.Binding{allow(read, topic, "t")}, []acl.Binding{allow(read, grp, "g")}},
		{"POST", "/v1/groups/g/offsets/reset", `{"to":"earliest","topic":"t","dryRun":true}`, []acl.Binding{allow(read, grp, "g")}, []acl.Binding{allow(read, topic, "t")}},
		{"POST", "/v1/topics/st/streams/s1", `{"expectedVersion":"any","events":[{"id":"e1","type":"T","data":{}}]}`, nil, []acl.Binding{allow(write, topic, "st")}},
		{"GET", "/v1/topics/st/streams/s1", "", nil, []acl.Binding{allow(read, topic, "st")}},
		{"GET", "/v1/topics/st/streams/s1/subscribe", "", nil, []acl.Binding{allow(read, topic, "st")}},
		{"GET", "/v1/topics/t/subscribe", "", nil, []acl.Binding{allow(read, topic, "t")}},
		{"GET", "/v1/views/v/subscribe", "", nil, []acl.Binding{allow(read, topic, "v")}},
		{"PUT", "/v1/views/v2", `{"source":"t","filter":"true"}`, []acl.Binding{allow(read, topic, "t")}, []acl.Binding{allow(create, topic, "v2")}},
		{"PUT", "/v1/views/v3", `{"source":"t","filter":"true"}`, []acl.Binding{allow(create, topic, "v3")}, []acl.Binding{allow(read, topic, "t")}},
		{"PUT", "/v1/views/v", `{"source":"t","filter":"false"}`, []acl.Binding{allow(read, topic, "t")}, []acl.Binding{allow(kmsg.ACLOperationAlterConfigs, topic, "v")}},
		{"GET", "/v1/views/v", "", nil, []acl.Binding{allow(describe, topic, "v")}},
		{"POST", "/v1/share-groups/sg/receive", `{"topics":["t"],"max":1,"waitMs":0}`, []acl.Binding{allow(read, topic, "t")}, []acl.Binding{allow(read, grp, "sg")}},
		{"POST", "/v1/share-groups/sg/receive", `{"topics":["t"],"max":1,"waitMs":0}`, []acl.Binding{allow(read, grp, "sg")}, []acl.Binding{allow(read, topic, "t")}},
		{"POST", "/v1/share-groups/sg/ack", `{"ackIds":["x"],"type":"accept"}`, nil, []acl.Binding{allow(read, grp, "sg")}},
		{"POST", "/v1/share-groups/sg/offsets/reset", `{"topic":"t","to":"earliest","dryRun":true}`, []acl.Binding{allow(read, topic, "t")}, []acl.Binding{allow(read, grp, "sg")}},
		{"POST", "/v1/share-groups/sg/offsets/reset", `{"topic":"t","to":"earliest","dryRun":true}`, []acl.Binding{allow(read, grp, "sg")}, []acl.Binding{allow(read, topic, "t")}},
		{"POST", "/schema-registry/subjects/s-value/versions", `{"schema":"\"string\""}`, nil, []acl.Binding{allow(alter, subject, "s-value")}},
		{"GET", "/schema-registry/subjects/s-value/versions", "", nil, []acl.Binding{allow(describe, subject, "s-value")}},
		{"GET", "/schema-registry/subjects/s-value/versions/1", "", nil, []acl.Binding{allow(alter, cluster, cl1)}},
		{"POST", "/schema-registry/subjects/s-value", `{"schema":"\"string\""}`, nil, []acl.Binding{allow(describe, subject, "s-value")}},
		{"POST", "/schema-registry/compatibility/subjects/s-value/versions/latest", `{"schema":"\"string\""}`, nil, []acl.Binding{allow(describe, subject, "s-value")}},
		{"GET", "/schema-registry/schemas/ids/1", "", nil, []acl.Binding{allow(describe, subject, "s-value")}},
		{"GET", "/schema-registry/config", "", nil, []acl.Binding{allow(describe, cluster, cl1)}},
		{"PUT", "/schema-registry/config", `{"compatibility":"BACKWARD"}`, nil, []acl.Binding{allow(alter, cluster, cl1)}},
		{"PUT", "/schema-registry/config/s-value", `{"compatibility":"BACKWARD"}`, nil, []acl.Binding{allow(alter, subject, "s-value")}},
		{"GET", "/schema-registry/mode/s-value", "", nil, []acl.Binding{allow(describe, subject, "s-value")}},
		{"DELETE", "/schema-registry/subjects/s-value/versions/1", "", nil, []acl.Binding{allow(alter, subject, "s-value")}},
		{"POST", "/v1/topics/t/messages", `{"key":"k","value":{"a":1}}`, nil, []acl.Binding{allow(write, topic, "t")}},
		{"PATCH", "/v1/topics/t/configs", `{"set":{"retention.ms":"3600000"}}`, nil, []acl.Binding{allow(kmsg.ACLOperationAlterConfigs, topic, "t")}},
		{"GET", "/v1/topics/st/streams?prefix=s", "", nil, []acl.Binding{allow(read, topic, "st")}},
		{"DELETE", "/v1/groups/gone", "", nil, []acl.Binding{allow(del, grp, "gone")}},
		{"DELETE", "/v1/views/v", "", nil, []acl.Binding{allow(del, topic, "v")}},
	}
	for _, c := range cases {
		t.Run(c.method+" "+c.path, func(t *testing.T) {
			setBindings(t, a, c.base...)
			st, body := call(t, c.method, base+c.path, c.body)
			if st != http.StatusForbidden {
				t.Fatalf("without %v: %d %s, want 403", c.need, st, body)
			}
			if strings.HasPrefix(c.path, "/schema-registry/") {
				if !strings.Contains(body, `"error_code":40301`) {
					t.Fatalf("registry 403 body %s, want Confluent's error_code 40301", body)
				}
			} else {
				var e struct {
					Error struct{ Code, Message string }
				}
				if err := json.Unmarshal([]byte(body), &e); err != nil || e.Error.Code != "authorization_failed" || e.Error.Message == "" {
					t.Fatalf("403 body %s, want {\"error\":{\"code\":\"authorization_failed\",...}}", body)
				}
			}
			setBindings(t, a, slices.Concat(c.base, c.need)...)
			if st, body := call(t, c.method, base+c.path, c.body); st == http.StatusForbidden || st >= 500 {
				t.Fatalf("with %v: %d %s", c.need, st, body)
			}
		})
	}

	// Probes stay open.
	setBindings(t, a)
	for _, p := range []string{"/healthz", "/readyz"} {
		if st, _ := call(t, "GET", base+p, ""); st != 200 {
			t.Fatalf("%s: %d without ACLs", p, st)
		}
	}
}

// TestHTTPListsHideUndescribable: list routes show only what the caller
// may DESCRIBE, and never name the rest.
func TestHTTPListsHideUndescribable(t *testing.T) {
	cfg := testConfig(t.TempDir())
	cfg.ACL = &acl.Options{}
	cfg.SchemaRegistry = &SchemaRegistryConfig{}
	n := openT(t, cfg)
	ctx := context.Background()
	base := "http://" + n.HTTP.Addr().String()
	for _, tp := range []string{"seen", "secret"} {
		if _, err := n.Broker.CreateTopic(tp, 1, nil, false); err != nil {
			t.Fatal(err)
		}
		if _, err := n.Groups.Commit(ctx, group.CommitRequest{Group: tp + "-g", Generation: -1, Offsets: []group.CommitOffset{{Topic: tp, Partition: 0, Offset: 0}}}); err != nil {
			t.Fatal(err)
		}
	}
	setBindings(t, n.ACL, allow(kmsg.ACLOperationAll, kmsg.ACLResourceTypeCluster, acl.ClusterName), allow(kmsg.ACLOperationAll, kmsg.ACLResourceTypeTopic, "*"))
	for _, p := range []struct{ path, body string }{
		{"/v1/views/seen-v", `{"source":"seen","filter":"true"}`}, {"/v1/views/secret-v", `{"source":"secret","filter":"true"}`},
	} {
		if st, body := call(t, "PUT", base+p.path, p.body); st >= 300 {
			t.Fatalf("PUT %s: %d %s", p.path, st, body)
		}
	}
	for _, s := range []string{"seen-value", "secret-value"} {
		if st, body := call(t, "POST", base+"/schema-registry/subjects/"+s+"/versions", `{"schema":"\"string\""}`); st != 200 {
			t.Fatalf("register %s: %d %s", s, st, body)
		}
	}
	setBindings(t, n.ACL,
		allow(kmsg.ACLOperationDescribe, kmsg.ACLResourceTypeTopic, "seen"),
		allow(kmsg.ACLOperationDescribe, kmsg.ACLResourceTypeTopic, "seen-v"),
		allow(kmsg.ACLOperationDescribe, kmsg.ACLResourceTypeGroup, "seen-g"),
		allow(kmsg.ACLOperationDescribe, acl.ResourceTypeSubject, "seen-value"))
	for _, p := range []string{"/v1/topics", "/v1/views", "/v1/groups", "/schema-registry/subjects"} {
		st, body := call(t, "GET", base+p, "")
		if st != 200 || !strings.Contains(body, "seen") || strings.Contains(body, "secret") {
			t.Fatalf("GET %s: %d %s; want seen listed and secret not named", p, st, body)
		}
	}
}

// TestEveryRouteHasARule keeps routeRules (and docs/security.md's table)
// complete: every route the node registers is mapped to its operation.
func TestEveryRouteHasARule(t *testing.T) {
	cfg := testConfig(t.TempDir())
	cfg.ACL = &acl.Options{}
	cfg.SchemaRegistry = &SchemaRegistryConfig{}
	n := openT(t, cfg)
	routes := n.HTTP.Routes()
	if len(routes) < 20 {
		t.Fatalf("only %d routes registered: %q", len(routes), routes)
	}
	for _, p := range routes {
		if !httpapi.HasRule(p) {
			t.Errorf("route %q has no entry in httpapi's routeRules (nor in docs/security.md)", p)
		}
	}
}
