package kafka

import (
	"context"

	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kmsg"
)

// DescribeShareGroupOffsets: v0-1
//
// Behaviour: each share-partition's start offset (-1 while it has no
// state) and, v1+, its lag: records from the start offset to the high
// watermark not yet acknowledged or archived. A null topic list describes
// every partition the group has state for. An unknown group
// GROUP_ID_NOT_FOUND.
//
// Version notes: v1 adds Lag (KIP-1226).
func init() { Register(kmsg.DescribeShareGroupOffsets, 0, 1, handleDescribeShareGroupOffsets) }

func handleDescribeShareGroupOffsets(_ context.Context, s *Server, req *Request) Reply {
	r := req.Msg.(*kmsg.DescribeShareGroupOffsetsRequest)
	resp := r.ResponseKind().(*kmsg.DescribeShareGroupOffsetsResponse)
	c := s.shareCoord()
	for _, rg := range r.Groups {
		g := kmsg.NewDescribeShareGroupOffsetsResponseGroup()
		g.GroupID = rg.GroupID
		if c == nil {
			g.ErrorCode, g.ErrorMessage = shareErrCode(errNoShareCoordinator), errMessage(errNoShareCoordinator)
			resp.Groups = append(resp.Groups, g)
			continue
		}
		if !s.allowed(req, opDescribe, rtGroup, rg.GroupID) {
			g.ErrorCode, g.ErrorMessage = kerr.GroupAuthorizationFailed.Code, errMsg(msgGroupAuth)
			s.countErr(req, g.ErrorCode)
			resp.Groups = append(resp.Groups, g)
			continue
		}
		var filter map[string][]int32
		if rg.Topics != nil {
			filter = map[string][]int32{}
			for _, t := range rg.Topics {
				filter[t.Topic] = append(filter[t.Topic], t.Partitions...)
			}
		}
		offs, err := c.Offsets(rg.GroupID, filter)
		if err != nil {
			g.ErrorCode, g.ErrorMessage = shareErrCode(err), errMessage(err)
			s.countErr(req, g.ErrorCode)
			resp.Groups = append(resp.Groups, g)
			continue
		}
		idx := map[string]int{}
		for _, o := range offs {
			if !s.allowed(req, opDescribe, rtTopic, o.Topic) {
				continue // DESCRIBE on the topic, else left out
			}
			i, ok := idx[o.Topic]
			if !ok {
				i = len(g.Topics)
				idx[o.Topic] = i
				t := kmsg.NewDescribeShareGroupOffsetsResponseGroupTopic()
				t.Topic = o.Topic
				if info, err := s.b.Topic(o.Topic); err == nil {
					t.TopicID = info.ID
				}
				g.Topics = append(g.Topics, t)
			}
			p := kmsg.NewDescribeShareGroupOffsetsResponseGroupTopicPartition()
			p.Partition, p.StartOffset, p.Lag, p.LeaderEpoch = o.Partition, o.StartOffset, o.Lag, 0
			if _, err := s.b.Topic(o.Topic); err != nil {
				p.ErrorCode = kerr.UnknownTopicOrPartition.Code
			}
			g.Topics[i].Partitions = append(g.Topics[i].Partitions, p)
		}
		resp.Groups = append(resp.Groups, g)
	}
	return Respond(resp)
}
