package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/eddy-streaming/eddy/internal/registry"
)

// schemaRegistryEnv names the environment variable holding the default
// schema registry URL of `eddy schema`.
const schemaRegistryEnv = "EDDY_SCHEMA_REGISTRY"

// srClient talks to a schema registry's Confluent API.
type srClient struct {
	base    string
	timeout time.Duration
}

func (c *srClient) do(ctx context.Context, method, path string, body, into any) error {
	ctx, cancel := context.WithTimeout(ctx, c.timeout)
	defer cancel()
	var rd io.Reader
	if body != nil {
		b, err := json.Marshal(body)
		if err != nil {
			return err
		}
		rd = bytes.NewReader(b)
	}
	req, err := http.NewRequestWithContext(ctx, method, c.base+path, rd)
	if err != nil {
		return err
	}
	req.Header.Set("Content-Type", registry.ContentType)
	req.Header.Set("Accept", registry.ContentType)
	resp, err := doHTTP(req)
	if err != nil {
		return fmt.Errorf("schema registry at %s: %w", c.base, err)
	}
	defer resp.Body.Close()
	raw, err := io.ReadAll(io.LimitReader(resp.Body, 64<<20))
	if err != nil {
		return fmt.Errorf("read answer of %s %s: %w", method, path, err)
	}
	if resp.StatusCode != http.StatusOK {
		var e registry.Error
		if json.Unmarshal(raw, &e) == nil && e.Message != "" {
			return &e
		}
		return fmt.Errorf("%s %s: %s: %s", method, path, resp.Status, bytes.TrimSpace(raw))
	}
	if into == nil {
		return nil
	}
	if err := json.Unmarshal(raw, into); err != nil {
		return fmt.Errorf("decode answer of %s %s: %w", method, path, err)
	}
	return nil
}

func newSchemaCmd() *cobra.Command {
	c := &srClient{}
	var registryAddr string
	cmd := &cobra.Command{
		Use:   "schema",
		Short: "List, show, register, check and delete schemas in the schema registry",
		Long: `Talk to a schema registry over its Confluent REST API: Eddy's own
(--schema-registry-addr of eddy serve, or /schema-registry/ on its HTTP
listener), or any Confluent-compatible one.

Schema types follow the file extension (.avsc AVRO, .json JSON, .proto
PROTOBUF) unless --type says otherwise.`,
		PersistentPreRunE: func(*cobra.Command, []string) error {
			base, err := serverURL(registryAddr)
			if err != nil {
				return usageError{err}
			}
			c.base = base
			return nil
		},
	}
	def := os.Getenv(schemaRegistryEnv)
	if def == "" {
		def = "localhost:8081"
	}
	cmd.PersistentFlags().StringVar(&registryAddr, "registry", def, "the schema registry's address, host:port or URL (default from $"+schemaRegistryEnv+")")
	cmd.PersistentFlags().DurationVar(&c.timeout, "timeout", 10*time.Second, "how long to wait for the registry")
	cmd.AddCommand(schemaListCmd(c), schemaGetCmd(c), schemaRegisterCmd(c), schemaCheckCmd(c), schemaDeleteCmd(c), schemaConfigCmd(c))
	return cmd
}

func printIndented(w io.Writer, v any) error {
	b, err := json.MarshalIndent(v, "", "  ")
	if err != nil {
		return err
	}
	_, err = fmt.Fprintf(w, "%s\n", b)
	return err
}

func schemaListCmd(c *srClient) *cobra.Command {
	var (
		prefix  string
		deleted bool
	)
	cmd := &cobra.Command{
		Use:   "list",
		Short: "List subjects with their versions",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			q := url.Values{}
			if prefix != "" {
				q.Set("subjectPrefix", prefix)
			}
			if deleted {
				q.Set("deleted", "true")
			}
			var subjects []string
			if err := c.do(cmd.Context(), "GET", "/subjects?"+q.Encode(), nil, &subjects); err != nil {
				return err
			}
			w := cmd.OutOrStdout()
			for _, s := range subjects {
				var versions []int
				if err := c.do(cmd.Context(), "GET", "/subjects/"+url.PathEscape(s)+"/versions?"+q.Encode(), nil, &versions); err != nil {
					return err
				}
				vs := make([]string, len(versions))
				for i, v := range versions {
					vs[i] = strconv.Itoa(v)
				}
				fmt.Fprintf(w, "%s\tversions %s\n", s, strings.Join(vs, ","))
			}
			return nil
		},
	}
	cmd.Flags().StringVar(&prefix, "prefix", "", "only subjects starting with this")
	cmd.Flags().BoolVar(&deleted, "deleted", false, "include soft-deleted subjects and versions")
	return cmd
}

