package main

// eddy user create|list|delete: SCRAM users, managed through Kafka's
// AlterUserScramCredentials and DescribeUserScramCredentials (KIP-554), so
// the commands work against any listener the caller may use, with the
// caller's own credentials (--user), like kafka-configs.sh.

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"os"
	"strings"

	"github.com/spf13/cobra"
	"github.com/twmb/franz-go/pkg/kadm"
)

// newUserPasswordEnv holds the password `eddy user create` sets.
const newUserPasswordEnv = "EDDY_USER_PASSWORD"

func newUserCmd() *cobra.Command {
	cmd := groupCommand("user", "Create, list and delete SCRAM users (credentials stored salted and hashed)")
	co := addClientFlags(cmd)
	cmd.AddCommand(newUserCreateCmd(co), newUserListCmd(co), newUserDeleteCmd(co))
	return cmd
}

func parseScramMechanisms(list string) ([]kadm.ScramMechanism, error) {
	var out []kadm.ScramMechanism
	for _, m := range strings.Split(list, ",") {
		switch strings.ToUpper(strings.TrimSpace(m)) {
		case "SCRAM-SHA-256":
			out = append(out, kadm.ScramSha256)
		case "SCRAM-SHA-512":
			out = append(out, kadm.ScramSha512)
		case "":
		default:
			return nil, usageError{fmt.Errorf("--mechanisms: %q is not SCRAM-SHA-256 or SCRAM-SHA-512", m)}
		}
	}
	if len(out) == 0 {
		return nil, usageError{fmt.Errorf("--mechanisms: name at least one of SCRAM-SHA-256, SCRAM-SHA-512")}
	}
	return out, nil
}

func newUserCreateCmd(co *clientOptions) *cobra.Command {
	var mechs string
	var iterations int32
	cmd := &cobra.Command{
		Use:   "create NAME",
		Short: "Create a user, or set a user's password (read from $" + newUserPasswordEnv + " or the first line of stdin)",
		Long: `Create a user, or set the password of an existing one, for every
mechanism in --mechanisms. The password is read from $` + newUserPasswordEnv + `, else
from the first line of stdin; the client salts and hashes it, so only the
salted password travels and only salt, iteration count and keys are stored.
SASL/PLAIN and HTTP Basic logins check the same credentials.`,
		Args: exactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			ms, err := parseScramMechanisms(mechs)
			if err != nil {
				return err
			}
			pass := os.Getenv(newUserPasswordEnv)
			if pass == "" {
				pass, err = firstLine(cmd.InOrStdin())
				if err != nil {
					return err
				}
			}
			if pass == "" {
				return usageError{fmt.Errorf("no password: set $%s or pipe it on stdin", newUserPasswordEnv)}
			}
			adm, ctx, done, err := co.adminSession(cmd.Context())
			if err != nil {
				return err
			}
			defer done()
			var ups []kadm.UpsertSCRAM
			for _, m := range ms {
				ups = append(ups, kadm.UpsertSCRAM{User: args[0], Mechanism: m, Iterations: iterations, Password: pass})
			}
			res, err := adm.AlterUserSCRAMs(ctx, nil, ups)
			if err != nil {
				return co.brokerError("create user", err)
			}
			if r := res[args[0]]; r.Err != nil {
				return withMessage(r.Err, r.ErrMessage)
			}
			fmt.Fprintf(cmd.ErrOrStderr(), "user %s: credentials set (%s)\n", args[0], strings.ToUpper(mechs))
			return nil
		},
	}
	cmd.Flags().StringVar(&mechs, "mechanisms", "SCRAM-SHA-256,SCRAM-SHA-512", "SCRAM mechanisms to store credentials for")
	cmd.Flags().Int32Var(&iterations, "iterations", 4096, "PBKDF2 iterations (4096 to 16384)")
	return cmd
}

func firstLine(r io.Reader) (string, error) {
	line, err := bufio.NewReader(r).ReadString('\n')
	if err != nil && err != io.EOF {
		return "", fmt.Errorf("read password: %w", err)
	}
	return strings.TrimRight(line, "\r\n"), nil
}

func newUserListCmd(co *clientOptions) *cobra.Command {
	return &cobra.Command{
		Use:   "list",
		Short: "List users and their SCRAM mechanisms",
		Args:  noArgs,
		RunE: co.adminRun(func(ctx context.Context, adm *kadm.Client, cmd *cobra.Command, _ []string) error {
			res, err := adm.DescribeUserSCRAMs(ctx)
			if err != nil {
				return co.brokerError("list users", err)
			}
			w := cmd.OutOrStdout()
			fmt.Fprintf(w, "%-24s %s\n", "USER", "CREDENTIALS")
			for _, u := range res.Sorted() {
				if u.Err != nil {
					return withMessage(u.Err, u.ErrMessage)
				}
				var cs []string
				for _, c := range u.CredInfos {
					cs = append(cs, fmt.Sprintf("%s (%d iterations)", c.Mechanism, c.Iterations))
				}
				fmt.Fprintf(w, "%-24s %s\n", u.User, strings.Join(cs, ", "))
			}
			return nil
		}),
	}
}

func newUserDeleteCmd(co *clientOptions) *cobra.Command {
	var mechs string
	cmd := &cobra.Command{
		Use:   "delete NAME",
		Short: "Delete a user's credentials (every mechanism unless --mechanisms)",
		Args:  exactArgs(1),
		RunE: co.adminRun(func(ctx context.Context, adm *kadm.Client, cmd *cobra.Command, args []string) error {
			var ms []kadm.ScramMechanism
			if mechs != "" {
				var err error
				if ms, err = parseScramMechanisms(mechs); err != nil {
					return err
				}
			} else {
				desc, err := adm.DescribeUserSCRAMs(ctx, args[0])
				if err != nil {
					return co.brokerError("delete user", err)
				}
				u := desc[args[0]]
				if u.Err != nil {
					return withMessage(u.Err, u.ErrMessage)
				}
				for _, c := range u.CredInfos {
					ms = append(ms, c.Mechanism)
				}
			}
			var dels []kadm.DeleteSCRAM
			for _, m := range ms {
				dels = append(dels, kadm.DeleteSCRAM{User: args[0], Mechanism: m})
			}
			res, err := adm.AlterUserSCRAMs(ctx, dels, nil)
			if err != nil {
				return co.brokerError("delete user", err)
			}
			if r := res[args[0]]; r.Err != nil {
				return withMessage(r.Err, r.ErrMessage)
			}
			fmt.Fprintf(cmd.ErrOrStderr(), "user %s: deleted\n", args[0])
			return nil
		}),
	}
	cmd.Flags().StringVar(&mechs, "mechanisms", "", "delete only these SCRAM mechanisms' credentials")
	return cmd
}
