package main

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/sr"

	"github.com/eddy-streaming/eddy/internal/eddytest"
)

// TestSchemaRegistrySurvivesKill registers schemas from several clients
// against a real `eddy serve`, kills it with SIGKILL while registrations are
// in flight, and checks that every acknowledged registration is there after
// the restart, with its id, and that new ids do not reuse old ones.
func TestSchemaRegistrySurvivesKill(t *testing.T) {
	ctx := context.Background()
	p := eddytest.Start(t)
	dir := p.DataDir()
	cl, err := sr.NewClient(sr.URLs(p.SchemaRegistryURL()))
	if err != nil {
		t.Fatal(err)
	}
	// The same API under /schema-registry/ on the main HTTP listener.
	viaHTTP, err := sr.NewClient(sr.URLs(p.HTTPURL() + "/schema-registry"))
	if err != nil {
		t.Fatal(err)
	}
	first, err := viaHTTP.CreateSchema(ctx, "orders-value", sr.Schema{Schema: `{"type":"record","name":"OrderCreated","fields":[{"name":"id","type":"string"}]}`})
	if err != nil {
		t.Fatal(err)
	}
	if got, err := cl.SchemaByID(ctx, first.ID); err != nil || !strings.Contains(got.Schema, "OrderCreated") {
		t.Fatalf("both listeners serve one registry: %+v %v", got, err)
	}

	type acked struct {
		subject string
		id      int
	}
	var (
		mu   sync.Mutex
		acks []acked
		wg   sync.WaitGroup
	)
	stop := make(chan struct{})
	for w := 0; w < 4; w++ {
		wg.Add(1)
		go func(w int) {
			defer wg.Done()
			for i := 0; ; i++ {
				select {
				case <-stop:
					return
				default:
				}
				subject := fmt.Sprintf("w%d-%d-value", w, i)
				rctx, cancel := context.WithTimeout(ctx, 2*time.Second)
				id, err := cl.RegisterSchema(rctx, subject, sr.Schema{Schema: fmt.Sprintf(`{"type":"enum","name":"E%d_%d","symbols":["A"]}`, w, i)}, -1, -1)
				cancel()
				if err != nil {
					return // the server is gone
				}
				mu.Lock()
				acks = append(acks, acked{subject, id})
				mu.Unlock()
			}
		}(w)
	}
	deadline := time.Now().Add(10 * time.Second)
	for {
		mu.Lock()
		n := len(acks)
		mu.Unlock()
		if n >= 40 || time.Now().After(deadline) {
			break
		}
		time.Sleep(10 * time.Millisecond)
	}
	p.Kill()
	close(stop)
	wg.Wait()
	if len(acks) == 0 {
		t.Fatal("no registration was acknowledged before the kill")
	}

	p2 := eddytest.Start(t, eddytest.DataDir(dir))
	cl2, err := sr.NewClient(sr.URLs(p2.SchemaRegistryURL()))
	if err != nil {
		t.Fatal(err)
	}
	maxID := first.ID
	for _, a := range acks {
		s, err := cl2.SchemaByVersion(ctx, a.subject, -1)
		if err != nil || s.ID != a.id {
			t.Fatalf("acknowledged %s id %d lost after kill -9: %+v %v", a.subject, a.id, s, err)
		}
		maxID = max(maxID, a.id)
	}
	fresh, err := cl2.CreateSchema(ctx, "after-crash-value", sr.Schema{Schema: `"bytes"`})
	if err != nil || fresh.ID <= maxID {
		t.Fatalf("a new schema after restart must get an id above %d: %+v %v", maxID, fresh, err)
	}
	t.Logf("%d acknowledged registrations survived kill -9", len(acks))

	resp, err := http.Get(p2.HTTPURL() + "/v1/status")
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if !strings.Contains(string(body), "schema_registry") {
		t.Errorf("/v1/status does not list the schema registry listener: %s", body)
	}
}