func schemaGetCmd(c *srClient) *cobra.Command {
	var id int
	cmd := &cobra.Command{
		Use:   "get SUBJECT [VERSION] | get --id ID",
		Short: "Show a schema by subject and version (default latest) or by id",
		Args:  cobra.RangeArgs(0, 2),
		RunE: func(cmd *cobra.Command, args []string) error {
			var s registry.Schema
			switch {
			case id > 0 && len(args) == 0:
				if err := c.do(cmd.Context(), "GET", fmt.Sprintf("/schemas/ids/%d", id), nil, &s); err != nil {
					return err
				}
				s.ID = id
			case id == 0 && len(args) > 0:
				v := "latest"
				if len(args) == 2 {
					v = args[1]
				}
				if err := c.do(cmd.Context(), "GET", "/subjects/"+url.PathEscape(args[0])+"/versions/"+url.PathEscape(v), nil, &s); err != nil {
					return err
				}
			default:
				return usageError{errors.New("give a SUBJECT (and optionally a VERSION) or --id, not both")}
			}
			return printIndented(cmd.OutOrStdout(), s)
		},
	}
	cmd.Flags().IntVar(&id, "id", 0, "the schema id")
	return cmd
}

// schemaRequest reads a schema file into a registration request.
func schemaRequest(file, typ string, refs []string) (registry.RegisterRequest, error) {
	var (
		b   []byte
		err error
	)
	if file == "-" {
		b, err = io.ReadAll(os.Stdin)
	} else {
		b, err = os.ReadFile(file)
	}
	if err != nil {
		return registry.RegisterRequest{}, fmt.Errorf("read schema: %w", err)
	}
	if typ == "" {
		switch strings.ToLower(filepath.Ext(file)) {
		case ".json":
			typ = "JSON"
		case ".proto":
			typ = "PROTOBUF"
		default:
			typ = "AVRO"
		}
	}
	req := registry.RegisterRequest{Schema: string(b), SchemaType: strings.ToUpper(typ)}
	if req.SchemaType == "AVRO" {
		req.SchemaType = ""
	}
	for _, r := range refs {
		name, rest, ok1 := strings.Cut(r, "=")
		subject, version, ok2 := strings.Cut(rest, ":")
		v, err := strconv.Atoi(version)
		if !ok1 || !ok2 || err != nil {
			return req, usageError{fmt.Errorf("--ref %q: want NAME=SUBJECT:VERSION", r)}
		}
		req.References = append(req.References, registry.Reference{Name: name, Subject: subject, Version: v})
	}
	return req, nil
}

func schemaRegisterCmd(c *srClient) *cobra.Command {
	var (
		typ  string
		refs []string
	)
	cmd := &cobra.Command{
		Use:   "register SUBJECT FILE",
		Short: "Register a schema (FILE, or - for stdin) under a subject",
		Long: `Register a schema under a subject. The registry checks it against the
subject's compatibility level and refuses it (listing the reasons) when it
is incompatible. Registering a schema the subject already has returns its
existing id.`,
		Args: cobra.ExactArgs(2),
		RunE: func(cmd *cobra.Command, args []string) error {
			req, err := schemaRequest(args[1], typ, refs)
			if err != nil {
				return err
			}
			var out struct {
				ID int `json:"id"`
			}
			if err := c.do(cmd.Context(), "POST", "/subjects/"+url.PathEscape(args[0])+"/versions", req, &out); err != nil {
				return err
			}
			var s registry.Schema
			if err := c.do(cmd.Context(), "POST", "/subjects/"+url.PathEscape(args[0]), req, &s); err != nil {
				return err
			}
			fmt.Fprintf(cmd.OutOrStdout(), "subject %s version %d id %d\n", args[0], s.Version, out.ID)
			return nil
		},
	}
	cmd.Flags().StringVar(&typ, "type", "", "AVRO, JSON or PROTOBUF (default from the file extension)")
	cmd.Flags().StringArrayVar(&refs, "ref", nil, "a reference NAME=SUBJECT:VERSION (repeatable)")
	return cmd
}

