package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"sort"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"
)

// serverEnv names the environment variable holding the default HTTP address
// of the server for HTTP clients such as `eddy status`.
const serverEnv = "EDDY_SERVER"

// addServerFlag adds --server, the HTTP address of the server, defaulting
// to $EDDY_SERVER or localhost:8080, to flags.
func addServerFlag(flags *pflag.FlagSet, server *string) {
	def := os.Getenv(serverEnv)
	if def == "" {
		def = "localhost:8080"
	}
	flags.StringVar(server, "server", def, "the server's HTTP address, host:port or URL (default from $"+serverEnv+")")
}

func newStatusCmd() *cobra.Command {
	var (
		server  string
		asJSON  bool
		timeout time.Duration
	)
	cmd := &cobra.Command{
		Use:   "status",
		Short: "Show a running server's version, uptime, topics and groups",
		Long: `Show a running server's status from its HTTP listener (GET /v1/status):
version, uptime, readiness, data directory, listeners, topics with partitions
and bytes stored, and consumer groups with their total lag.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			base, err := serverURL(server)
			if err != nil {
				return usageError{err}
			}
			ctx, cancel := context.WithTimeout(cmd.Context(), timeout)
			defer cancel()
			raw, st, err := fetchStatus(ctx, base)
			if err != nil {
				return err
			}
			if asJSON {
				_, err := cmd.OutOrStdout().Write(raw)
				return err
			}
			return printStatus(cmd.OutOrStdout(), st)
		},
	}
	addServerFlag(cmd.Flags(), &server)
	cmd.Flags().StringVar(&server, "http-addr", cmd.Flags().Lookup("server").DefValue, "same as --server")
	cmd.Flags().BoolVar(&asJSON, "json", false, "print the raw JSON from /v1/status")
	cmd.Flags().DurationVar(&timeout, "timeout", 10*time.Second, "how long to wait for the server")
	return cmd
}

// serverURL turns "host:port", ":8080" or a URL into a base URL.
func serverURL(s string) (string, error) {
	s = strings.TrimSpace(s)
	if s == "" {
		return "", errors.New("no server address: set --server or $" + serverEnv)
	}
	if strings.HasPrefix(s, "http://") || strings.HasPrefix(s, "https://") {
		return strings.TrimSuffix(s, "/"), nil
	}
	if strings.HasPrefix(s, ":") {
		s = "localhost" + s
	}
	return "http://" + s, nil
}

// serverStatus is what `eddy status` reads of the server's /v1/status
// document (docs/operations.md): the client decodes the wire format and
// needs none of the server's packages.
type serverStatus struct {
	Version        string            `json:"version"`
	UptimeSeconds  float64           `json:"uptime_seconds"`
	DataDir        string            `json:"data_dir"`
	Ready          bool              `json:"ready"`
	Listeners      map[string]string `json:"listeners"`
	TopicCount     int               `json:"topic_count"`
	PartitionCount int               `json:"partition_count"`
	BytesStored    int64             `json:"bytes_stored"`
	Topics         []struct {
		Name       string `json:"name"`
		Partitions int    `json:"partitions"`
		Bytes      int64  `json:"bytes"`
		Records    int64  `json:"records"`
	} `json:"topics"`
	// Groups is null until the server's group coordinator runs.
	Groups []struct {
		Group   string `json:"group"`
		State   string `json:"state"`
		Members int    `json:"members"`
		Lag     int64  `json:"lag"`
	} `json:"groups"`
	// ShareGroups are the share groups (queues), with their records' states.
	ShareGroups []struct {
		Group        string  `json:"group"`
		State        string  `json:"state"`
		Members      int     `json:"members"`
		Lag          int64   `json:"lag"`
		InFlight     int64   `json:"in_flight"`
		Acquired     int64   `json:"acquired"`
		Redelivered  int64   `json:"redelivered"`
		Archived     int64   `json:"archived"`
		DeadLettered int64   `json:"dead_lettered"`
		OldestAge    float64 `json:"oldest_available_age_seconds"`
	} `json:"share_groups"`
}

func fetchStatus(ctx context.Context, base string) ([]byte, serverStatus, error) {
	var st serverStatus
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, base+"/v1/status", nil)
	if err != nil {
		return nil, st, usageError{fmt.Errorf("server address %q: %w", base, err)}
	}
	resp, err := doHTTP(req)
	if err != nil {
		return nil, st, fmt.Errorf("cannot reach eddy at %s (is `eddy serve` running there?): %w", base, err)
	}
	defer resp.Body.Close()
	raw, err := io.ReadAll(io.LimitReader(resp.Body, 64<<20))
	if err != nil {
		return nil, st, fmt.Errorf("read status from %s: %w", base, err)
	}
	if resp.StatusCode != http.StatusOK {
		var eb struct {
			Error struct {
				Message string `json:"message"`
			} `json:"error"`
		}
		if json.Unmarshal(raw, &eb) == nil && eb.Error.Message != "" {
			return nil, st, fmt.Errorf("status from %s: %s (%s)", base, eb.Error.Message, resp.Status)
		}
		return nil, st, fmt.Errorf("status from %s: %s", base, resp.Status)
	}
	if err := json.Unmarshal(raw, &st); err != nil {
		return nil, st, fmt.Errorf("decode status from %s: %w", base, err)
	}
	return raw, st, nil
}

func printStatus(w io.Writer, st serverStatus) error {
	ready := "ready"
	if !st.Ready {
		ready = "NOT READY"
	}
	uptime := time.Duration(st.UptimeSeconds * float64(time.Second)).Round(time.Second)
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintf(tw, "Eddy %s\t%s, up %s\n", st.Version, ready, uptime)
	if st.DataDir != "" {
		fmt.Fprintf(tw, "data dir\t%s\n", st.DataDir)
	}
	if len(st.Listeners) > 0 {
		names := make([]string, 0, len(st.Listeners))
		for n := range st.Listeners {
			names = append(names, n)
		}
		sort.Strings(names)
		parts := make([]string, len(names))
		for i, n := range names {
			parts[i] = n + " " + st.Listeners[n]
		}
		fmt.Fprintf(tw, "listeners\t%s\n", strings.Join(parts, ", "))
	}
	fmt.Fprintf(tw, "topics\t%d topics, %d partitions, %s stored\n", st.TopicCount, st.PartitionCount, humanBytes(st.BytesStored))
	if err := tw.Flush(); err != nil {
		return err
	}
	if len(st.Topics) > 0 {
		fmt.Fprintln(w)
		tw = tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
		fmt.Fprintln(tw, "TOPIC\tPARTITIONS\tRECORDS\tBYTES")
		for _, t := range st.Topics {
			fmt.Fprintf(tw, "%s\t%d\t%d\t%s\n", t.Name, t.Partitions, t.Records, humanBytes(t.Bytes))
		}
		if err := tw.Flush(); err != nil {
			return err
		}
	}
	if st.Groups != nil {
		fmt.Fprintln(w)
		if len(st.Groups) == 0 {
			fmt.Fprintln(w, "no consumer groups")
		} else {
			tw = tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
			fmt.Fprintln(tw, "GROUP\tSTATE\tMEMBERS\tLAG")
			for _, g := range st.Groups {
				fmt.Fprintf(tw, "%s\t%s\t%d\t%d\n", g.Group, g.State, g.Members, g.Lag)
			}
			if err := tw.Flush(); err != nil {
				return err
			}
		}
	}
	if len(st.ShareGroups) > 0 {
		fmt.Fprintln(w)
		tw = tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
		fmt.Fprintln(tw, "SHARE-GROUP\tSTATE\tMEMBERS\tLAG\tOLDEST\tIN-FLIGHT\tACQUIRED\tREDELIVERED\tARCHIVED\tDEAD-LETTERED")
		for _, g := range st.ShareGroups {
			fmt.Fprintf(tw, "%s\t%s\t%d\t%d\t%s\t%d\t%d\t%d\t%d\t%d\n", g.Group, g.State, g.Members, g.Lag, (time.Duration(g.OldestAge * float64(time.Second))).Round(time.Millisecond), g.InFlight, g.Acquired, g.Redelivered, g.Archived, g.DeadLettered)
		}
		return tw.Flush()
	}
	return nil
}

// humanBytes prints n in binary units with one decimal.
func humanBytes(n int64) string {
	const unit = 1024
	if n < unit {
		return fmt.Sprintf("%d B", n)
	}
	div, exp := int64(unit), 0
	for m := n / unit; m >= unit; m /= unit {
		div *= unit
		exp++
	}
	return fmt.Sprintf("%.1f %ciB", float64(n)/float64(div), "KMGTPE"[exp])
}
