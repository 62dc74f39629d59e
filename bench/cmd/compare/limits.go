package main

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"runtime"
	"strconv"
	"strings"
	"time"
)

// machine describes where the run happened and what the hardware allows.
type machine struct {
	CPUs      int    `json:"cpus"`
	CPUModel  string `json:"cpu_model"`
	Kernel    string `json:"kernel"`
	MemGB     string `json:"mem"`
	GoVersion string `json:"go_version"`
	LoadAvg   string `json:"loadavg_at_start"`
	Limits    limits `json:"limits"`
}

// limits are the machine's ceilings, measured the same day as the peers.
type limits struct {
	DDNoSyncMBps      float64  `json:"dd_nosync_mb_per_sec"`
	DDFdatasyncMBps   float64  `json:"dd_fdatasync_mb_per_sec"`
	FsyncP50us        float64  `json:"fsync_p50_us"`
	FsyncP99us        float64  `json:"fsync_p99_us"`
	FsyncWritesPerSec float64  `json:"fsync_4k_writes_per_sec"`
	LoopbackGbps      float64  `json:"loopback_gbit_per_sec"`
	Notes             []string `json:"notes,omitempty"`
}

func describeMachine() machine {
	m := machine{CPUs: runtime.NumCPU(), GoVersion: runtime.Version()}
	if b, err := os.ReadFile("/proc/cpuinfo"); err == nil {
		if mm := regexp.MustCompile(`(?m)^model name\s*:\s*(.+)$`).FindSubmatch(b); mm != nil {
			m.CPUModel = string(mm[1])
		}
	}
	if b, err := os.ReadFile("/proc/sys/kernel/osrelease"); err == nil {
		m.Kernel = strings.TrimSpace(string(b))
	}
	if b, err := os.ReadFile("/proc/meminfo"); err == nil {
		if mm := regexp.MustCompile(`MemTotal:\s+(\d+) kB`).FindSubmatch(b); mm != nil {
			kb, _ := strconv.ParseFloat(string(mm[1]), 64)
			m.MemGB = fmt.Sprintf("%.1f GiB", kb/(1<<20))
		}
	}
	if b, err := os.ReadFile("/proc/loadavg"); err == nil {
		m.LoadAvg = strings.Join(strings.Fields(string(b))[:3], " ")
	}
	return m
}

var ddRate = regexp.MustCompile(`copied, ([0-9.]+) s`)

// ddMBps writes 1 GiB with dd and returns MB/s over dd's own elapsed time.
func ddMBps(work string, extra ...string) (float64, error) {
	f := filepath.Join(work, "dd.bin")
	defer os.Remove(f)
	const count = 1024
	args := append([]string{"if=/dev/zero", "of=" + f, "bs=1M", "count=" + strconv.Itoa(count)}, extra...)
	out, err := exec.Command("dd", args...).CombinedOutput()
	if err != nil {
		return 0, fmt.Errorf("dd: %w: %s", err, out)
	}
	mm := ddRate.FindSubmatch(out)
	if mm == nil {
		return 0, fmt.Errorf("dd output: %s", out)
	}
	s, _ := strconv.ParseFloat(string(mm[1]), 64)
	return float64(count<<20) / 1e6 / s, nil
}

func measureLimits(work string) limits {
	var l limits
	note := func(format string, args ...any) { l.Notes = append(l.Notes, fmt.Sprintf(format, args...)) }
	var err error
	if l.DDNoSyncMBps, err = ddMBps(work); err != nil {
		note("dd without fsync: %v", err)
	}
	if l.DDFdatasyncMBps, err = ddMBps(work, "conv=fdatasync"); err != nil {
		note("dd with fdatasync: %v", err)
	}
	if err := fioFsync(work, &l); err != nil {
		note("fio fsync latency: %v (apt-get install -y fio)", err)
	}
	if err := iperf(&l); err != nil {
		note("iperf3 loopback: %v (apt-get install -y iperf3)", err)
	}
	return l
}

// fioFsync measures 4 KiB sequential writes each followed by fsync: the
// cost of one durable append on this disk.
func fioFsync(work string, l *limits) error {
	out, err := exec.Command("fio", "--name=fsync", "--directory="+work, "--rw=write", "--bs=4k", "--size=16m",
		"--fsync=1", "--ioengine=sync", "--runtime=10", "--output-format=json").Output()
	defer os.Remove(filepath.Join(work, "fsync.0.0"))
	if err != nil {
		return err
	}
	var r struct {
		Jobs []struct {
			Write struct {
				IOPS float64 `json:"iops"`
			} `json:"write"`
			Sync struct {
				Lat struct {
					Percentile map[string]float64 `json:"percentile"`
				} `json:"lat_ns"`
			} `json:"sync"`
		} `json:"jobs"`
	}
	if err := json.Unmarshal(out, &r); err != nil || len(r.Jobs) == 0 {
		return fmt.Errorf("fio json: %v", err)
	}
	j := r.Jobs[0]
	l.FsyncWritesPerSec = j.Write.IOPS
	l.FsyncP50us = j.Sync.Lat.Percentile["50.000000"] / 1e3
	l.FsyncP99us = j.Sync.Lat.Percentile["99.000000"] / 1e3
	return nil
}

// iperf measures loopback TCP throughput with iperf3 for 3 seconds. The
// server runs until the measurement is done (not -1: a failed first
// attempt must not end it), and a client run that reports an error or no
// bytes is retried.
func iperf(l *limits) error {
	port := strconv.Itoa(freePort())
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	srv := exec.CommandContext(ctx, "iperf3", "-s", "-p", port, "-B", "127.0.0.1")
	if err := srv.Start(); err != nil {
		return err
	}
	defer func() { _ = srv.Process.Kill(); _ = srv.Wait() }()
	var lastErr error
	for range 30 {
		time.Sleep(200 * time.Millisecond)
		out, err := exec.CommandContext(ctx, "iperf3", "-c", "127.0.0.1", "-p", port, "-t", "3", "-J").Output()
		var r struct {
			Error string `json:"error"`
			End   struct {
				SumReceived struct {
					BitsPerSecond float64 `json:"bits_per_second"`
				} `json:"sum_received"`
			} `json:"end"`
		}
		if jerr := json.Unmarshal(out, &r); jerr != nil && err == nil {
			err = jerr
		}
		switch {
		case err != nil:
			lastErr = err
		case r.Error != "":
			lastErr = fmt.Errorf("iperf3: %s", r.Error)
		case r.End.SumReceived.BitsPerSecond <= 0:
			lastErr = fmt.Errorf("iperf3 reported no bytes received")
		default:
			l.LoopbackGbps = r.End.SumReceived.BitsPerSecond / 1e9
			return nil
		}
	}
	return lastErr
}
