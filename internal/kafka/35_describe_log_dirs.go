package kafka

import (
	"context"

	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kmsg"
)

// DescribeLogDirs: v1-4
//
// Behaviour: one log dir, the data directory, with every requested
// partition's size (null topics: all). OffsetLag is 0 (no replicas). v4
// reports the filesystem's total and usable bytes (-1 if unknown).
//
// Version notes: v1 is Kafka 4's minimum; v2 flexible; v3 top-level
// ErrorCode; v4 TotalBytes, UsableBytes.
func init() { Register(kmsg.DescribeLogDirs, 1, 4, handleDescribeLogDirs) }

func handleDescribeLogDirs(_ context.Context, s *Server, req *Request) Reply {
	r := req.Msg.(*kmsg.DescribeLogDirsRequest)
	resp := r.ResponseKind().(*kmsg.DescribeLogDirsResponse)
	if !s.allowedCluster(req, opDescribe) {
		// Kafka answers no directories (and, v3+, the error).
		resp.ErrorCode = kerr.ClusterAuthorizationFailed.Code
		s.countErr(req, resp.ErrorCode)
		return Respond(resp)
	}
	want := map[string]map[int32]bool{}
	for _, t := range r.Topics {
		m := want[t.Topic]
		if m == nil {
			m = map[int32]bool{}
			want[t.Topic] = m
		}
		for _, p := range t.Partitions {
			m[p] = true
		}
	}
	dir := kmsg.NewDescribeLogDirsResponseDir()
	dir.Dir = s.b.DataDir()
	dir.TotalBytes, dir.UsableBytes = diskSpace(dir.Dir)
	idx := map[string]int{}
	for _, ps := range s.b.Partitions() {
		if r.Topics != nil && !want[ps.Topic][ps.Partition] {
			continue
		}
		i, ok := idx[ps.Topic]
		if !ok {
			t := kmsg.NewDescribeLogDirsResponseDirTopic()
			t.Topic = ps.Topic
			dir.Topics = append(dir.Topics, t)
			i = len(dir.Topics) - 1
			idx[ps.Topic] = i
		}
		p := kmsg.NewDescribeLogDirsResponseDirTopicPartition()
		p.Partition, p.Size = ps.Partition, ps.Size
		dir.Topics[i].Partitions = append(dir.Topics[i].Partitions, p)
	}
	resp.Dirs = append(resp.Dirs, dir)
	return Respond(resp)
}
