package commitlog

import (
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"testing"

	"github.com/eddy-streaming/eddy/internal/record"
)

var updateCorpus = flag.Bool("update-corpus", false, "rewrite testdata/fuzz seed corpora")

// TestSeedCorpus checks (or with -update-corpus writes) the checked-in seed
// corpus: empty, short, max-length, valid and valid+garbage inputs for every
// fuzz target.
func TestSeedCorpus(t *testing.T) {
	valid := makeBatch(3, 40, 1000, 7)
	maxLen := makeBatch(1, 0, 1, 1)
	maxLen[8], maxLen[9], maxLen[10], maxLen[11] = 0x7f, 0xff, 0xff, 0xff // batch length MaxInt32
	seeds := map[string][]byte{
		"empty":         {},
		"short":         valid[:record.BatchHeaderSize-1],
		"max-length":    maxLen,
		"valid":         valid,
		"valid-garbage": append(append([]byte(nil), valid...), "garbage after the batch"...),
		"two-valid":     append(append([]byte(nil), valid...), makeBatch(1, 5, 2000, 9)...),
		"zero-tail":     append(append([]byte(nil), valid...), make([]byte, 100)...),
	}
	for _, target := range []string{"FuzzRecover", "FuzzScanBatches"} {
		dir := filepath.Join("testdata", "fuzz", target)
		for name, b := range seeds {
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
			checkSeed(t, path, content)
		}
	}
	// FuzzRecoverIndex takes (.index, .timeindex) contents.
	ih, th := indexHeader(idxMagic, idxEntrySize), indexHeader(tidxMagic, tidxEntrySize)
	pairs := map[string][2][]byte{
		"empty":         {{}, {}},
		"short":         {ih[:5], th[:3]},
		"headers":       {ih, th},
		"valid":         {append(append([]byte(nil), ih...), putIdxEntry(nil, 0, 0)...), append(append([]byte(nil), th...), putTidxEntry(nil, 3, 0)...)},
		"valid-garbage": {append(append(append([]byte(nil), ih...), putIdxEntry(nil, 0, 0)...), 0xff, 0xff, 0xff), append(append([]byte(nil), th...), 1, 2)},
		"max-length":    {append(append([]byte(nil), ih...), putIdxEntry(nil, 1<<31, 1<<31)...), append(append([]byte(nil), th...), putTidxEntry(nil, 1<<62, 1<<31)...)},
	}
	dir := filepath.Join("testdata", "fuzz", "FuzzRecoverIndex")
	for name, p := range pairs {
		path := filepath.Join(dir, name)
		content := fmt.Sprintf("go test fuzz v1\n[]byte(%s)\n[]byte(%s)\n", strconv.Quote(string(p[0])), strconv.Quote(string(p[1])))
		if *updateCorpus {
			if err := os.MkdirAll(dir, 0o755); err != nil {
				t.Fatal(err)
			}
			if err := os.WriteFile(path, []byte(content), 0o644); err != nil {
				t.Fatal(err)
			}
			continue
		}
		checkSeed(t, path, content)
	}
}

func checkSeed(t *testing.T, path, content string) {
	t.Helper()
	got, err := os.ReadFile(path)
	if err != nil || string(got) != content {
		t.Errorf("seed %s missing or stale; run go test -run TestSeedCorpus -update-corpus", path)
	}
}
