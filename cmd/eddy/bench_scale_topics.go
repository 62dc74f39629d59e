package main

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"sort"
	"time"

	"github.com/spf13/cobra"
	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kgo"
	"github.com/twmb/franz-go/pkg/kmsg"
)

func newScaleTopicsCmd(o *scaleOptions) *cobra.Command {
	var points string
	cmd := &cobra.Command{
		Use:   "topics",
		Short: "CreateTopics, Metadata and /v1/status latency, RSS and start-up against topic count",
		Long: `Create N topics of one partition on a fresh broker (CreateTopics requests of
100 topics), then measure at that size: a CreateTopics of one more topic,
Metadata of every topic and of one topic, GET /v1/status (Eddy), the
broker's RSS and open files, and start-up after a clean stop. Latencies are
medians and maxima over 10 requests (Metadata of one topic: 50).`,
		Args: noArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			ps, err := parsePoints(points)
			if err != nil {
				return err
			}
			return runScaleTopics(cmd, o, ps)
		},
	}
	cmd.Flags().StringVar(&points, "points", "100,1000,10000", "topic counts to measure, comma-separated")
	return cmd
}

func runScaleTopics(cmd *cobra.Command, o *scaleOptions, points []int) error {
	ts, err := o.targets()
	if err != nil {
		return err
	}
	r := o.newReport("topics", ts, map[string]any{"partitions_per_topic": 1})
	r.Columns = []scaleColumn{
		{"create_all_s", "create all s", "%.1f"}, {"create_one_ms", "CreateTopics ms", "%.1f"},
		{"metadata_all_ms", "Metadata all ms", "%.1f"}, {"metadata_all_max_ms", "max", "%.1f"},
		{"metadata_one_ms", "Metadata one ms", "%.2f"},
		{"status_ms", "/v1/status ms", "%.1f"}, {"status_kb", "/v1/status KB", "%.0f"},
		{"rss_mb", "RSS MB", "%.0f"}, {"open_files", "open files", "%.0f"},
		{"startup_clean_s", "start after clean stop s", "%.2f"},
	}
	r.charts = []scaleChartDef{
		{File: "topics-metadata.png", Title: "Metadata of every topic (ms, median) against topics", Key: "metadata_all_ms", YLabel: "ms", LogX: true},
		{File: "topics-create.png", Title: "CreateTopics of one topic (ms, median) against topics", Key: "create_one_ms", YLabel: "ms", LogX: true},
		{File: "topics-status.png", Title: "GET /v1/status (ms, median) against topics", Key: "status_ms", YLabel: "ms", LogX: true},
	}
	for _, x := range points {
		for _, t := range ts {
			p := scalePoint{Target: t.Name, X: float64(x), Values: map[string]float64{}}
			if err := measureTopics(cmd.Context(), o, t, x, &p); err != nil {
				p.Error = err.Error()
			}
			fmt.Fprintf(cmd.ErrOrStderr(), "eddy bench scale topics: %s at %d: Metadata %.1f ms %s\n", t.Name, x, p.Values["metadata_all_ms"], p.Error)
			r.Points = append(r.Points, p)
		}
	}
	return o.finish(cmd, r)
}

// timeIt runs fn n times and returns the median and maximum in ms.
func timeIt(n int, fn func() error) (med, maxMs float64, err error) {
	ds := make([]float64, 0, n)
	for range n {
		start := time.Now()
		if err := fn(); err != nil {
			return 0, 0, err
		}
		ds = append(ds, ms(time.Since(start)))
	}
	sort.Float64s(ds)
	return ds[len(ds)/2], ds[len(ds)-1], nil
}

func measureTopics(ctx context.Context, o *scaleOptions, t scaleTarget, n int, p *scalePoint) error {
	dir, s, err := o.startPoint(t, n)
	if err != nil {
		return err
	}
	defer cleanupPoint(dir)
	defer func() {
		if s != nil {
			s.kill()
		}
	}()
	cl, err := kgo.NewClient(kgo.SeedBrokers(s.kafka), kgo.RequestTimeoutOverhead(2*time.Minute))
	if err != nil {
		return err
	}
	defer cl.Close()
	create := func(names []string) error {
		req := kmsg.NewPtrCreateTopicsRequest()
		req.TimeoutMillis = 120000
		for _, name := range names {
			rt := kmsg.NewCreateTopicsRequestTopic()
			rt.Topic, rt.NumPartitions, rt.ReplicationFactor = name, 1, 1
			req.Topics = append(req.Topics, rt)
		}
		resp, err := req.RequestWith(ctx, cl)
		if err != nil {
			return err
		}
		for _, rt := range resp.Topics {
			if err := kerr.ErrorForCode(rt.ErrorCode); err != nil && err != kerr.TopicAlreadyExists {
				return fmt.Errorf("create %s: %w", rt.Topic, err)
			}
		}
		return nil
	}
	start := time.Now()
	for i := 0; i < n; i += 100 {
		var names []string
		for j := i; j < min(i+100, n); j++ {
			names = append(names, fmt.Sprintf("t%05d", j))
		}
		if err := create(names); err != nil {
			return err
		}
	}
	p.Values["create_all_s"] = time.Since(start).Seconds()
	extra := 0
	if p.Values["create_one_ms"], _, err = timeIt(10, func() error {
		extra++
		return create([]string{fmt.Sprintf("extra%02d", extra)})
	}); err != nil {
		return err
	}
	if p.Values["metadata_all_ms"], p.Values["metadata_all_max_ms"], err = timeIt(10, func() error {
		req := kmsg.NewPtrMetadataRequest()
		resp, err := req.RequestWith(ctx, cl)
		if err == nil && len(resp.Topics) < n {
			err = fmt.Errorf("metadata lists %d topics, want %d", len(resp.Topics), n)
		}
		return err
	}); err != nil {
		return err
	}
	if p.Values["metadata_one_ms"], _, err = timeIt(50, func() error {
		req := kmsg.NewPtrMetadataRequest()
		rt := kmsg.NewMetadataRequestTopic()
		name := "t00000"
		rt.Topic = &name
		req.Topics = append(req.Topics, rt)
		_, err := req.RequestWith(ctx, cl)
		return err
	}); err != nil {
		return err
	}
	p.Values["status_ms"], p.Values["status_kb"] = -1, -1
	if s.http != "" {
		size := 0
		if p.Values["status_ms"], _, err = timeIt(10, func() error {
			resp, err := http.Get("http://" + s.http + "/v1/status")
			if err != nil {
				return err
			}
			defer resp.Body.Close()
			b, err := io.ReadAll(resp.Body)
			size = len(b)
			if err == nil && resp.StatusCode != http.StatusOK {
				err = fmt.Errorf("/v1/status: %s", resp.Status)
			}
			return err
		}); err != nil {
			return err
		}
		p.Values["status_kb"] = float64(size) / 1000
	}
	after, err := readProc(s.pid())
	if err != nil {
		return err
	}
	p.Values["rss_mb"] = mb(after.RSSBytes)
	p.Values["open_files"] = float64(after.OpenFiles)
	cl.Close()
	if err := s.stop(); err != nil {
		s = nil
		return err
	}
	s = nil
	s2, took, err := startScaleServer(t, dir, 5*time.Minute)
	if err != nil {
		return fmt.Errorf("restart: %w", err)
	}
	p.Values["startup_clean_s"] = took.Seconds()
	s = s2
	return nil
}
