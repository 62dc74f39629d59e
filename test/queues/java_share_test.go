package queues

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kgo"
	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/eddy-streaming/eddy/internal/eddytest"
	"github.com/eddy-streaming/eddy/internal/share"
)

// javaClasspath returns the classpath for test/java/ShareConsume.java: the
// kafka-clients jar named by EDDY_KAFKA_CLIENTS_JAR plus its runtime
// dependencies from Debian's /usr/share/java (or EDDY_JAVA_LIBS). It skips
// the test when any piece is missing.
func javaClasspath(t *testing.T) string {
	t.Helper()
	const how = "build it with test/java/build-kafka-clients.sh KAFKA_SRC_DIR OUT_JAR OTEL_PROTO_DIR and set EDDY_KAFKA_CLIENTS_JAR=OUT_JAR (see docs/queues.md, Clients)"
	jar := os.Getenv("EDDY_KAFKA_CLIENTS_JAR")
	if jar == "" {
		t.Skip("EDDY_KAFKA_CLIENTS_JAR is not set: " + how)
	}
	if _, err := os.Stat(jar); err != nil {
		t.Skipf("EDDY_KAFKA_CLIENTS_JAR: %v: %s", err, how)
	}
	for _, tool := range []string{"java", "javac"} {
		if _, err := exec.LookPath(tool); err != nil {
			t.Skipf("%s not on PATH: the Java share-consumer test needs a JDK", tool)
		}
	}
	libs := os.Getenv("EDDY_JAVA_LIBS")
	if libs == "" {
		libs = "/usr/share/java"
	}
	cp := []string{jar}
	for _, dep := range []struct{ jar, pkg string }{
		{"slf4j-api", "libslf4j-java"}, {javaLogger(), "libslf4j-java"}, {"lz4-java", "liblz4-java"},
		{"snappy-java", "libsnappy-java"}, {"zstd-jni", "libzstd-jni-java"}, {"protobuf", "libprotobuf-java"},
	} {
		p := filepath.Join(libs, dep.jar+".jar")
		if _, err := os.Stat(p); err != nil {
			t.Skipf("%s missing: apt-get install -y %s", p, dep.pkg)
		}
		cp = append(cp, p)
	}
	return strings.Join(cp, string(os.PathListSeparator))
}

// javaLogger is the slf4j binding of the Java consumers: slf4j-nop, or
// slf4j-simple when EDDY_JAVA_LOG names a level (debug, info, …), which
// the consumers then log at to standard error (its tail is shown when the
// test fails; the whole of it is kept in EDDY_JAVA_LOG_DIR when set).
func javaLogger() string {
	if os.Getenv("EDDY_JAVA_LOG") != "" {
		return "slf4j-simple"
	}
	return "slf4j-nop"
}

// javaConsumer is one running test/java/ShareConsume.java process.
type javaConsumer struct {
	name  string
	cmd   *exec.Cmd
	stdin io.WriteCloser
	done  chan struct{}
}

// javaAck is one acknowledgement a Java consumer's commitSync confirmed.
type javaAck struct {
	consumer, kind, value string
	delivery              int
}

