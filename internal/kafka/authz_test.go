package kafka_test

import (
	"context"
	"os/exec"
	"strings"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kgo"
	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/eddy-streaming/eddy/internal/acl"
	"github.com/eddy-streaming/eddy/internal/auth"
	"github.com/eddy-streaming/eddy/internal/kafka/kafkatest"
	"github.com/eddy-streaming/eddy/internal/node"
)

// The authorization matrix: every Kafka API Eddy serves, asked by a
// principal without and then with the ACLs Kafka's authorization table
// names. Clients on a PLAINTEXT listener are User:ANONYMOUS, so the ACLs
// are granted to and removed from it.

const anon = string(auth.Anonymous)

func allowACL(op kmsg.ACLOperation, rt kmsg.ACLResourceType, name string) acl.Binding {
	pt := kmsg.ACLResourcePatternTypeLiteral
	return acl.Binding{ResourceType: rt, ResourceName: name, PatternType: pt, Principal: anon, Host: "*", Operation: op, Permission: kmsg.ACLPermissionTypeAllow}
}

func clusterACL(op kmsg.ACLOperation) acl.Binding {
	return allowACL(op, kmsg.ACLResourceTypeCluster, acl.ClusterName)
}

var anyFilter = acl.Filter{ResourceType: kmsg.ACLResourceTypeAny, PatternType: kmsg.ACLResourcePatternTypeAny, Operation: kmsg.ACLOperationAny, Permission: kmsg.ACLPermissionTypeAny}

// setACLs replaces every binding with bs.
func setACLs(t *testing.T, a *acl.Authorizer, bs ...acl.Binding) {
	t.Helper()
	if _, _, err := a.Delete([]acl.Filter{anyFilter}); err != nil {
		t.Fatal(err)
	}
	errs, err := a.Create(bs)
	if err != nil {
		t.Fatal(err)
	}
	for i, e := range errs {
		if e != nil {
			t.Fatalf("binding %v: %v", bs[i], e)
		}
	}
}

func startACLNode(t *testing.T, opt acl.Options, more ...kafkatest.Option) *kafkatest.Server {
	t.Helper()
	opts := append([]kafkatest.Option{kafkatest.WithNodeConfig(func(c *node.Config) { o := opt; c.ACL = &o })}, more...)
	return kafkatest.Start(t, opts...)
}

// req sends r to the node directly (no coordinator lookups, which would
// themselves be refused) and returns the response.
func req[T kmsg.Response](t *testing.T, cl *kgo.Client, r kmsg.Request) T {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	resp, err := cl.SeedBrokers()[0].Request(ctx, r)
	if err != nil {
		t.Fatalf("%s: %v", kmsg.NameForKey(r.Key()), err)
	}
	return resp.(T)
}

func TestAuthorizationMatrixKafka(t *testing.T) {
	srv := startACLNode(t, acl.Options{})
	kafkaMatrix(t, srv, anon)
}

