package kafka

import (
	"context"
	"strconv"

	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/eddy-streaming/eddy/internal/broker"
)

// DescribeConfigs: v1-4
//
// Behaviour:
//   - Topics: every topic config Eddy knows (or the requested names), with
//     source DYNAMIC_TOPIC_CONFIG for overrides and DEFAULT_CONFIG
//     otherwise; unknown topics UNKNOWN_TOPIC_OR_PARTITION.
//   - Broker (name "" or our node id): a few read-only static configs
//     (auto.create.topics.enable, num.partitions, message.max.bytes,
//     log.dirs, and the topic defaults under their broker names).
//   - Groups: the share-group configs (internal/share), source
//     GROUP_CONFIG for overrides.
//   - Other resource types: INVALID_REQUEST.
//
// Version notes: v1 is Kafka 4's minimum (Source, synonyms); v3 ConfigType
// and Documentation; v4 flexible.
func init() { Register(kmsg.DescribeConfigs, 1, 4, handleDescribeConfigs) }

func handleDescribeConfigs(_ context.Context, s *Server, req *Request) Reply {
	r := req.Msg.(*kmsg.DescribeConfigsRequest)
	resp := r.ResponseKind().(*kmsg.DescribeConfigsResponse)
	for _, rr := range r.Resources {
		res := kmsg.NewDescribeConfigsResponseResource()
		res.ResourceType, res.ResourceName = rr.ResourceType, rr.ResourceName
		var want map[string]bool
		if rr.ConfigNames != nil {
			want = map[string]bool{}
			for _, n := range rr.ConfigNames {
				want[n] = true
			}
		}
		add := func(name, value string, src kmsg.ConfigSource, readOnly bool, kind broker.ConfigKind, doc string) {
			if want != nil && !want[name] {
				return
			}
			c := kmsg.NewDescribeConfigsResponseResourceConfig()
			c.Name = name
			v := value
			c.Value = &v
			c.Source = src
			c.ReadOnly = readOnly
			c.IsDefault = src == kmsg.ConfigSourceDefaultConfig
			c.ConfigType = kmsg.ConfigType(kind)
			if r.IncludeDocumentation && doc != "" {
				d := doc
				c.Documentation = &d
			}
			if r.IncludeSynonyms {
				syn := kmsg.NewDescribeConfigsResponseResourceConfigConfigSynonym()
				syn.Name, syn.Value, syn.Source = name, c.Value, src
				c.ConfigSynonyms = append(c.ConfigSynonyms, syn)
			}
			res.Configs = append(res.Configs, c)
		}
		if code, msg := s.configDenied(req, opDescribeConfigs, rr.ResourceType, rr.ResourceName); code != 0 {
			res.ErrorCode, res.ErrorMessage = code, msg
			s.countErr(req, res.ErrorCode)
			resp.Resources = append(resp.Resources, res)
			continue
		}
		switch rr.ResourceType {
		case kmsg.ConfigResourceTypeTopic:
			entries, err := s.b.DescribeTopicConfigs(rr.ResourceName)
			if err != nil {
				res.ErrorCode = ErrorCode(err)
				res.ErrorMessage = errMessage(err)
				break
			}
			for _, e := range entries {
				src := kmsg.ConfigSourceDynamicTopicConfig
				if e.Default {
					src = kmsg.ConfigSourceDefaultConfig
				}
				add(e.Name, e.Value, src, false, e.Kind, e.Doc)
			}
		case kmsg.ConfigResourceTypeBroker:
			if rr.ResourceName != "" && rr.ResourceName != strconv.Itoa(int(NodeID)) {
				res.ErrorCode = kerr.InvalidRequest.Code
				msg := "unknown broker " + rr.ResourceName
				res.ErrorMessage = &msg
				break
			}
			d := s.b.TopicDefaults()
			static := kmsg.ConfigSourceStaticBrokerConfig
			add("auto.create.topics.enable", strconv.FormatBool(s.b.AutoCreateEnabled()), static, true, broker.KindString, "")
			add("num.partitions", strconv.Itoa(int(s.b.DefaultPartitions())), static, true, broker.KindInt, "")
			add("default.replication.factor", "1", static, true, broker.KindInt, "")
			add("log.dirs", s.b.DataDir(), static, true, broker.KindString, "")
			add("message.max.bytes", strconv.FormatInt(d.MaxMessageBytes, 10), static, true, broker.KindInt, "")
			add("log.retention.ms", strconv.FormatInt(d.RetentionMs, 10), static, true, broker.KindLong, "")
			add("log.retention.bytes", strconv.FormatInt(d.RetentionBytes, 10), static, true, broker.KindLong, "")
			add("log.segment.bytes", strconv.FormatInt(d.SegmentBytes, 10), static, true, broker.KindInt, "")
			add("log.roll.ms", strconv.FormatInt(d.SegmentMs, 10), static, true, broker.KindLong, "")
			add("log.message.timestamp.type", d.TimestampType, static, true, broker.KindString, "")
			add("socket.request.max.bytes", strconv.Itoa(int(s.cfg.MaxRequestBytes)), static, true, broker.KindInt, "")
		case kmsg.ConfigResourceTypeGroupConfig:
			res.ErrorCode, res.ErrorMessage = s.describeGroupConfigs(rr.ResourceName, add)
		default:
			res.ErrorCode = kerr.InvalidRequest.Code
			msg := "only topic, broker and group configs can be described"
			res.ErrorMessage = &msg
		}
		s.countErr(req, res.ErrorCode)
		resp.Resources = append(resp.Resources, res)
	}
	return Respond(resp)
}