// TestJavaShareConsumer runs two of Apache Kafka's KafkaShareConsumer
// (test/java/ShareConsume.java) in one share group against a real eddy
// serve, in explicit acknowledgement mode: every record is delivered and
// accepted once overall, the one record they release on its first delivery
// comes back with delivery count 2, and the one record they reject lands on
// the group's dead-letter topic once. Optional: it needs a kafka-clients jar
// (EDDY_KAFKA_CLIENTS_JAR) and a JDK, and skips without them.
func TestJavaShareConsumer(t *testing.T) {
	cp := javaClasspath(t)
	if testing.Short() {
		t.Skip("spawns eddy serve and two JVMs")
	}
	classes := t.TempDir()
	src, err := filepath.Abs("../java/ShareConsume.java")
	if err != nil {
		t.Fatal(err)
	}
	if out, err := exec.Command("javac", "-d", classes, "-cp", cp, src).CombinedOutput(); err != nil {
		t.Fatalf("javac ShareConsume.java: %v\n%s", err, out)
	}

	p := eddytest.Start(t)
	addr := p.KafkaAddr()
	admin := kgoClient(t, addr, kgo.RecordPartitioner(kgo.ManualPartitioner()))
	const topic, dlq, group = "orders", "dlq.orders", "java-share"
	newTopic(t, admin, topic, 3, nil)
	enable := "true"
	newTopic(t, admin, dlq, 1, map[string]*string{share.TopicConfigDLQEnable: &enable})
	setGroupConfigs(t, admin, group, share.ConfigAutoOffsetReset, "earliest", share.ConfigDLQTopic, dlq)
	const total, poisonAt, retryAt = 600, 250, 400

	var (
		mu     sync.Mutex
		acks   = map[string][]javaAck{} // "partition/offset" → confirmed acknowledgements
		errs   []string
		ready  int
		counts = map[string]int{}
	)
	start := func(name string) *javaConsumer {
		args := []string{"-Xmx256m", "-XX:+UseSerialGC", "-XX:TieredStopAtLevel=1"}
		if lvl := os.Getenv("EDDY_JAVA_LOG"); lvl != "" {
			args = append(args, "-Dorg.slf4j.simpleLogger.defaultLogLevel="+lvl)
		}
		args = append(args, "-cp", classes+string(os.PathListSeparator)+cp, "ShareConsume", addr, group, topic, "180000")
		cmd := exec.Command("java", args...)
		stdin, err := cmd.StdinPipe()
		if err != nil {
			t.Fatal(err)
		}
		stdout, err := cmd.StdoutPipe()
		if err != nil {
			t.Fatal(err)
		}
		logDir := os.Getenv("EDDY_JAVA_LOG_DIR") // kept after the test, for debugging
		if logDir == "" {
			logDir = classes
		}
		stderr, err := os.Create(filepath.Join(logDir, name+".stderr"))
		if err != nil {
			t.Fatal(err)
		}
		cmd.Stderr = stderr
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		c := &javaConsumer{name: name, cmd: cmd, stdin: stdin, done: make(chan struct{})}
		t.Cleanup(func() {
			_ = cmd.Process.Kill()
			<-c.done
			_ = stderr.Close()
			if b, _ := os.ReadFile(stderr.Name()); t.Failed() && len(b) > 0 {
				if len(b) > 20000 {
					b = b[len(b)-20000:]
				}
				t.Logf("%s stderr (tail):\n%s", name, b)
			}
		})
		go func() {
			defer close(c.done)
			sc := bufio.NewScanner(stdout)
			for sc.Scan() {
				line := sc.Text()
				f := strings.Fields(line)
				mu.Lock()
				switch {
				case len(f) == 1 && f[0] == "READY":
					ready++
				case len(f) == 6 && f[0] == "ACK": // ACK kind partition offset delivery value
					d, _ := strconv.Atoi(f[4])
					k := f[2] + "/" + f[3]
					acks[k] = append(acks[k], javaAck{consumer: name, kind: f[1], value: f[5], delivery: d})
					counts[name]++
				case len(f) > 0 && f[0] == "ACKERR":
					errs = append(errs, name+": "+line)
				case len(f) > 0 && f[0] != "DONE":
					errs = append(errs, name+": unexpected output: "+line)
				}
				mu.Unlock()
			}
			_ = cmd.Wait()
		}()
		return c
	}
	consumers := []*javaConsumer{start("java-1"), start("java-2")}
	// Both members hold their share of the partitions before the records
	// are written, so both receive some.
	waitShareMembers(t, admin, group, 2, 90*time.Second)
	for b := 0; b < 6; b++ {
		var recs []*kgo.Record
		for i := b * total / 6; i < (b+1)*total/6; i++ {
			v := "v" + strconv.Itoa(i)
			switch i {
			case poisonAt:
				v = "poison"
			case retryAt:
				v = "retry"
			}
			recs = append(recs, &kgo.Record{Topic: topic, Partition: int32(i % 3), Key: []byte(strconv.Itoa(i)), Value: []byte(v)})
		}
		if err := admin.ProduceSync(context.Background(), recs...).FirstErr(); err != nil {
			t.Fatal(err)
		}
		time.Sleep(200 * time.Millisecond)
	}

	deadline := time.Now().Add(150 * time.Second)
	for {
		mu.Lock()
		n, nerr, retried := len(acks), len(errs), len(acks[fmt.Sprintf("%d/%d", retryAt%3, retryAt/3)])
		mu.Unlock()
		if (n >= total && retried >= 2) || nerr > 0 || time.Now().After(deadline) {
			break
		}
		for _, c := range consumers {
			select {
			case <-c.done:
				t.Fatalf("%s exited before every record was acknowledged (%d of %d)", c.name, n, total)
			default:
			}
		}
		time.Sleep(100 * time.Millisecond)
	}
	for _, c := range consumers {
		_ = c.stdin.Close() // ShareConsume commits, closes and exits
	}
	for _, c := range consumers {
		select {
		case <-c.done:
		case <-time.After(60 * time.Second):
			t.Errorf("%s did not exit within 60s of its stdin closing", c.name)
		}
	}

	mu.Lock()
	defer mu.Unlock()
	t.Logf("acknowledgements confirmed: %v; consumers ready: %d", counts, ready)
	for _, c := range consumers {
		if counts[c.name] == 0 {
			t.Errorf("%s acknowledged no record: the group did not share the partitions", c.name)
		}
	}
	for _, e := range errs {
		t.Errorf("acknowledgement refused: %s", e)
	}
	if len(acks) != total {
		t.Fatalf("%d of %d records acknowledged", len(acks), total)
	}
	for i := 0; i < total; i++ {
		k := fmt.Sprintf("%d/%d", i%3, i/3)
		a := acks[k]
		if i == retryAt {
			// Released on its first delivery, accepted on the second.
			if len(a) != 2 || a[0].kind != "release" || a[0].delivery != 1 || a[1].kind != "accept" || a[1].delivery != 2 || a[1].value != "retry" {
				t.Errorf("record %s (released once): got %+v, want release at delivery 1, accept at delivery 2", k, a)
			}
			continue
		}
		if len(a) != 1 {
			t.Errorf("record %s acknowledged %d times: %+v", k, len(a), a)
			continue
		}
		wantKind, wantValue := "accept", "v"+strconv.Itoa(i)
		if i == poisonAt {
			wantKind, wantValue = "reject", "poison"
		}
		if a[0].kind != wantKind || a[0].value != wantValue || a[0].delivery != 1 {
			t.Errorf("record %s: got %+v, want %s of %q at delivery 1", k, a[0], wantKind, wantValue)
		}
	}

	// The rejected record is on the dead-letter topic, once.
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	ends, err := kadm.NewClient(admin).ListEndOffsets(ctx, dlq)
	if err != nil {
		t.Fatal(err)
	}
	if end, _ := ends.Lookup(dlq, 0); end.Offset != 1 {
		t.Fatalf("dead-letter topic holds %d records, want 1", end.Offset)
	}
	rd := kgoClient(t, addr, kgo.ConsumeTopics(dlq), kgo.ConsumeResetOffset(kgo.NewOffset().AtStart()))
	fs := rd.PollFetches(ctx)
	var got []*kgo.Record
	fs.EachRecord(func(r *kgo.Record) { got = append(got, r) })
	if len(got) != 1 {
		t.Fatalf("read %d dead letters, want 1 (%v)", len(got), fs.Err())
	}
	r := got[0]
	wantOffset := strconv.Itoa(poisonAt / 3)
	if string(r.Value) != "poison" || string(r.Key) != strconv.Itoa(poisonAt) ||
		header(r, share.HeaderReason) != "rejected" || header(r, share.HeaderOffset) != wantOffset ||
		header(r, share.HeaderTopic) != topic || header(r, share.HeaderGroup) != group {
		t.Fatalf("dead letter key %q value %q headers %v", r.Key, r.Value, r.Headers)
	}
}

// waitShareMembers waits until the share group has n members, each with
// partitions assigned and at the group's assignment epoch (it has received
// its assignment).
func waitShareMembers(t *testing.T, cl *kgo.Client, group string, n int, within time.Duration) {
	t.Helper()
	deadline := time.Now().Add(within)
	last := "no answer"
	for time.Now().Before(deadline) {
		req := kmsg.NewPtrShareGroupDescribeRequest()
		req.GroupIDs = []string{group}
		resp, err := req.RequestWith(context.Background(), cl)
		if err == nil && len(resp.Groups) == 1 && resp.Groups[0].ErrorCode == 0 {
			g := resp.Groups[0]
			ok := len(g.Members) == n
			for _, m := range g.Members {
				parts := 0
				for _, tp := range m.Assignment.TopicPartitions {
					parts += len(tp.Partitions)
				}
				ok = ok && parts > 0 && m.MemberEpoch == g.AssignmentEpoch
			}
			if ok {
				return
			}
			last = fmt.Sprintf("%d members, epoch %d: %+v", len(g.Members), g.AssignmentEpoch, g.Members)
		}
		time.Sleep(200 * time.Millisecond)
	}
	t.Fatalf("share group %s did not reach %d members with assignments: %s", group, n, last)
}