// kafkaMatrix runs the matrix against srv as principal, whose clients
// srv.Client(t, opts...) makes (a PLAINTEXT client is User:ANONYMOUS; a
// SASL one names its user).
func kafkaMatrix(t *testing.T, srv *kafkatest.Server, principal string, opts ...kgo.Opt) {
	as := func(b acl.Binding) acl.Binding { b.Principal = principal; return b }
	allowACL := func(op kmsg.ACLOperation, rt kmsg.ACLResourceType, name string) acl.Binding {
		return as(allowACL(op, rt, name))
	}
	clusterACL := func(op kmsg.ACLOperation) acl.Binding { return as(clusterACL(op)) }
	a := srv.Node.ACL
	const topic, grp, shareGrp, txn = "t", "g", "sg", "tx"
	ctx := context.Background()
	// Set up as a principal allowed everything, then take it away.
	setACLs(t, a, allowACL(kmsg.ACLOperationAll, kmsg.ACLResourceTypeTopic, "*"), allowACL(kmsg.ACLOperationAll, kmsg.ACLResourceTypeGroup, "*"), clusterACL(kmsg.ACLOperationAll))
	setup := srv.Client(t, opts...)
	adm := kadm.NewClient(setup)
	for _, tp := range []string{topic, "dt"} {
		if _, err := adm.CreateTopic(ctx, 1, 1, nil, tp); err != nil {
			t.Fatal(err)
		}
	}
	if err := setup.ProduceSync(ctx, &kgo.Record{Topic: topic, Value: []byte("v")}).FirstErr(); err != nil {
		t.Fatal(err)
	}
	for _, g := range []string{grp, "dg"} {
		if _, err := adm.CommitOffsets(ctx, g, kadm.OffsetsFromRecords(kgo.Record{Topic: topic, Partition: 0, Offset: 0})); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := srv.Broker.CreateView("tv", topic, "true", 1, false); err != nil {
		t.Fatal(err)
	}
	var tid, vid [16]byte
	if info, err := srv.Broker.Topic(topic); err == nil {
		tid = info.ID
	}
	if info, err := srv.Broker.Topic("tv"); err == nil {
		vid = info.ID
	}
	cl := srv.Client(t, append([]kgo.Opt{kgo.DisableIdempotentWrite()}, opts...)...)

	descT := allowACL(kmsg.ACLOperationDescribe, kmsg.ACLResourceTypeTopic, topic)
	readT := allowACL(kmsg.ACLOperationRead, kmsg.ACLResourceTypeTopic, topic)
	readG := allowACL(kmsg.ACLOperationRead, kmsg.ACLResourceTypeGroup, grp)
	descG := allowACL(kmsg.ACLOperationDescribe, kmsg.ACLResourceTypeGroup, grp)
	readSG := allowACL(kmsg.ACLOperationRead, kmsg.ACLResourceTypeGroup, shareGrp)

	topicAuth, groupAuth, clusterAuth, txnAuth := kerr.TopicAuthorizationFailed.Code, kerr.GroupAuthorizationFailed.Code, kerr.ClusterAuthorizationFailed.Code, kerr.TransactionalIDAuthorizationFailed.Code
	cases := []struct {
		name   string
		base   []acl.Binding // granted in both runs
		need   []acl.Binding // granted in the second run only
		denied int16         // the code without need
		ok     int16         // the code with it (-1: anything but denied)
		run    func(t *testing.T) int16
	}{
		{"Produce WRITE topic", []acl.Binding{descT}, []acl.Binding{allowACL(kmsg.ACLOperationWrite, kmsg.ACLResourceTypeTopic, topic)}, topicAuth, 0, func(t *testing.T) int16 {
			r := kmsg.NewPtrProduceRequest()
			r.Acks, r.TimeoutMillis = 1, 5000
			rt := kmsg.NewProduceRequestTopic()
			rt.Topic = topic
			rp := kmsg.NewProduceRequestTopicPartition()
			rp.Records = makeBatch(time.Now().UnixMilli(), "x")
			rt.Partitions = append(rt.Partitions, rp)
			r.Topics = append(r.Topics, rt)
			return req[*kmsg.ProduceResponse](t, cl, r).Topics[0].Partitions[0].ErrorCode
		}},
		{"Fetch READ topic", []acl.Binding{descT}, []acl.Binding{readT}, topicAuth, 0, func(t *testing.T) int16 {
			r := kmsg.NewPtrFetchRequest()
			r.Version = 12
			r.MaxWaitMillis, r.MaxBytes, r.SessionEpoch = 10, 1<<20, -1
			ft := kmsg.NewFetchRequestTopic()
			ft.Topic, ft.TopicID = topic, tid
			fp := kmsg.NewFetchRequestTopicPartition()
			fp.PartitionMaxBytes = 1 << 20
			ft.Partitions = append(ft.Partitions, fp)
			r.Topics = append(r.Topics, ft)
			return req[*kmsg.FetchResponse](t, cl, r).Topics[0].Partitions[0].ErrorCode
		}},
		{"Fetch of a view READ on the view", []acl.Binding{readT}, []acl.Binding{allowACL(kmsg.ACLOperationRead, kmsg.ACLResourceTypeTopic, "tv")}, topicAuth, 0, func(t *testing.T) int16 {
			r := kmsg.NewPtrFetchRequest()
			r.MaxWaitMillis, r.MaxBytes, r.SessionEpoch = 10, 1<<20, -1
			ft := kmsg.NewFetchRequestTopic()
			ft.Topic, ft.TopicID = "tv", vid
			fp := kmsg.NewFetchRequestTopicPartition()
			fp.PartitionMaxBytes = 1 << 20
			ft.Partitions = append(ft.Partitions, fp)
			r.Topics = append(r.Topics, ft)
			return req[*kmsg.FetchResponse](t, cl, r).Topics[0].Partitions[0].ErrorCode
		}},
		{"CreateTopics of a view READ on the source", []acl.Binding{allowACL(kmsg.ACLOperationCreate, kmsg.ACLResourceTypeTopic, "cv")}, []acl.Binding{readT}, topicAuth, 0, func(t *testing.T) int16 {
			r := kmsg.NewPtrCreateTopicsRequest()
			r.ValidateOnly, r.TimeoutMillis = true, 5000
			ct := kmsg.NewCreateTopicsRequestTopic()
			ct.Topic, ct.NumPartitions, ct.ReplicationFactor = "cv", 1, 1
			for k, v := range map[string]string{"eddy.view.source": topic, "eddy.view.filter": "true"} {
				c := kmsg.NewCreateTopicsRequestTopicConfig()
				c.Name, c.Value = k, kmsg.StringPtr(v)
				ct.Configs = append(ct.Configs, c)
			}
			r.Topics = append(r.Topics, ct)
			return req[*kmsg.CreateTopicsResponse](t, cl, r).Topics[0].ErrorCode
		}},
		{"ListOffsets DESCRIBE topic", nil, []acl.Binding{descT}, topicAuth, 0, func(t *testing.T) int16 {
			r := kmsg.NewPtrListOffsetsRequest()
			lt := kmsg.NewListOffsetsRequestTopic()
			lt.Topic = topic
			lp := kmsg.NewListOffsetsRequestTopicPartition()
			lp.Timestamp = -1
			lt.Partitions = append(lt.Partitions, lp)
			r.Topics = append(r.Topics, lt)
			return req[*kmsg.ListOffsetsResponse](t, cl, r).Topics[0].Partitions[0].ErrorCode
		}},
		{"Metadata named DESCRIBE topic", nil, []acl.Binding{descT}, topicAuth, 0, func(t *testing.T) int16 {
			r := kmsg.NewPtrMetadataRequest()
			mt := kmsg.NewMetadataRequestTopic()
			mt.Topic = kmsg.StringPtr(topic)
			r.Topics = append(r.Topics, mt)
			return req[*kmsg.MetadataResponse](t, cl, r).Topics[0].ErrorCode
		}},
		{"Metadata all lists DESCRIBE topics only", nil, []acl.Binding{descT}, topicAuth, 0, func(t *testing.T) int16 {
			for _, mt := range req[*kmsg.MetadataResponse](t, cl, kmsg.NewPtrMetadataRequest()).Topics {
				if *mt.Topic == "dt" {
					t.Fatal("all-topics Metadata lists dt, which the principal may not DESCRIBE")
				}
				if *mt.Topic == topic {
					return 0
				}
			}
			return topicAuth
		}},
		{"Metadata auto-create CREATE topic", []acl.Binding{allowACL(kmsg.ACLOperationDescribe, kmsg.ACLResourceTypeTopic, "auto")}, []acl.Binding{allowACL(kmsg.ACLOperationCreate, kmsg.ACLResourceTypeTopic, "auto")}, topicAuth, 0, func(t *testing.T) int16 {
			r := kmsg.NewPtrMetadataRequest()
			r.AllowAutoTopicCreation = true
			mt := kmsg.NewMetadataRequestTopic()
			mt.Topic = kmsg.StringPtr("auto")
			r.Topics = append(r.Topics, mt)
			return req[*kmsg.MetadataResponse](t, cl, r).Topics[0].ErrorCode
		}},
		{"Metadata auto-create CREATE cluster", []acl.Binding{allowACL(kmsg.ACLOperationDescribe, kmsg.ACLResourceTypeTopic, "auto2")}, []acl.Binding{clusterACL(kmsg.ACLOperationCreate)}, topicAuth, 0, func(t *testing.T) int16 {
			r := kmsg.NewPtrMetadataRequest()
			r.AllowAutoTopicCreation = true
			mt := kmsg.NewMetadataRequestTopic()
			mt.Topic = kmsg.StringPtr("auto2")
			r.Topics = append(r.Topics, mt)
			return req[*kmsg.MetadataResponse](t, cl, r).Topics[0].ErrorCode
		}},
		{"OffsetCommit READ group", []acl.Binding{readT}, []acl.Binding{readG}, groupAuth, 0, func(t *testing.T) int16 {
			return offsetCommit(t, cl, grp, topic)
		}},
		{"OffsetCommit READ topic", []acl.Binding{readG}, []acl.Binding{readT}, topicAuth, 0, func(t *testing.T) int16 {
			return offsetCommit(t, cl, grp, topic)
		}},
		{"OffsetFetch DESCRIBE group", []acl.Binding{descT}, []acl.Binding{descG}, groupAuth, 0, func(t *testing.T) int16 {
			r := kmsg.NewPtrOffsetFetchRequest()
			g := kmsg.NewOffsetFetchRequestGroup()
			g.Group = grp
			r.Groups = append(r.Groups, g)
			return req[*kmsg.OffsetFetchResponse](t, cl, r).Groups[0].ErrorCode
		}},
		{"OffsetFetch DESCRIBE topic", []acl.Binding{descG}, []acl.Binding{descT}, topicAuth, 0, func(t *testing.T) int16 {
			r := kmsg.NewPtrOffsetFetchRequest()
			g := kmsg.NewOffsetFetchRequestGroup()
			g.Group = grp
			ot := kmsg.NewOffsetFetchRequestGroupTopic()
			ot.Topic, ot.Partitions = topic, []int32{0}
			g.Topics = append(g.Topics, ot)
			r.Groups = append(r.Groups, g)
			return req[*kmsg.OffsetFetchResponse](t, cl, r).Groups[0].Topics[0].Partitions[0].ErrorCode
		}},
		{"FindCoordinator DESCRIBE group", nil, []acl.Binding{descG}, groupAuth, 0, func(t *testing.T) int16 {
			r := kmsg.NewPtrFindCoordinatorRequest()
			r.CoordinatorKeys = []string{grp}
			return req[*kmsg.FindCoordinatorResponse](t, cl, r).Coordinators[0].ErrorCode
		}},
		{"FindCoordinator DESCRIBE transactional id", nil, []acl.Binding{allowACL(kmsg.ACLOperationDescribe, kmsg.ACLResourceTypeTransactionalId, txn)}, txnAuth, 0, func(t *testing.T) int16 {
			r := kmsg.NewPtrFindCoordinatorRequest()
			r.CoordinatorType = 1
			r.CoordinatorKeys = []string{txn}
			c := req[*kmsg.FindCoordinatorResponse](t, cl, r).Coordinators[0]
			if c.ErrorCode == txnAuth && strings.Contains(*c.ErrorMessage, "does not support transactions") {
				return 0 // allowed: refused only because Eddy has no transactions
			}
			return c.ErrorCode
		}},
		{"JoinGroup READ group", nil, []acl.Binding{readG}, groupAuth, kerr.MemberIDRequired.Code, func(t *testing.T) int16 {
			r := kmsg.NewPtrJoinGroupRequest()
			r.Group, r.ProtocolType, r.SessionTimeoutMillis, r.RebalanceTimeoutMillis = grp, "consumer", 10000, 10000
			p := kmsg.NewJoinGroupRequestProtocol()
			p.Name, p.Metadata = "range", []byte{0}
			r.Protocols = append(r.Protocols, p)
			return req[*kmsg.JoinGroupResponse](t, cl, r).ErrorCode
		}},
		{"Heartbeat READ group", nil, []acl.Binding{readG}, groupAuth, -1, func(t *testing.T) int16 {
			r := kmsg.NewPtrHeartbeatRequest()
			r.Group, r.MemberID, r.Generation = grp, "m", 1
			return req[*kmsg.HeartbeatResponse](t, cl, r).ErrorCode
		}},
		{"SyncGroup READ group", nil, []acl.Binding{readG}, groupAuth, -1, func(t *testing.T) int16 {
			r := kmsg.NewPtrSyncGroupRequest()
			r.Group, r.MemberID, r.Generation = grp, "m", 1
			return req[*kmsg.SyncGroupResponse](t, cl, r).ErrorCode
		}},
		{"LeaveGroup READ group", nil, []acl.Binding{readG}, groupAuth, -1, func(t *testing.T) int16 {
			r := kmsg.NewPtrLeaveGroupRequest()
			r.Group = grp
			m := kmsg.NewLeaveGroupRequestMember()
			m.MemberID = "m"
			r.Members = append(r.Members, m)
			return req[*kmsg.LeaveGroupResponse](t, cl, r).ErrorCode
		}},
		{"DescribeGroups DESCRIBE group", nil, []acl.Binding{descG}, groupAuth, 0, func(t *testing.T) int16 {
			r := kmsg.NewPtrDescribeGroupsRequest()
			r.Groups = []string{grp}
			return req[*kmsg.DescribeGroupsResponse](t, cl, r).Groups[0].ErrorCode
		}},
		{"ListGroups lists DESCRIBE groups only", nil, []acl.Binding{descG}, groupAuth, 0, func(t *testing.T) int16 {
			for _, g := range req[*kmsg.ListGroupsResponse](t, cl, kmsg.NewPtrListGroupsRequest()).Groups {
				if g.Group == "dg" {
					t.Fatal("ListGroups lists dg, which the principal may not DESCRIBE")
				}
				if g.Group == grp {
					return 0
				}
			}
			return groupAuth
		}},
		{"ListGroups DESCRIBE cluster lists all", nil, []acl.Binding{clusterACL(kmsg.ACLOperationDescribe)}, groupAuth, 0, func(t *testing.T) int16 {
			n := 0
			for _, g := range req[*kmsg.ListGroupsResponse](t, cl, kmsg.NewPtrListGroupsRequest()).Groups {
				if g.Group == "dg" || g.Group == grp {
					n++
				}
			}
			if n == 2 {
				return 0
			}
			return groupAuth
		}},
		{"CreateTopics CREATE topic", nil, []acl.Binding{allowACL(kmsg.ACLOperationCreate, kmsg.ACLResourceTypeTopic, "ct")}, topicAuth, 0, func(t *testing.T) int16 {
			return createTopic(t, cl, "ct")
		}},
		{"CreateTopics CREATE cluster", nil, []acl.Binding{clusterACL(kmsg.ACLOperationCreate)}, topicAuth, 0, func(t *testing.T) int16 {
			return createTopic(t, cl, "ct2")
		}},
		{"DeleteRecords DELETE topic", []acl.Binding{descT}, []acl.Binding{allowACL(kmsg.ACLOperationDelete, kmsg.ACLResourceTypeTopic, topic)}, topicAuth, 0, func(t *testing.T) int16 {
			r := kmsg.NewPtrDeleteRecordsRequest()
			r.TimeoutMillis = 5000
			rt := kmsg.NewDeleteRecordsRequestTopic()
			rt.Topic = topic
			rp := kmsg.NewDeleteRecordsRequestTopicPartition()
			rp.Offset = 0
			rt.Partitions = append(rt.Partitions, rp)
			r.Topics = append(r.Topics, rt)
			return req[*kmsg.DeleteRecordsResponse](t, cl, r).Topics[0].Partitions[0].ErrorCode
		}},
		{"InitProducerId IDEMPOTENT_WRITE cluster", nil, []acl.Binding{clusterACL(kmsg.ACLOperationIdempotentWrite)}, clusterAuth, 0, func(t *testing.T) int16 {
			return req[*kmsg.InitProducerIDResponse](t, cl, kmsg.NewPtrInitProducerIDRequest()).ErrorCode
		}},
		{"InitProducerId WRITE on a topic", []acl.Binding{descT}, []acl.Binding{allowACL(kmsg.ACLOperationWrite, kmsg.ACLResourceTypeTopic, topic)}, clusterAuth, 0, func(t *testing.T) int16 {
			return req[*kmsg.InitProducerIDResponse](t, cl, kmsg.NewPtrInitProducerIDRequest()).ErrorCode
		}},
		{"InitProducerId WRITE transactional id", nil, []acl.Binding{allowACL(kmsg.ACLOperationWrite, kmsg.ACLResourceTypeTransactionalId, txn)}, txnAuth, kerr.UnsupportedVersion.Code, func(t *testing.T) int16 {
			r := kmsg.NewPtrInitProducerIDRequest()
			r.TransactionalID, r.TransactionTimeoutMillis = kmsg.StringPtr(txn), 10000
			return req[*kmsg.InitProducerIDResponse](t, cl, r).ErrorCode
		}},
		{"OffsetForLeaderEpoch DESCRIBE topic", nil, []acl.Binding{descT}, topicAuth, 0, func(t *testing.T) int16 {
			r := kmsg.NewPtrOffsetForLeaderEpochRequest()
			r.ReplicaID = -1
			ot := kmsg.NewOffsetForLeaderEpochRequestTopic()
			ot.Topic = topic
			op := kmsg.NewOffsetForLeaderEpochRequestTopicPartition()
			op.CurrentLeaderEpoch, op.LeaderEpoch = -1, 0
			ot.Partitions = append(ot.Partitions, op)
			r.Topics = append(r.Topics, ot)
			return req[*kmsg.OffsetForLeaderEpochResponse](t, cl, r).Topics[0].Partitions[0].ErrorCode
		}},
		{"DescribeConfigs DESCRIBE_CONFIGS topic", nil, []acl.Binding{allowACL(kmsg.ACLOperationDescribeConfigs, kmsg.ACLResourceTypeTopic, topic)}, topicAuth, 0, func(t *testing.T) int16 {
			return describeConfigs(t, cl, kmsg.ConfigResourceTypeTopic, topic)
		}},
		{"DescribeConfigs ALTER_CONFIGS implies DESCRIBE_CONFIGS", nil, []acl.Binding{allowACL(kmsg.ACLOperationAlterConfigs, kmsg.ACLResourceTypeTopic, topic)}, topicAuth, 0, func(t *testing.T) int16 {
			return describeConfigs(t, cl, kmsg.ConfigResourceTypeTopic, topic)
		}},
		{"DescribeConfigs broker DESCRIBE_CONFIGS cluster", nil, []acl.Binding{clusterACL(kmsg.ACLOperationDescribeConfigs)}, clusterAuth, 0, func(t *testing.T) int16 {
			return describeConfigs(t, cl, kmsg.ConfigResourceTypeBroker, "1")
		}},
		{"AlterConfigs ALTER_CONFIGS topic", nil, []acl.Binding{allowACL(kmsg.ACLOperationAlterConfigs, kmsg.ACLResourceTypeTopic, topic)}, topicAuth, 0, func(t *testing.T) int16 {
			r := kmsg.NewPtrAlterConfigsRequest()
			r.ValidateOnly = true
			rr := kmsg.NewAlterConfigsRequestResource()
			rr.ResourceType, rr.ResourceName = kmsg.ConfigResourceTypeTopic, topic
			c := kmsg.NewAlterConfigsRequestResourceConfig()
			c.Name, c.Value = "retention.ms", kmsg.StringPtr("1000")
			rr.Configs = append(rr.Configs, c)
			r.Resources = append(r.Resources, rr)
			return req[*kmsg.AlterConfigsResponse](t, cl, r).Resources[0].ErrorCode
		}},
		{"IncrementalAlterConfigs ALTER_CONFIGS topic", nil, []acl.Binding{allowACL(kmsg.ACLOperationAlterConfigs, kmsg.ACLResourceTypeTopic, topic)}, topicAuth, 0, func(t *testing.T) int16 {
			r := kmsg.NewPtrIncrementalAlterConfigsRequest()
			r.ValidateOnly = true
			rr := kmsg.NewIncrementalAlterConfigsRequestResource()
			rr.ResourceType, rr.ResourceName = kmsg.ConfigResourceTypeTopic, topic
			c := kmsg.NewIncrementalAlterConfigsRequestResourceConfig()
			c.Name, c.Value = "retention.ms", kmsg.StringPtr("1000")
			rr.Configs = append(rr.Configs, c)
			r.Resources = append(r.Resources, rr)
			return req[*kmsg.IncrementalAlterConfigsResponse](t, cl, r).Resources[0].ErrorCode
		}},
		{"DescribeLogDirs DESCRIBE cluster", nil, []acl.Binding{clusterACL(kmsg.ACLOperationDescribe)}, clusterAuth, 0, func(t *testing.T) int16 {
			r := kmsg.NewPtrDescribeLogDirsRequest()
			resp := req[*kmsg.DescribeLogDirsResponse](t, cl, r)
			if resp.ErrorCode == 0 && len(resp.Dirs) == 0 {
				t.Fatal("DescribeLogDirs allowed but empty")
			}
			return resp.ErrorCode
		}},
		{"CreatePartitions ALTER topic", []acl.Binding{descT}, []acl.Binding{allowACL(kmsg.ACLOperationAlter, kmsg.ACLResourceTypeTopic, topic)}, topicAuth, 0, func(t *testing.T) int16 {
			r := kmsg.NewPtrCreatePartitionsRequest()
			r.ValidateOnly, r.TimeoutMillis = true, 5000
			ct := kmsg.NewCreatePartitionsRequestTopic()
			ct.Topic, ct.Count = topic, 2
			r.Topics = append(r.Topics, ct)
			return req[*kmsg.CreatePartitionsResponse](t, cl, r).Topics[0].ErrorCode
		}},
		{"OffsetDelete DELETE group", []acl.Binding{readT}, []acl.Binding{allowACL(kmsg.ACLOperationDelete, kmsg.ACLResourceTypeGroup, grp)}, groupAuth, 0, func(t *testing.T) int16 {
			return offsetDelete(t, cl, grp, topic, false)
		}},
		{"OffsetDelete READ topic", []acl.Binding{allowACL(kmsg.ACLOperationDelete, kmsg.ACLResourceTypeGroup, grp)}, []acl.Binding{readT}, topicAuth, -1, func(t *testing.T) int16 {
			return offsetDelete(t, cl, grp, topic, true)
		}},
		{"DeleteGroups DELETE group", nil, []acl.Binding{allowACL(kmsg.ACLOperationDelete, kmsg.ACLResourceTypeGroup, "dg")}, groupAuth, 0, func(t *testing.T) int16 {
			r := kmsg.NewPtrDeleteGroupsRequest()
			r.Groups = []string{"dg"}
			return req[*kmsg.DeleteGroupsResponse](t, cl, r).Groups[0].ErrorCode
		}},
		{"DeleteTopics DELETE topic", nil, []acl.Binding{allowACL(kmsg.ACLOperationDelete, kmsg.ACLResourceTypeTopic, "dt")}, topicAuth, 0, func(t *testing.T) int16 {
			r := kmsg.NewPtrDeleteTopicsRequest()
			r.TimeoutMillis = 5000
			dt := kmsg.NewDeleteTopicsRequestTopic()
			dt.Topic = kmsg.StringPtr("dt")
			r.Topics = append(r.Topics, dt)
			r.TopicNames = []string{"dt"}
			return req[*kmsg.DeleteTopicsResponse](t, cl, r).Topics[0].ErrorCode
		}},
		{"DescribeCluster authorized operations need DESCRIBE cluster", nil, []acl.Binding{clusterACL(kmsg.ACLOperationDescribe)}, clusterAuth, 0, func(t *testing.T) int16 {
			r := kmsg.NewPtrDescribeClusterRequest()
			r.IncludeClusterAuthorizedOperations = true
			resp := req[*kmsg.DescribeClusterResponse](t, cl, r)
			if resp.ErrorCode != 0 || len(resp.Brokers) != 1 {
				t.Fatalf("DescribeCluster: code %d, %d brokers", resp.ErrorCode, len(resp.Brokers))
			}
			if resp.ClusterAuthorizedOperations&(1<<kmsg.ACLOperationDescribe) == 0 {
				return clusterAuth
			}
			return 0
		}},
		{"DescribeAcls DESCRIBE cluster", nil, []acl.Binding{clusterACL(kmsg.ACLOperationDescribe)}, clusterAuth, 0, func(t *testing.T) int16 {
			r := kmsg.NewPtrDescribeACLsRequest()
			r.ResourceType, r.ResourcePatternType, r.Operation, r.PermissionType = kmsg.ACLResourceTypeAny, kmsg.ACLResourcePatternTypeAny, kmsg.ACLOperationAny, kmsg.ACLPermissionTypeAny
			return req[*kmsg.DescribeACLsResponse](t, cl, r).ErrorCode
		}},
		{"CreateAcls ALTER cluster", nil, []acl.Binding{clusterACL(kmsg.ACLOperationAlter)}, clusterAuth, 0, func(t *testing.T) int16 {
			r := kmsg.NewPtrCreateACLsRequest()
			c := kmsg.NewCreateACLsRequestCreation()
			c.ResourceType, c.ResourceName, c.ResourcePatternType = kmsg.ACLResourceTypeTopic, "x", kmsg.ACLResourcePatternTypeLiteral
			c.Principal, c.Host, c.Operation, c.PermissionType = "User:bob", "*", kmsg.ACLOperationRead, kmsg.ACLPermissionTypeAllow
			r.Creations = append(r.Creations, c)
			return req[*kmsg.CreateACLsResponse](t, cl, r).Results[0].ErrorCode
		}},
		{"DeleteAcls ALTER cluster", nil, []acl.Binding{clusterACL(kmsg.ACLOperationAlter)}, clusterAuth, 0, func(t *testing.T) int16 {
			r := kmsg.NewPtrDeleteACLsRequest()
			f := kmsg.NewDeleteACLsRequestFilter()
			f.ResourceType, f.ResourcePatternType, f.Operation, f.PermissionType = kmsg.ACLResourceTypeTopic, kmsg.ACLResourcePatternTypeAny, kmsg.ACLOperationAny, kmsg.ACLPermissionTypeAny
			f.Principal = kmsg.StringPtr("User:bob")
			r.Filters = append(r.Filters, f)
			return req[*kmsg.DeleteACLsResponse](t, cl, r).Results[0].ErrorCode
		}},
		{"ShareGroupHeartbeat READ group", []acl.Binding{descT}, []acl.Binding{readSG}, groupAuth, 0, func(t *testing.T) int16 {
			return shareHeartbeat(t, cl, shareGrp, topic)
		}},
		{"ShareGroupHeartbeat DESCRIBE topic", []acl.Binding{readSG}, []acl.Binding{descT}, topicAuth, 0, func(t *testing.T) int16 {
			return shareHeartbeat(t, cl, shareGrp, topic)
		}},
		{"ShareFetch READ group", []acl.Binding{readT}, []acl.Binding{readSG}, groupAuth, -1, func(t *testing.T) int16 {
			return shareFetch(t, cl, shareGrp, tid, false)
		}},
		{"ShareFetch READ topic", []acl.Binding{readSG, descT}, []acl.Binding{readT}, topicAuth, 0, func(t *testing.T) int16 {
			return shareFetch(t, cl, shareGrp, tid, true)
		}},
		{"ShareAcknowledge READ group", []acl.Binding{readT}, []acl.Binding{readSG}, groupAuth, -1, func(t *testing.T) int16 {
			r := kmsg.NewPtrShareAcknowledgeRequest()
			r.GroupID, r.MemberID, r.ShareSessionEpoch = kmsg.StringPtr(shareGrp), kmsg.StringPtr("m"), 1
			return req[*kmsg.ShareAcknowledgeResponse](t, cl, r).ErrorCode
		}},
		{"ShareGroupDescribe DESCRIBE group", nil, []acl.Binding{allowACL(kmsg.ACLOperationDescribe, kmsg.ACLResourceTypeGroup, shareGrp)}, groupAuth, -1, func(t *testing.T) int16 {
			r := kmsg.NewPtrShareGroupDescribeRequest()
			r.GroupIDs = []string{shareGrp}
			return req[*kmsg.ShareGroupDescribeResponse](t, cl, r).Groups[0].ErrorCode
		}},
		{"DescribeShareGroupOffsets DESCRIBE group", nil, []acl.Binding{allowACL(kmsg.ACLOperationDescribe, kmsg.ACLResourceTypeGroup, shareGrp)}, groupAuth, -1, func(t *testing.T) int16 {
			r := kmsg.NewPtrDescribeShareGroupOffsetsRequest()
			g := kmsg.NewDescribeShareGroupOffsetsRequestGroup()
			g.GroupID = shareGrp
			r.Groups = append(r.Groups, g)
			return req[*kmsg.DescribeShareGroupOffsetsResponse](t, cl, r).Groups[0].ErrorCode
		}},
		{"AlterShareGroupOffsets READ group", []acl.Binding{readT}, []acl.Binding{readSG}, groupAuth, -1, func(t *testing.T) int16 {
			r := kmsg.NewPtrAlterShareGroupOffsetsRequest()
			r.GroupID = shareGrp
			return req[*kmsg.AlterShareGroupOffsetsResponse](t, cl, r).ErrorCode
		}},
		{"DeleteShareGroupOffsets DELETE group", nil, []acl.Binding{allowACL(kmsg.ACLOperationDelete, kmsg.ACLResourceTypeGroup, shareGrp)}, groupAuth, -1, func(t *testing.T) int16 {
			r := kmsg.NewPtrDeleteShareGroupOffsetsRequest()
			r.GroupID = shareGrp
			return req[*kmsg.DeleteShareGroupOffsetsResponse](t, cl, r).ErrorCode
		}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			setACLs(t, a, c.base...)
			if got := c.run(t); got != c.denied {
				t.Fatalf("without %v: code %d (%v), want %d (%v)", c.need, got, kerr.ErrorForCode(got), c.denied, kerr.ErrorForCode(c.denied))
			}
			setACLs(t, a, append(append([]acl.Binding{}, c.base...), c.need...)...)
			got := c.run(t)
			if (c.ok >= 0 && got != c.ok) || (c.ok < 0 && got == c.denied) {
				t.Fatalf("with %v: code %d (%v), want %d (%v)", c.need, got, kerr.ErrorForCode(got), c.ok, kerr.ErrorForCode(c.ok))
			}
		})
	}
}

