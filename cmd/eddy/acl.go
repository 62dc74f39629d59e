package main

import (
	"context"
	"errors"
	"fmt"
	"text/tabwriter"

	"github.com/spf13/cobra"
	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kgo"
	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/eddy-streaming/eddy/internal/acl"
)

// newACLCmd returns `eddy acl`, ACL administration over Kafka's
// CreateAcls, DescribeAcls and DeleteAcls (the server must run with
// --authorizer acl), with kafka-acls.sh's flag names.
func newACLCmd() *cobra.Command {
	cmd := groupCommand("acl", "Create, list and delete ACLs (the server runs with --authorizer acl)")
	co := addClientFlags(cmd)
	cmd.AddCommand(newACLCreateCmd(co), newACLListCmd(co), newACLDeleteCmd(co))
	return cmd
}

// aclFlags are the resource and entry flags the three commands share.
type aclFlags struct {
	topics, groups, txnIDs, subjects []string
	cluster                          bool
	pattern                          string
	allowPrincipals, denyPrincipals  []string
	principals                       []string
	hosts                            []string
	operations                       []string
}

func (f *aclFlags) addResourceFlags(cmd *cobra.Command, defPattern string) {
	cmd.Flags().StringArrayVar(&f.topics, "topic", nil, "topic name or prefix (repeatable; * for every topic)")
	cmd.Flags().StringArrayVar(&f.groups, "group", nil, "consumer or share group (repeatable; * for every group)")
	cmd.Flags().StringArrayVar(&f.txnIDs, "transactional-id", nil, "transactional id (repeatable)")
	cmd.Flags().StringArrayVar(&f.subjects, "subject", nil, "schema-registry subject (repeatable), the SUBJECT resource")
	cmd.Flags().BoolVar(&f.cluster, "cluster", false, "the cluster resource (kafka-cluster)")
	cmd.Flags().StringVar(&f.pattern, "resource-pattern-type", defPattern, "literal or prefixed (list and delete also take any and match)")
	cmd.Flags().StringArrayVar(&f.operations, "operation", nil, "operation (repeatable): All, Read, Write, Create, Delete, Alter, Describe, ClusterAction, DescribeConfigs, AlterConfigs, IdempotentWrite")
}

// resources returns the named resources as (type, name) pairs; none
// named returns nil.
func (f *aclFlags) resources() []struct {
	rt   kmsg.ACLResourceType
	name string
} {
	var out []struct {
		rt   kmsg.ACLResourceType
		name string
	}
	add := func(rt kmsg.ACLResourceType, names []string) {
		for _, n := range names {
			out = append(out, struct {
				rt   kmsg.ACLResourceType
				name string
			}{rt, n})
		}
	}
	add(kmsg.ACLResourceTypeTopic, f.topics)
	add(kmsg.ACLResourceTypeGroup, f.groups)
	add(kmsg.ACLResourceTypeTransactionalId, f.txnIDs)
	add(acl.ResourceTypeSubject, f.subjects)
	if f.cluster {
		add(kmsg.ACLResourceTypeCluster, []string{acl.ClusterName})
	}
	return out
}

func (f *aclFlags) patternType() (kmsg.ACLResourcePatternType, error) {
	pt, err := kmsg.ParseACLResourcePatternType(f.pattern)
	if err != nil || pt == kmsg.ACLResourcePatternTypeUnknown {
		return 0, usageError{fmt.Errorf("--resource-pattern-type %q: want literal, prefixed, any or match", f.pattern)}
	}
	return pt, nil
}

func (f *aclFlags) ops(def kmsg.ACLOperation) ([]kmsg.ACLOperation, error) {
	if len(f.operations) == 0 {
		return []kmsg.ACLOperation{def}, nil
	}
	var out []kmsg.ACLOperation
	for _, s := range f.operations {
		op, err := kmsg.ParseACLOperation(s)
		if err != nil || op == kmsg.ACLOperationUnknown {
			return nil, usageError{fmt.Errorf("--operation %q: want All, Read, Write, Create, Delete, Alter, Describe, ClusterAction, DescribeConfigs, AlterConfigs or IdempotentWrite", s)}
		}
		out = append(out, op)
	}
	return out, nil
}

