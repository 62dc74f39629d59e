package httpapi_test

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"os"
	"strconv"
	"testing"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/eddy-streaming/eddy/internal/node"
)

// BenchmarkConsoleLists measures the answers the console's overview and
// topic list poll, on a node with EDDY_BENCH_TOPICS topics of one
// partition (1,000 by default): a page of 50 topics, a prefix search,
// and the overview's totals and top 10.
//
//	EDDY_BENCH_TOPICS=5000 go test -run '^$' -bench BenchmarkConsoleLists ./internal/httpapi/
func BenchmarkConsoleLists(b *testing.B) {
	topics := 1000
	if v, err := strconv.Atoi(os.Getenv("EDDY_BENCH_TOPICS")); err == nil && v > 0 {
		topics = v
	}
	cfg := node.DefaultConfig(b.TempDir())
	cfg.Kafka.Addr, cfg.HTTP.Addr = "127.0.0.1:0", "127.0.0.1:0"
	n, err := node.Open(cfg)
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { n.Close(context.Background()) })
	cl, err := kgo.NewClient(kgo.SeedBrokers(n.Kafka.Addr().String()))
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(cl.Close)
	adm := kadm.NewClient(cl)
	for i := 0; i < topics; i += 500 {
		var names []string
		for j := i; j < min(i+500, topics); j++ {
			names = append(names, fmt.Sprintf("topic-%05d", j))
		}
		if _, err := adm.CreateTopics(context.Background(), 1, 1, nil, names...); err != nil {
			b.Fatal(err)
		}
	}
	base := "http://" + n.HTTP.Addr().String()
	for _, c := range []struct{ name, path string }{
		{"topics-page", "/v1/topics?limit=50&after=topic-00100"},
		{"topics-prefix", fmt.Sprintf("/v1/topics?limit=50&prefix=topic-%05d", topics-1)},
		{"overview-top0", "/v1/overview?top=0"},
		{"overview-top10", "/v1/overview?top=10"},
	} {
		b.Run(fmt.Sprintf("%s/%d", c.name, topics), func(b *testing.B) {
			for b.Loop() {
				res, err := http.Get(base + c.path)
				if err != nil {
					b.Fatal(err)
				}
				_, _ = io.Copy(io.Discard, res.Body)
				res.Body.Close()
				if res.StatusCode != 200 {
					b.Fatalf("%s: %d", c.path, res.StatusCode)
				}
			}
		})
	}
}