func offsetCommit(t *testing.T, cl *kgo.Client, grp, topic string) int16 {
	r := kmsg.NewPtrOffsetCommitRequest()
	r.Group, r.Generation = grp, -1
	ot := kmsg.NewOffsetCommitRequestTopic()
	ot.Topic = topic
	op := kmsg.NewOffsetCommitRequestTopicPartition()
	op.Offset = 0
	ot.Partitions = append(ot.Partitions, op)
	r.Topics = append(r.Topics, ot)
	return req[*kmsg.OffsetCommitResponse](t, cl, r).Topics[0].Partitions[0].ErrorCode
}

func createTopic(t *testing.T, cl *kgo.Client, name string) int16 {
	r := kmsg.NewPtrCreateTopicsRequest()
	r.ValidateOnly, r.TimeoutMillis = true, 5000
	ct := kmsg.NewCreateTopicsRequestTopic()
	ct.Topic, ct.NumPartitions, ct.ReplicationFactor = name, 1, 1
	r.Topics = append(r.Topics, ct)
	return req[*kmsg.CreateTopicsResponse](t, cl, r).Topics[0].ErrorCode
}

func describeConfigs(t *testing.T, cl *kgo.Client, rt kmsg.ConfigResourceType, name string) int16 {
	r := kmsg.NewPtrDescribeConfigsRequest()
	rr := kmsg.NewDescribeConfigsRequestResource()
	rr.ResourceType, rr.ResourceName = rt, name
	r.Resources = append(r.Resources, rr)
	return req[*kmsg.DescribeConfigsResponse](t, cl, r).Resources[0].ErrorCode
}

