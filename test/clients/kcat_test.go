package clients

import (
	"encoding/json"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/eddy-streaming/eddy/internal/eddytest"
)

// kcatMetadata is the part of `kcat -L -J` output the tests read.
type kcatMetadata struct {
	Brokers []struct {
		ID   int32  `json:"id"`
		Name string `json:"name"`
	} `json:"brokers"`
	Topics []struct {
		Topic      string `json:"topic"`
		Partitions []struct {
			Partition int32 `json:"partition"`
			Leader    int32 `json:"leader"`
		} `json:"partitions"`
	} `json:"topics"`
}

func TestKcatProduceConsumeMetadata(t *testing.T) {
	t.Parallel()
	needKcat(t)
	s := eddytest.Start(t)
	eddy(t, s, "", "topic", "create", "kc", "--partitions", "3")

	var in strings.Builder
	var want []string
	for i := range 30 {
		fmt.Fprintf(&in, "key-%d:value-%d\n", i%7, i)
		want = append(want, fmt.Sprintf("key-%d=value-%d", i%7, i))
	}
	mustCmd(t, s, 60*time.Second, in.String(), "kcat", "-b", s.KafkaAddr(), "-P", "-t", "kc", "-K:", "-H", "origin=kcat")

	r := mustCmd(t, s, 60*time.Second, "", "kcat", "-b", s.KafkaAddr(), "-C", "-t", "kc", "-o", "beginning", "-e", "-q",
		"-f", `%k=%s %p %h\n`)
	byKey := map[string]int32{}
	var got []string
	for _, l := range lines(r.stdout) {
		var kv, hdr string
		var p int32
		if _, err := fmt.Sscanf(l, "%s %d %s", &kv, &p, &hdr); err != nil {
			t.Fatalf("kcat line %q: %v", l, err)
		}
		if hdr != "origin=kcat" {
			t.Errorf("record %q has headers %q", kv, hdr)
		}
		k := strings.SplitN(kv, "=", 2)[0]
		if prev, ok := byKey[k]; ok && prev != p {
			t.Errorf("key %s in partitions %d and %d", k, prev, p)
		}
		byKey[k] = p
		got = append(got, kv)
	}
	slices.Sort(got)
	slices.Sort(want)
	if !slices.Equal(got, want) {
		t.Errorf("kcat -C read %d records, want %d:\n%q", len(got), len(want), got)
	}

	// The eddy CLI reads what kcat wrote, and the other way round.
	r = eddy(t, s, "", "consume", "kc", "--from-beginning", "--exit-at-end", "--format", "{{.Key}}={{.Value}} {{.Headers}}")
	if n := len(lines(r.stdout)); n != 30 || !strings.Contains(r.stdout, "key-3=value-10 origin=kcat") {
		t.Errorf("eddy consume read %d records of kcat's:\n%s", n, r.stdout)
	}
	eddy(t, s, "from-eddy\n", "produce", "kc", "--partition", "1")
	r = mustCmd(t, s, 60*time.Second, "", "kcat", "-b", s.KafkaAddr(), "-C", "-t", "kc", "-p", "1", "-o", "-1", "-e", "-q")
	if r.stdout != "from-eddy\n" {
		t.Errorf("kcat read %q from the end of partition 1, want eddy's record", r.stdout)
	}

	r = mustCmd(t, s, 30*time.Second, "", "kcat", "-b", s.KafkaAddr(), "-L", "-J")
	var md kcatMetadata
	if err := json.Unmarshal([]byte(r.stdout), &md); err != nil {
		t.Fatalf("kcat -L -J: %v\n%s", err, r.stdout)
	}
	if len(md.Brokers) != 1 || md.Brokers[0].Name != s.KafkaAddr() {
		t.Errorf("kcat -L brokers %+v, want one at %s", md.Brokers, s.KafkaAddr())
	}
	found := false
	for _, tp := range md.Topics {
		if tp.Topic == "kc" {
			found = true
			if len(tp.Partitions) != 3 {
				t.Errorf("kcat -L: topic kc has %d partitions, want 3", len(tp.Partitions))
			}
			for _, p := range tp.Partitions {
				if p.Leader != md.Brokers[0].ID {
					t.Errorf("partition %d leader %d", p.Partition, p.Leader)
				}
			}
		}
	}
	if !found {
		t.Errorf("kcat -L lacks topic kc:\n%s", r.stdout)
	}
	r = mustCmd(t, s, 30*time.Second, "", "kcat", "-b", s.KafkaAddr(), "-L", "-t", "kc")
	if !strings.Contains(r.stdout, `topic "kc" with 3 partitions`) {
		t.Errorf("kcat -L -t kc:\n%s", r.stdout)
	}
}

func TestKcatCompression(t *testing.T) {
	t.Parallel()
	needKcat(t)
	s := eddytest.Start(t)
	eddy(t, s, "", "topic", "create", "kz", "--partitions", "1")
	var want []string
	for _, codec := range []string{"none", "gzip", "snappy", "lz4", "zstd"} {
		var in strings.Builder
		for i := range 20 {
			v := fmt.Sprintf("%s-%d-%s", codec, i, strings.Repeat("z", 100))
			fmt.Fprintln(&in, v)
			want = append(want, v)
		}
		mustCmd(t, s, 60*time.Second, in.String(), "kcat", "-b", s.KafkaAddr(), "-P", "-t", "kz", "-z", codec)
	}
	r := mustCmd(t, s, 60*time.Second, "", "kcat", "-b", s.KafkaAddr(), "-C", "-t", "kz", "-o", "beginning", "-e", "-q")
	if got := lines(r.stdout); !slices.Equal(got, want) {
		t.Errorf("kcat read back %d records, want %d in order", len(got), len(want))
	}
	// And through franz-go, which decompresses each codec itself.
	r = eddy(t, s, "", "consume", "kz", "--from-beginning", "--exit-at-end")
	if got := lines(r.stdout); !slices.Equal(got, want) {
		t.Errorf("eddy consume read back %d records, want %d in order", len(got), len(want))
	}
}

func TestKcatGroup(t *testing.T) {
	t.Parallel()
	needKcat(t)
	s := eddytest.Start(t)
	eddy(t, s, "", "topic", "create", "kg", "--partitions", "2")
	var in strings.Builder
	for i := range 10 {
		fmt.Fprintf(&in, "k%d:v%d\n", i, i)
	}
	eddy(t, s, in.String(), "produce", "kg", "--key-separator", ":")

	r := mustCmd(t, s, 60*time.Second, "", "kcat", "-b", s.KafkaAddr(), "-G", "kcat-group", "-X", "auto.offset.reset=earliest", "-e", "-q", "kg")
	got := lines(r.stdout)
	slices.Sort(got)
	want := []string{"v0", "v1", "v2", "v3", "v4", "v5", "v6", "v7", "v8", "v9"}
	if !slices.Equal(got, want) {
		t.Errorf("kcat -G read %q, want %q", got, want)
	}
	// kcat commits what it consumed: the group has no lag left.
	waitLag(t, s, "kcat-group", 0)
}
