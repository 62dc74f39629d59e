package kafka

import (
	"context"
	"errors"

	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/eddy-streaming/eddy/internal/auth"
)

// AlterUserScramCredentials: v0 (KIP-554)
//
// Behaviour:
//   - Upsertions carry the salt, the iteration count and the salted
//     password (the client derives it, so the password never travels);
//     the server stores only the salt, the iterations, StoredKey and
//     ServerKey (auth.Users), durably before answering.
//   - One result per user. A user's alterations apply together or not
//     at all: the first problem is its result and none of its changes is
//     made. Problems: empty name (UNACCEPTABLE_CREDENTIAL), unknown
//     mechanism (UNSUPPORTED_SASL_MECHANISM), iterations outside
//     4096-16384 or an empty salt (UNACCEPTABLE_CREDENTIAL), the same user
//     and mechanism twice in one request (DUPLICATE_RESOURCE), deleting a
//     credential that does not exist (RESOURCE_NOT_FOUND).
//   - Connections already authenticated stay so; new logins use the new
//     credentials at once.
//   - Needs ALTER on the cluster; without it every user's result is
//     CLUSTER_AUTHORIZATION_FAILED and nothing changes, as in Kafka.
func init() { Register(kmsg.AlterUserSCRAMCredentials, 0, 0, handleAlterUserScram) }

type scramAlteration struct {
	del  bool
	mech auth.Mechanism
	cred auth.Credential
}

func handleAlterUserScram(_ context.Context, s *Server, req *Request) Reply {
	r := req.Msg.(*kmsg.AlterUserSCRAMCredentialsRequest)
	resp := r.ResponseKind().(*kmsg.AlterUserSCRAMCredentialsResponse)
	var order []string
	byUser := map[string][]scramAlteration{}
	fail := map[string]kmsg.AlterUserSCRAMCredentialsResponseResult{}
	seen := map[string]bool{}
	setFail := func(user string, code int16, msg string) {
		if _, ok := fail[user]; ok {
			return
		}
		res := kmsg.NewAlterUserSCRAMCredentialsResponseResult()
		res.User, res.ErrorCode, res.ErrorMessage = user, code, strPtr(msg)
		fail[user] = res
	}
	add := func(user string, mech int8, a scramAlteration) {
		if _, ok := byUser[user]; !ok {
			order = append(order, user)
			byUser[user] = nil
		}
		m := auth.Mechanism(mech)
		key := user + "\x00" + m.String()
		switch {
		case user == "":
			setFail(user, kerr.UnacceptableCredential.Code, "Username must not be empty")
		case m != auth.ScramSHA256 && m != auth.ScramSHA512:
			setFail(user, kerr.UnsupportedSaslMechanism.Code, "Unknown SCRAM mechanism")
		case seen[key]:
			setFail(user, kerr.DuplicateResource.Code, "A user credential cannot be altered twice in the same request")
		}
		seen[key] = true
		a.mech = m
		byUser[user] = append(byUser[user], a)
	}
	for _, d := range r.Deletions {
		add(d.Name, d.Mechanism, scramAlteration{del: true})
	}
	for _, u := range r.Upsertions {
		c := auth.CredentialFromSaltedPassword(auth.Mechanism(u.Mechanism), int(u.Iterations), u.Salt, u.SaltedPassword)
		if err := auth.CheckCredential(u.Name, c); err != nil && u.Name != "" && (u.Mechanism == int8(auth.ScramSHA256) || u.Mechanism == int8(auth.ScramSHA512)) {
			msg := err.Error()
			switch {
			case u.Iterations < auth.MinIterations:
				msg = "Too few iterations"
			case u.Iterations > auth.MaxIterations:
				msg = "Too many iterations"
			case len(u.SaltedPassword) == 0:
				msg = "Salted password must not be empty"
			}
			setFail(u.Name, kerr.UnacceptableCredential.Code, msg)
		} else if len(u.SaltedPassword) == 0 && u.Name != "" {
			setFail(u.Name, kerr.UnacceptableCredential.Code, "Salted password must not be empty")
		}
		add(u.Name, u.Mechanism, scramAlteration{cred: c})
	}
	denied := !s.allowedCluster(req, opAlter)
	for _, user := range order {
		if denied {
			// Authorization comes before any check of the request.
			delete(fail, user)
			setFail(user, kerr.ClusterAuthorizationFailed.Code, msgClusterAuth)
		}
		if res, ok := fail[user]; ok {
			s.countErr(req, res.ErrorCode)
			resp.Results = append(resp.Results, res)
			continue
		}
		res := kmsg.NewAlterUserSCRAMCredentialsResponseResult()
		res.User = user
		if code, msg := s.applyScram(user, byUser[user]); code != 0 {
			res.ErrorCode, res.ErrorMessage = code, strPtr(msg)
			s.countErr(req, code)
		}
		resp.Results = append(resp.Results, res)
	}
	return Respond(resp)
}

// applyScram makes one user's alterations after checking that every
// deletion has something to delete.
func (s *Server) applyScram(user string, as []scramAlteration) (int16, string) {
	users := s.cfg.Users
	if users == nil {
		return kerr.UnsupportedVersion.Code, "this server keeps no SCRAM credentials"
	}
	for _, a := range as {
		if _, ok := users.Lookup(user, a.mech); a.del && !ok {
			return kerr.ResourceNotFound.Code, "Attempt to delete a user credential that does not exist"
		}
	}
	for _, a := range as {
		var err error
		if a.del {
			err = users.Delete(user, a.mech)
		} else {
			err = users.Upsert(user, a.cred)
		}
		if errors.Is(err, auth.ErrBadCredential) {
			return kerr.UnacceptableCredential.Code, err.Error()
		}
		if err != nil {
			s.log.Error("store SCRAM credential", "user", user, "err", err)
			return kerr.UnknownServerError.Code, "the credential could not be stored"
		}
	}
	return 0, ""
}
