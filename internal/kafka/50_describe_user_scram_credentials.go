package kafka

import (
	"context"

	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/eddy-streaming/eddy/internal/auth"
)

// DescribeUserScramCredentials: v0 (KIP-554)
//
// Behaviour:
//   - No users in the request (null or empty): every user with a
//     credential, sorted by name.
//   - A named user without credentials: RESOURCE_NOT_FOUND; a name given
//     twice: DUPLICATE_RESOURCE for it.
//   - Each credential is reported as its mechanism and iteration count
//     only; salts and keys never leave the server.
//   - Without a user store (Config.Users nil): RESOURCE_NOT_FOUND for every
//     named user and an empty list otherwise.
func init() { Register(kmsg.DescribeUserSCRAMCredentials, 0, 0, handleDescribeUserScram) }

func handleDescribeUserScram(_ context.Context, s *Server, req *Request) Reply {
	r := req.Msg.(*kmsg.DescribeUserSCRAMCredentialsRequest)
	resp := r.ResponseKind().(*kmsg.DescribeUserSCRAMCredentialsResponse)
	if !s.allowedCluster(req, opDescribe) {
		resp.ErrorCode, resp.ErrorMessage = kerr.ClusterAuthorizationFailed.Code, errMsg(msgClusterAuth)
		s.countErr(req, resp.ErrorCode)
		return Respond(resp)
	}
	var all []auth.UserInfo
	if s.cfg.Users != nil {
		all = s.cfg.Users.List()
	}
	result := func(ui auth.UserInfo) kmsg.DescribeUserSCRAMCredentialsResponseResult {
		res := kmsg.NewDescribeUserSCRAMCredentialsResponseResult()
		res.User = ui.Name
		for _, c := range ui.Credentials {
			ci := kmsg.NewDescribeUserSCRAMCredentialsResponseResultCredentialInfo()
			ci.Mechanism, ci.Iterations = int8(c.Mechanism), int32(c.Iterations)
			res.CredentialInfos = append(res.CredentialInfos, ci)
		}
		return res
	}
	if len(r.Users) == 0 {
		for _, ui := range all {
			resp.Results = append(resp.Results, result(ui))
		}
		return Respond(resp)
	}
	byName := make(map[string]auth.UserInfo, len(all))
	for _, ui := range all {
		byName[ui.Name] = ui
	}
	count := map[string]int{}
	for _, u := range r.Users {
		count[u.Name]++
	}
	reported := map[string]bool{}
	for _, u := range r.Users {
		if reported[u.Name] {
			continue
		}
		reported[u.Name] = true
		res := kmsg.NewDescribeUserSCRAMCredentialsResponseResult()
		res.User = u.Name
		ui, ok := byName[u.Name]
		switch {
		case count[u.Name] > 1:
			res.ErrorCode = kerr.DuplicateResource.Code
			res.ErrorMessage = strPtr("Cannot describe SCRAM credentials for the same user twice in a single request: " + u.Name)
		case !ok:
			res.ErrorCode = kerr.ResourceNotFound.Code
			res.ErrorMessage = strPtr("Attempt to describe a user credential that does not exist: " + u.Name)
		default:
			res = result(ui)
		}
		s.countErr(req, res.ErrorCode)
		resp.Results = append(resp.Results, res)
	}
	return Respond(resp)
}

func strPtr(s string) *string { return &s }