func offsetDelete(t *testing.T, cl *kgo.Client, grp, topic string, partitionCode bool) int16 {
	r := kmsg.NewPtrOffsetDeleteRequest()
	r.Group = grp
	ot := kmsg.NewOffsetDeleteRequestTopic()
	ot.Topic = topic
	op := kmsg.NewOffsetDeleteRequestTopicPartition()
	ot.Partitions = append(ot.Partitions, op)
	r.Topics = append(r.Topics, ot)
	resp := req[*kmsg.OffsetDeleteResponse](t, cl, r)
	if partitionCode && resp.ErrorCode == 0 {
		return resp.Topics[0].Partitions[0].ErrorCode
	}
	return resp.ErrorCode
}

func shareHeartbeat(t *testing.T, cl *kgo.Client, grp, topic string) int16 {
	r := kmsg.NewPtrShareGroupHeartbeatRequest()
	r.GroupID, r.MemberID, r.MemberEpoch = grp, "AAAAAAAAAAAAAAAAAAAAAA", 0
	r.SubscribedTopicNames = []string{topic}
	resp := req[*kmsg.ShareGroupHeartbeatResponse](t, cl, r)
	if resp.ErrorCode == 0 {
		// Leave again, so the group stays empty for the other cases.
		l := kmsg.NewPtrShareGroupHeartbeatRequest()
		l.GroupID, l.MemberID, l.MemberEpoch = grp, r.MemberID, -1
		req[*kmsg.ShareGroupHeartbeatResponse](t, cl, l)
	}
	return resp.ErrorCode
}

