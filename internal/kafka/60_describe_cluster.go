package kafka

import (
	"context"

	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/eddy-streaming/eddy/internal/acl"
)

// DescribeCluster: v0-1
//
// Behaviour: one broker (NodeID, advertised address), which is also the
// controller; the cluster id kept in meta.
//
// Version notes: v1 EndpointType (brokers or controllers; both answer this
// node).
func init() { Register(kmsg.DescribeCluster, 0, 1, handleDescribeCluster) }

func handleDescribeCluster(_ context.Context, s *Server, req *Request) Reply {
	r := req.Msg.(*kmsg.DescribeClusterRequest)
	resp := r.ResponseKind().(*kmsg.DescribeClusterResponse)
	resp.EndpointType = r.EndpointType
	if resp.EndpointType == 0 {
		resp.EndpointType = 1
	}
	resp.ClusterID = s.b.ClusterID()
	resp.ControllerID = NodeID
	host, port := s.advertised(req.Conn)
	b := kmsg.NewDescribeClusterResponseBroker()
	b.NodeID, b.Host, b.Port = NodeID, host, port
	resp.Brokers = append(resp.Brokers, b)
	// As Kafka, DescribeCluster needs no permission (Metadata lists the
	// brokers too); the authorized operations need DESCRIBE on the cluster.
	if r.IncludeClusterAuthorizedOperations {
		resp.ClusterAuthorizedOperations = 0
		if s.allowedCluster(req, opDescribe) {
			resp.ClusterAuthorizedOperations = s.authorizedOps(req, rtCluster, acl.ClusterName, clusterOps)
		}
	}
	return Respond(resp)
}
