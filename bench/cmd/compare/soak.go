package main

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"os"
	"strconv"
	"strings"
	"time"
)

// soakResult is Eddy's broker RSS sampled while a large volume is produced:
// the issue asks that it stay flat (no growth with bytes written).
type soakResult struct {
	Peer          string    `json:"peer"`
	GiB           float64   `json:"gib"`
	Seconds       float64   `json:"seconds"`
	MBPerSec      float64   `json:"mb_per_sec"`
	RSSMB         []float64 `json:"rss_mb_every_second"`
	PeakRSSMB     float64   `json:"peak_rss_mb"`
	CPUSecondsPer float64   `json:"cpu_seconds_per_gb"`
	Err           string    `json:"err,omitempty"`
}

func currentRSS(pid int) float64 {
	f, err := os.Open(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return 0
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		if v, ok := strings.CutPrefix(sc.Text(), "VmRSS:"); ok {
			kb, _ := strconv.ParseFloat(strings.TrimSuffix(strings.TrimSpace(v), " kB"), 64)
			return kb * 1024 / 1e6
		}
	}
	return 0
}

// soak produces gib GiB of 1 KiB records (6 partitions, 4 producers) into
// a fresh Eddy and samples its RSS every second.
func soak(bin binaries, work string, p peer, gib float64) soakResult {
	r := soakResult{Peer: p.Name, GiB: gib}
	br, err := p.start(bin, work)
	if err != nil {
		r.Err = err.Error()
		return r
	}
	defer br.stop()
	pid := br.cmd.Process.Pid
	before, _ := readProc(pid)
	n := int64(gib * (1 << 30) / 1024)
	ctx, cancel := context.WithTimeout(context.Background(), 15*time.Minute)
	defer cancel()
	done := make(chan struct{})
	go func() {
		defer close(done)
		t := time.NewTicker(time.Second)
		defer t.Stop()
		for {
			select {
			case <-ctx.Done():
				return
			case <-t.C:
				r.RSSMB = append(r.RSSMB, currentRSS(pid))
			}
		}
	}()
	out, err := runJSON(ctx, []string{bin.eddy, "bench", "produce", "--brokers", br.addr, "--json", "--progress", "0",
		"--topic", "soak", "--partitions", "6", "--producers", "4", "--record-size", "1024",
		"--records", strconv.FormatInt(n, 10), "--duration", "14m", "--linger", "5ms"})
	cancel()
	<-done
	after, _ := readProc(pid)
	if err != nil {
		r.Err = err.Error()
		return r
	}
	var res clientResult
	if err := json.Unmarshal(out, &res); err != nil {
		r.Err = err.Error()
		return r
	}
	r.Seconds, r.MBPerSec = res.Seconds, res.MBPerSec
	r.PeakRSSMB = float64(after.PeakRSS) / 1e6
	if res.Bytes > 0 {
		r.CPUSecondsPer = (after.CPU - before.CPU).Seconds() / (float64(res.Bytes) / 1e9)
	}
	return r
}