func shareFetch(t *testing.T, cl *kgo.Client, grp string, tid [16]byte, partitionCode bool) int16 {
	const member = "AAAAAAAAAAAAAAAAAAAAAB"
	if partitionCode {
		// A member of the group (READ on it, DESCRIBE on the topic).
		hb := kmsg.NewPtrShareGroupHeartbeatRequest()
		hb.GroupID, hb.MemberID, hb.MemberEpoch, hb.SubscribedTopicNames = grp, member, 0, []string{"t"}
		if code := req[*kmsg.ShareGroupHeartbeatResponse](t, cl, hb).ErrorCode; code != 0 {
			t.Fatalf("join share group: %v", kerr.ErrorForCode(code))
		}
		defer func() {
			l := kmsg.NewPtrShareGroupHeartbeatRequest()
			l.GroupID, l.MemberID, l.MemberEpoch = grp, member, -1
			req[*kmsg.ShareGroupHeartbeatResponse](t, cl, l)
		}()
	}
	r := kmsg.NewPtrShareFetchRequest()
	r.GroupID, r.MemberID, r.ShareSessionEpoch, r.MaxWaitMillis = kmsg.StringPtr(grp), kmsg.StringPtr(member), 0, 10
	ft := kmsg.NewShareFetchRequestTopic()
	ft.TopicID = tid
	ft.Partitions = append(ft.Partitions, kmsg.NewShareFetchRequestTopicPartition())
	r.Topics = append(r.Topics, ft)
	resp := req[*kmsg.ShareFetchResponse](t, cl, r)
	if partitionCode && resp.ErrorCode == 0 {
		for _, rt := range resp.Topics {
			if rt.TopicID == tid && len(rt.Partitions) > 0 {
				return rt.Partitions[0].ErrorCode
			}
		}
		return 0
	}
	return resp.ErrorCode
}