func newACLCreateCmd(co *clientOptions) *cobra.Command {
	var f aclFlags
	cmd := &cobra.Command{
		Use:   "create",
		Short: "Create ACLs: every principal × host × operation × resource given",
		Example: `  eddy acl create --allow-principal User:alice --operation Read --operation Describe --topic orders
  eddy acl create --allow-principal User:alice --operation Read --group orders-app
  eddy acl create --allow-principal User:ci --operation Write --topic build. --resource-pattern-type prefixed
  eddy acl create --deny-principal User:* --allow-host * --operation Write --topic audit
  eddy acl create --allow-principal User:ops --operation Alter --subject orders-value`,
		Args: noArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			pt, err := f.patternType()
			if err != nil {
				return err
			}
			if pt != kmsg.ACLResourcePatternTypeLiteral && pt != kmsg.ACLResourcePatternTypePrefixed {
				return usageError{errors.New("--resource-pattern-type: create takes literal or prefixed")}
			}
			ops, err := f.ops(kmsg.ACLOperationAll)
			if err != nil {
				return err
			}
			res := f.resources()
			if len(res) == 0 {
				return usageError{errors.New("name a resource: --topic, --group, --transactional-id, --subject or --cluster")}
			}
			if len(f.allowPrincipals)+len(f.denyPrincipals) == 0 {
				return usageError{errors.New("name a principal: --allow-principal or --deny-principal, e.g. User:alice")}
			}
			hosts := f.hosts
			if len(hosts) == 0 {
				hosts = []string{"*"}
			}
			req := kmsg.NewPtrCreateACLsRequest()
			for _, perm := range []struct {
				ps []string
				pt kmsg.ACLPermissionType
			}{{f.allowPrincipals, kmsg.ACLPermissionTypeAllow}, {f.denyPrincipals, kmsg.ACLPermissionTypeDeny}} {
				for _, p := range perm.ps {
					for _, h := range hosts {
						for _, op := range ops {
							for _, r := range res {
								c := kmsg.NewCreateACLsRequestCreation()
								c.ResourceType, c.ResourceName, c.ResourcePatternType = r.rt, r.name, pt
								c.Principal, c.Host, c.Operation, c.PermissionType = p, h, op, perm.pt
								req.Creations = append(req.Creations, c)
							}
						}
					}
				}
			}
			cl, ctx, done, err := co.rawSession(cmd.Context())
			if err != nil {
				return err
			}
			defer done()
			kr, err := req.RequestWith(ctx, cl)
			if err != nil {
				return co.brokerError("create acls", err)
			}
			var errs []error
			for i, r := range kr.Results {
				if i >= len(req.Creations) {
					break
				}
				if e := kerr.ErrorForCode(r.ErrorCode); e != nil {
					errs = append(errs, fmt.Errorf("create %s: %w", describeCreation(req.Creations[i]), withMessage(e, strOr(r.ErrorMessage))))
				}
			}
			if err := errors.Join(errs...); err != nil {
				return err
			}
			warnf(cmd, "created %d ACL(s)", len(req.Creations))
			return nil
		},
	}
	f.addResourceFlags(cmd, "literal")
	cmd.Flags().StringArrayVar(&f.allowPrincipals, "allow-principal", nil, "principal to allow, Type:Name (repeatable; User:* for every user)")
	cmd.Flags().StringArrayVar(&f.denyPrincipals, "deny-principal", nil, "principal to deny, Type:Name (repeatable)")
	cmd.Flags().StringArrayVar(&f.hosts, "allow-host", nil, "IP address the principals connect from (repeatable; default *: any)")
	cmd.Flags().StringArrayVar(&f.hosts, "deny-host", nil, "same as --allow-host, for --deny-principal")
	return cmd
}

func describeCreation(c kmsg.CreateACLsRequestCreation) string {
	return acl.Binding{ResourceType: c.ResourceType, ResourceName: c.ResourceName, PatternType: c.ResourcePatternType,
		Principal: c.Principal, Host: c.Host, Operation: c.Operation, Permission: c.PermissionType}.String()
}

func strOr(s *string) string {
	if s == nil {
		return ""
	}
	return *s
}

// filters builds the DescribeAcls/DeleteAcls filters of the flags: one per
// resource named (or one for every resource) per principal named (or
// any), per operation named (or any).
func (f *aclFlags) filters() ([]acl.Filter, error) {
	pt, err := f.patternType()
	if err != nil {
		return nil, err
	}
	ops, err := f.ops(kmsg.ACLOperationAny)
	if err != nil {
		return nil, err
	}
	type res struct {
		rt   kmsg.ACLResourceType
		name *string
	}
	var rs []res
	for _, r := range f.resources() {
		rs = append(rs, res{r.rt, &r.name})
	}
	if len(rs) == 0 {
		rs = []res{{kmsg.ACLResourceTypeAny, nil}}
	}
	principals := []*string{nil}
	if len(f.principals) > 0 {
		principals = nil
		for _, p := range f.principals {
			principals = append(principals, &p)
		}
	}
	var out []acl.Filter
	for _, r := range rs {
		for _, p := range principals {
			for _, op := range ops {
				out = append(out, acl.Filter{ResourceType: r.rt, ResourceName: r.name, PatternType: pt, Principal: p,
					Operation: op, Permission: kmsg.ACLPermissionTypeAny})
			}
		}
	}
	return out, nil
}

