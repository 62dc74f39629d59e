package record

import (
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"testing"
)

var updateCorpus = flag.Bool("update-corpus", false, "rewrite testdata/fuzz seed corpora")

// TestSeedCorpus checks (or with -update-corpus writes) the checked-in seed
// corpora of the []byte fuzz targets: empty, short, max-length, valid,
// valid+garbage and compressed batches.
func TestSeedCorpus(t *testing.T) {
	valid := makeBatch(3, 40, 1000, 7)
	maxLen := makeBatch(1, 0, 1, 1)
	maxLen[8], maxLen[9], maxLen[10], maxLen[11] = 0x7f, 0xff, 0xff, 0xff // batch length MaxInt32
	seeds := map[string][]byte{
		"empty":         {},
		"short":         valid[:BatchHeaderSize-1],
		"max-length":    maxLen,
		"valid":         valid,
		"valid-garbage": append(append([]byte(nil), valid...), "garbage after the batch"...),
		"two-valid":     append(append([]byte(nil), valid...), makeBatch(1, 5, 2000, 9)...),
		"zero-tail":     append(append([]byte(nil), valid...), make([]byte, 100)...),
	}
	targets := []string{"FuzzCheckBatch", "FuzzValidateBatches", "FuzzRecords"}
	records := map[string][]byte{}
	for c := CodecGzip; c <= CodecZstd; c++ {
		records["valid-"+c.String()] = buildSample(t, c)
	}
	for _, target := range targets {
		dir := filepath.Join("testdata", "fuzz", target)
		all := seeds
		if target == "FuzzRecords" {
			all = map[string][]byte{}
			for k, v := range seeds {
				all[k] = v
			}
			for k, v := range records {
				all[k] = v
			}
		}
		for name, b := range all {
			path := filepath.Join(dir, name)
			content := fmt.Sprintf("go test fuzz v1\n[]byte(%s)\n", strconv.Quote(string(b)))
			if *updateCorpus {
				if err := os.MkdirAll(dir, 0o755); err != nil {
					t.Fatal(err)
				}
				if err := os.WriteFile(path, []byte(content), 0o644); err != nil {
					t.Fatal(err)
				}
				continue
			}
			got, err := os.ReadFile(path)
			if err != nil {
				t.Fatalf("seed %s: %v (run go test -run TestSeedCorpus -update-corpus)", path, err)
			}
			if string(got) != content && target != "FuzzRecords" {
				t.Errorf("seed %s is stale (run go test -run TestSeedCorpus -update-corpus)", path)
			}
		}
	}
}

// buildSample is a batch of three records with keys and headers,
// compressed with c.
func buildSample(t testing.TB, c Codec) []byte {
	bd := NewBuilder(NewHeader(1_700_000_000_000))
	for i := range 3 {
		bd.BeginRecord(int32(i), int64(i), []byte("order-"+strconv.Itoa(i)), []byte(`{"qty":1,"sku":"abc"}`), 2)
		bd.AddStringHeader("ce_type", "OrderCreated")
		bd.AddHeader("eddy-expected-version", []byte("any"))
		bd.EndRecord()
	}
	b, err := bd.Finish(c)
	if err != nil {
		t.Fatal(err)
	}
	return append([]byte(nil), b...)
}