// TestACLSuperUsersAndAllowEveryone: super users pass every check;
// allow-everyone-if-no-acl-found opens resources no ACL names, and only
// those.
func TestACLSuperUsersAndAllowEveryone(t *testing.T) {
	srv := startACLNode(t, acl.Options{SuperUsers: []string{anon}})
	cl := srv.Client(t, kgo.AllowAutoTopicCreation())
	ctx := context.Background()
	if err := cl.ProduceSync(ctx, &kgo.Record{Topic: "su", Value: []byte("v")}).FirstErr(); err != nil {
		t.Fatalf("super user produce: %v", err)
	}
	srv.Stop(t)

	srv = startACLNode(t, acl.Options{AllowIfNoACL: true}, kafkatest.WithDir(srv.Dir))
	cl = srv.Client(t, kgo.DisableIdempotentWrite(), kgo.RecordRetries(1))
	if err := cl.ProduceSync(ctx, &kgo.Record{Topic: "su", Value: []byte("v")}).FirstErr(); err != nil {
		t.Fatalf("no ACL names su, allow-everyone: produce: %v", err)
	}
	setACLs(t, srv.Node.ACL, acl.Binding{ResourceType: kmsg.ACLResourceTypeTopic, ResourceName: "su", PatternType: kmsg.ACLResourcePatternTypeLiteral,
		Principal: "User:bob", Host: "*", Operation: kmsg.ACLOperationWrite, Permission: kmsg.ACLPermissionTypeAllow})
	cl2 := srv.Client(t, kgo.DisableIdempotentWrite(), kgo.RecordRetries(1))
	err := cl2.ProduceSync(ctx, &kgo.Record{Topic: "su", Value: []byte("v")}).FirstErr()
	if err == nil || !strings.Contains(err.Error(), "TOPIC_AUTHORIZATION_FAILED") {
		t.Fatalf("su now has an ACL for bob only: produce as anonymous: %v, want TOPIC_AUTHORIZATION_FAILED", err)
	}
}