func newACLListCmd(co *clientOptions) *cobra.Command {
	var f aclFlags
	cmd := &cobra.Command{
		Use:   "list",
		Short: "List ACLs (all, or those of the resources and principals given)",
		Example: `  eddy acl list
  eddy acl list --topic orders --resource-pattern-type match   # every ACL that applies to topic orders
  eddy acl list --principal User:alice`,
		Args: noArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			fs, err := f.filters()
			if err != nil {
				return err
			}
			cl, ctx, done, err := co.rawSession(cmd.Context())
			if err != nil {
				return err
			}
			defer done()
			var rows []acl.Binding
			seen := map[acl.Binding]bool{}
			for _, fl := range fs {
				req := kmsg.NewPtrDescribeACLsRequest()
				req.ResourceType, req.ResourceName, req.ResourcePatternType = fl.ResourceType, fl.ResourceName, fl.PatternType
				req.Principal, req.Operation, req.PermissionType = fl.Principal, fl.Operation, fl.Permission
				resp, err := req.RequestWith(ctx, cl)
				if err != nil {
					return co.brokerError("list acls", err)
				}
				if e := kerr.ErrorForCode(resp.ErrorCode); e != nil {
					return fmt.Errorf("list acls: %w", withMessage(e, strOr(resp.ErrorMessage)))
				}
				for _, r := range resp.Resources {
					for _, a := range r.ACLs {
						b := acl.Binding{ResourceType: r.ResourceType, ResourceName: r.ResourceName, PatternType: r.ResourcePatternType,
							Principal: a.Principal, Host: a.Host, Operation: a.Operation, Permission: a.PermissionType}
						if !seen[b] {
							seen[b] = true
							rows = append(rows, b)
						}
					}
				}
			}
			return printBindings(cmd, rows)
		},
	}
	f.addResourceFlags(cmd, "any")
	cmd.Flags().StringArrayVar(&f.principals, "principal", nil, "only ACLs of this principal (repeatable)")
	return cmd
}

func printBindings(cmd *cobra.Command, bs []acl.Binding) error {
	tw := tabwriter.NewWriter(cmd.OutOrStdout(), 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "RESOURCE\tPATTERN\tNAME\tPRINCIPAL\tHOST\tOPERATION\tPERMISSION")
	for _, b := range bs {
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\t%s\n", acl.ResourceTypeString(b.ResourceType), b.PatternType, b.ResourceName, b.Principal, b.Host, b.Operation, b.Permission)
	}
	return tw.Flush()
}

func newACLDeleteCmd(co *clientOptions) *cobra.Command {
	var (
		f   aclFlags
		all bool
	)
	cmd := &cobra.Command{
		Use:   "delete",
		Short: "Delete the ACLs of the resources, principals and operations given (and prints them)",
		Example: `  eddy acl delete --topic orders --principal User:alice
  eddy acl delete --all`,
		Args: noArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if len(f.resources()) == 0 && len(f.principals) == 0 && !all {
				return usageError{errors.New("name what to delete (--topic, --group, --subject, --cluster, --principal ...), or --all for every ACL")}
			}
			fs, err := f.filters()
			if err != nil {
				return err
			}
			req := kmsg.NewPtrDeleteACLsRequest()
			for _, fl := range fs {
				df := kmsg.NewDeleteACLsRequestFilter()
				df.ResourceType, df.ResourceName, df.ResourcePatternType = fl.ResourceType, fl.ResourceName, fl.PatternType
				df.Principal, df.Operation, df.PermissionType = fl.Principal, fl.Operation, fl.Permission
				req.Filters = append(req.Filters, df)
			}
			cl, ctx, done, err := co.rawSession(cmd.Context())
			if err != nil {
				return err
			}
			defer done()
			resp, err := req.RequestWith(ctx, cl)
			if err != nil {
				return co.brokerError("delete acls", err)
			}
			var rows []acl.Binding
			var errs []error
			for _, r := range resp.Results {
				if e := kerr.ErrorForCode(r.ErrorCode); e != nil {
					errs = append(errs, fmt.Errorf("delete acls: %w", withMessage(e, strOr(r.ErrorMessage))))
				}
				for _, m := range r.MatchingACLs {
					rows = append(rows, acl.Binding{ResourceType: m.ResourceType, ResourceName: m.ResourceName, PatternType: m.ResourcePatternType,
						Principal: m.Principal, Host: m.Host, Operation: m.Operation, Permission: m.PermissionType})
				}
			}
			if err := errors.Join(errs...); err != nil {
				return err
			}
			warnf(cmd, "deleted %d ACL(s)", len(rows))
			if len(rows) == 0 {
				return nil
			}
			return printBindings(cmd, rows)
		},
	}
	f.addResourceFlags(cmd, "any")
	cmd.Flags().StringArrayVar(&f.principals, "principal", nil, "only ACLs of this principal (repeatable)")
	cmd.Flags().BoolVar(&all, "all", false, "delete every ACL")
	return cmd
}

// rawSession is adminSession for commands that send kmsg requests
// themselves: a client, a context bounded by --timeout, and done.
func (o *clientOptions) rawSession(parent context.Context) (*kgo.Client, context.Context, func(), error) {
	cl, err := o.newClient()
	if err != nil {
		return nil, nil, nil, err
	}
	ctx, cancel := o.requestContext(parent)
	return cl, ctx, func() { cancel(); cl.Close() }, nil
}