func schemaCheckCmd(c *srClient) *cobra.Command {
	var (
		typ     string
		refs    []string
		version string
	)
	cmd := &cobra.Command{
		Use:   "check SUBJECT FILE",
		Short: "Check whether a schema may be registered under a subject",
		Long: `Check a schema against a subject under its compatibility level, without
registering it. Exits 0 when compatible, 1 (listing the reasons) when not.
--version checks against one version only; by default the versions the
level names (the latest, or all for *_TRANSITIVE).`,
		Args: cobra.ExactArgs(2),
		RunE: func(cmd *cobra.Command, args []string) error {
			req, err := schemaRequest(args[1], typ, refs)
			if err != nil {
				return err
			}
			path := "/compatibility/subjects/" + url.PathEscape(args[0]) + "/versions"
			if version != "" {
				path += "/" + url.PathEscape(version)
			}
			var out struct {
				Is       bool     `json:"is_compatible"`
				Messages []string `json:"messages"`
			}
			if err := c.do(cmd.Context(), "POST", path+"?verbose=true", req, &out); err != nil {
				return err
			}
			if out.Is {
				fmt.Fprintln(cmd.OutOrStdout(), "compatible")
				return nil
			}
			fmt.Fprintln(cmd.OutOrStdout(), "incompatible:")
			for _, m := range out.Messages {
				fmt.Fprintln(cmd.OutOrStdout(), "  "+m)
			}
			return fmt.Errorf("schema %s is incompatible with subject %s", args[1], args[0])
		},
	}
	cmd.Flags().StringVar(&typ, "type", "", "AVRO, JSON or PROTOBUF (default from the file extension)")
	cmd.Flags().StringArrayVar(&refs, "ref", nil, "a reference NAME=SUBJECT:VERSION (repeatable)")
	cmd.Flags().StringVar(&version, "version", "", "check against this version only (a number or latest)")
	return cmd
}

func schemaDeleteCmd(c *srClient) *cobra.Command {
	var permanent bool
	cmd := &cobra.Command{
		Use:   "delete SUBJECT [VERSION]",
		Short: "Delete a subject or one version: softly, or --permanent after a soft delete",
		Args:  cobra.RangeArgs(1, 2),
		RunE: func(cmd *cobra.Command, args []string) error {
			path := "/subjects/" + url.PathEscape(args[0])
			if len(args) == 2 {
				path += "/versions/" + url.PathEscape(args[1])
			}
			if permanent {
				path += "?permanent=true"
			}
			var out any
			if err := c.do(cmd.Context(), "DELETE", path, nil, &out); err != nil {
				return err
			}
			how := "soft-deleted"
			if permanent {
				how = "permanently deleted"
			}
			b, _ := json.Marshal(out)
			fmt.Fprintf(cmd.OutOrStdout(), "%s %s version(s) %s\n", how, args[0], b)
			return nil
		},
	}
	cmd.Flags().BoolVar(&permanent, "permanent", false, "delete permanently (the subject or version must be soft-deleted first)")
	return cmd
}

func schemaConfigCmd(c *srClient) *cobra.Command {
	var global bool
	cmd := &cobra.Command{
		Use:   "config [SUBJECT] [LEVEL]",
		Short: "Show or set the compatibility level of a subject or (--global) of the registry",
		Long: `Show or set a compatibility level: BACKWARD (the default), BACKWARD_TRANSITIVE,
FORWARD, FORWARD_TRANSITIVE, FULL, FULL_TRANSITIVE or NONE.

  eddy schema config --global            show the global level
  eddy schema config --global FULL       set it
  eddy schema config orders-value        show a subject's level (falling back to the global one)
  eddy schema config orders-value FULL   set it`,
		Args: cobra.RangeArgs(0, 2),
		RunE: func(cmd *cobra.Command, args []string) error {
			path, level := "/config", ""
			switch {
			case global && len(args) <= 1:
				if len(args) == 1 {
					level = args[0]
				}
			case !global && len(args) >= 1:
				path += "/" + url.PathEscape(args[0])
				if len(args) == 2 {
					level = args[1]
				}
			default:
				return usageError{errors.New("give a SUBJECT or --global")}
			}
			if level != "" {
				var out struct {
					Compatibility string `json:"compatibility"`
				}
				if err := c.do(cmd.Context(), "PUT", path, map[string]string{"compatibility": level}, &out); err != nil {
					return err
				}
				fmt.Fprintln(cmd.OutOrStdout(), out.Compatibility)
				return nil
			}
			var out struct {
				Level string `json:"compatibilityLevel"`
			}
			if err := c.do(cmd.Context(), "GET", path+"?defaultToGlobal=true", nil, &out); err != nil {
				return err
			}
			fmt.Fprintln(cmd.OutOrStdout(), out.Level)
			return nil
		},
	}
	cmd.Flags().BoolVar(&global, "global", false, "the registry-wide level instead of a subject's")
	return cmd
}