// TestACLAdminAPIs drives CreateAcls, DescribeAcls and DeleteAcls through
// kadm: per-binding errors, MATCH filters, changes applied to a live
// connection at once, and persistence across a restart.
func TestACLAdminAPIs(t *testing.T) {
	srv := startACLNode(t, acl.Options{SuperUsers: []string{anon}})
	ctx := context.Background()
	adm := kadm.NewClient(srv.Client(t))
	b := kadm.NewACLs().Allow("User:alice").AllowHosts("*").Topics("orders").Operations(kadm.OpRead, kadm.OpDescribe).
		ResourcePatternType(kadm.ACLPatternLiteral)
	res, err := adm.CreateACLs(ctx, b)
	if err != nil {
		t.Fatal(err)
	}
	for _, r := range res {
		if r.Err != nil {
			t.Fatalf("create %v: %v", r, r.Err)
		}
	}
	pre := kadm.NewACLs().Deny("User:*").DenyHosts("*").Topics("orders.").Operations(kadm.OpWrite).ResourcePatternType(kadm.ACLPatternPrefixed)
	if _, err := adm.CreateACLs(ctx, pre); err != nil {
		t.Fatal(err)
	}
	// An invalid creation fails alone, with Kafka's code and a message.
	raw := kmsg.NewPtrCreateACLsRequest()
	good := kmsg.NewCreateACLsRequestCreation()
	good.ResourceType, good.ResourceName, good.ResourcePatternType = kmsg.ACLResourceTypeGroup, "g", kmsg.ACLResourcePatternTypeLiteral
	good.Principal, good.Host, good.Operation, good.PermissionType = "User:alice", "*", kmsg.ACLOperationRead, kmsg.ACLPermissionTypeAllow
	bad := good
	bad.Principal = "alice"
	badCluster := good
	badCluster.ResourceType, badCluster.ResourceName = kmsg.ACLResourceTypeCluster, "c"
	raw.Creations = []kmsg.CreateACLsRequestCreation{good, bad, badCluster}
	cr := req[*kmsg.CreateACLsResponse](t, srv.Client(t), raw)
	if cr.Results[0].ErrorCode != 0 || cr.Results[1].ErrorCode != kerr.InvalidRequest.Code || cr.Results[2].ErrorCode != kerr.InvalidRequest.Code {
		t.Fatalf("create results %+v, want ok, INVALID_REQUEST, INVALID_REQUEST", cr.Results)
	}
	if !strings.Contains(*cr.Results[1].ErrorMessage, "principal") || !strings.Contains(*cr.Results[2].ErrorMessage, acl.ClusterName) {
		t.Fatalf("messages %q, %q", *cr.Results[1].ErrorMessage, *cr.Results[2].ErrorMessage)
	}
	// MATCH: every binding that applies to topic orders.eu.
	dr := kmsg.NewPtrDescribeACLsRequest()
	dr.ResourceType, dr.ResourceName, dr.ResourcePatternType = kmsg.ACLResourceTypeTopic, kmsg.StringPtr("orders.eu"), kmsg.ACLResourcePatternTypeMatch
	dr.Operation, dr.PermissionType = kmsg.ACLOperationAny, kmsg.ACLPermissionTypeAny
	got := req[*kmsg.DescribeACLsResponse](t, srv.Client(t), dr)
	if got.ErrorCode != 0 || len(got.Resources) != 1 || got.Resources[0].ResourceName != "orders." || got.Resources[0].ResourcePatternType != kmsg.ACLResourcePatternTypePrefixed {
		t.Fatalf("MATCH orders.eu: %+v, want the PREFIXED orders. deny", got)
	}
	dr.ResourceName = kmsg.StringPtr("orders")
	if got := req[*kmsg.DescribeACLsResponse](t, srv.Client(t), dr); len(got.Resources) != 1 || len(got.Resources[0].ACLs) != 2 {
		t.Fatalf("MATCH orders: %+v, want alice's two LITERAL bindings", got)
	}
	// The ACLs are in force on a live connection at once.
	alice := srv.Node.ACL
	if !alice.Authorize("User:alice", "10.0.0.1", kmsg.ACLOperationRead, kmsg.ACLResourceTypeTopic, "orders") {
		t.Fatal("alice may not read orders")
	}
	srv.Restart(t)
	adm = kadm.NewClient(srv.Client(t))
	all := kmsg.NewPtrDescribeACLsRequest()
	all.ResourceType, all.ResourcePatternType = kmsg.ACLResourceTypeAny, kmsg.ACLResourcePatternTypeAny
	all.Operation, all.PermissionType = kmsg.ACLOperationAny, kmsg.ACLPermissionTypeAny
	n := 0
	for _, r := range req[*kmsg.DescribeACLsResponse](t, srv.Client(t), all).Resources {
		n += len(r.ACLs)
	}
	if n != 4 || srv.Node.ACL.Len() != 4 {
		t.Fatalf("after restart %d bindings described, %d loaded; want 4", n, srv.Node.ACL.Len())
	}
	del, err := adm.DeleteACLs(ctx, kadm.NewACLs().Allow("User:alice").AllowHosts().AnyResource().ResourcePatternType(kadm.ACLPatternAny).Operations(kadm.OpAny))
	if err != nil {
		t.Fatal(err)
	}
	n = 0
	for _, r := range del {
		n += len(r.Deleted)
	}
	if n != 3 || srv.Node.ACL.Len() != 1 {
		t.Fatalf("deleted %d, %d left; want 3 deleted, 1 left", n, srv.Node.ACL.Len())
	}
}

// TestACLAPIsWithoutAuthorizer: SECURITY_DISABLED, as Kafka.
func TestACLAPIsWithoutAuthorizer(t *testing.T) {
	srv := kafkatest.Start(t)
	cl := srv.Client(t)
	r := kmsg.NewPtrDescribeACLsRequest()
	r.ResourceType, r.ResourcePatternType, r.Operation, r.PermissionType = kmsg.ACLResourceTypeAny, kmsg.ACLResourcePatternTypeAny, kmsg.ACLOperationAny, kmsg.ACLPermissionTypeAny
	if code := req[*kmsg.DescribeACLsResponse](t, cl, r).ErrorCode; code != kerr.SecurityDisabled.Code {
		t.Fatalf("DescribeAcls: %v", kerr.ErrorForCode(code))
	}
	c := kmsg.NewPtrCreateACLsRequest()
	c.Creations = []kmsg.CreateACLsRequestCreation{kmsg.NewCreateACLsRequestCreation()}
	if code := req[*kmsg.CreateACLsResponse](t, cl, c).Results[0].ErrorCode; code != kerr.SecurityDisabled.Code {
		t.Fatalf("CreateAcls: %v", kerr.ErrorForCode(code))
	}
	d := kmsg.NewPtrDeleteACLsRequest()
	d.Filters = []kmsg.DeleteACLsRequestFilter{kmsg.NewDeleteACLsRequestFilter()}
	if code := req[*kmsg.DeleteACLsResponse](t, cl, d).Results[0].ErrorCode; code != kerr.SecurityDisabled.Code {
		t.Fatalf("DeleteAcls: %v", kerr.ErrorForCode(code))
	}
}

// TestACLHostMatch: an ACL for another host does not apply; one for the
// client's address does, changed on a live connection without reconnecting.
func TestACLHostMatch(t *testing.T) {
	srv := startACLNode(t, acl.Options{})
	if _, err := srv.Broker.CreateTopic("h", 1, nil, false); err != nil {
		t.Fatal(err)
	}
	cl := srv.Client(t)
	metadata := func() int16 {
		r := kmsg.NewPtrMetadataRequest()
		mt := kmsg.NewMetadataRequestTopic()
		mt.Topic = kmsg.StringPtr("h")
		r.Topics = append(r.Topics, mt)
		return req[*kmsg.MetadataResponse](t, cl, r).Topics[0].ErrorCode
	}
	at := func(host string) acl.Binding {
		b := allowACL(kmsg.ACLOperationDescribe, kmsg.ACLResourceTypeTopic, "h")
		b.Host = host
		return b
	}
	setACLs(t, srv.Node.ACL, at("10.9.9.9"))
	if code := metadata(); code != kerr.TopicAuthorizationFailed.Code {
		t.Fatalf("ACL for 10.9.9.9, client on 127.0.0.1: %v", kerr.ErrorForCode(code))
	}
	setACLs(t, srv.Node.ACL, at("127.0.0.1"))
	if code := metadata(); code != 0 {
		t.Fatalf("ACL for 127.0.0.1: %v", kerr.ErrorForCode(code))
	}
	setACLs(t, srv.Node.ACL, at("127.0.0.1"), acl.Binding{ResourceType: kmsg.ACLResourceTypeTopic, ResourceName: "h", PatternType: kmsg.ACLResourcePatternTypeLiteral,
		Principal: "User:*", Host: "127.0.0.1", Operation: kmsg.ACLOperationAll, Permission: kmsg.ACLPermissionTypeDeny})
	if code := metadata(); code != kerr.TopicAuthorizationFailed.Code {
		t.Fatalf("DENY ALL for User:* from 127.0.0.1 added: %v", kerr.ErrorForCode(code))
	}
}

// TestACLKcat: librdkafka (kcat) is refused as Kafka refuses it, and is
// let in by an ACL created while it is refused.
func TestACLKcat(t *testing.T) {
	kcat := requireTool(t, "kcat")
	srv := startACLNode(t, acl.Options{})
	if _, err := srv.Broker.CreateTopic("kc", 1, nil, false); err != nil {
		t.Fatal(err)
	}
	setACLs(t, srv.Node.ACL, allowACL(kmsg.ACLOperationDescribe, kmsg.ACLResourceTypeTopic, "kc"))
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, kcat, "-b", srv.Addr, "-P", "-t", "kc", "-X", "enable.idempotence=false", "-X", "message.timeout.ms=5000")
	cmd.Stdin = strings.NewReader("v\n")
	out, err := cmd.CombinedOutput()
	if err == nil || !strings.Contains(strings.ToLower(string(out)), "authoriz") {
		t.Fatalf("kcat produce without WRITE: %v\n%s", err, out)
	}
	setACLs(t, srv.Node.ACL, allowACL(kmsg.ACLOperationWrite, kmsg.ACLResourceTypeTopic, "kc"), allowACL(kmsg.ACLOperationRead, kmsg.ACLResourceTypeTopic, "kc"))
	runTool(t, "v\n", kcat, "-b", srv.Addr, "-P", "-t", "kc")
	if got := runTool(t, "", kcat, "-b", srv.Addr, "-C", "-t", "kc", "-o", "beginning", "-e"); strings.TrimSpace(got) != "v" {
		t.Fatalf("kcat consume: %q", got)
	}
}
