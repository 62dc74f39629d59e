package probes

import "github.com/twmb/franz-go/pkg/kmsg"

func kmsgCreateTopics(name string) *kmsg.CreateTopicsRequest {
	req := kmsg.NewPtrCreateTopicsRequest()
	req.Version, req.TimeoutMillis = 5, 10000
	rt := kmsg.NewCreateTopicsRequestTopic()
	rt.Topic, rt.NumPartitions, rt.ReplicationFactor = name, 1, 1
	req.Topics = append(req.Topics, rt)
	return req
}

func kmsgCreateTopicsResponse() *kmsg.CreateTopicsResponse {
	r := kmsg.NewPtrCreateTopicsResponse()
	r.Version = 5
	return r
}

func kmsgMetadata(topic string) *kmsg.MetadataRequest {
	req := kmsg.NewPtrMetadataRequest()
	req.Version, req.AllowAutoTopicCreation = 9, true
	rt := kmsg.NewMetadataRequestTopic()
	rt.Topic = kmsg.StringPtr(topic)
	req.Topics = append(req.Topics, rt)
	return req
}

func kmsgMetadataResponse() *kmsg.MetadataResponse {
	r := kmsg.NewPtrMetadataResponse()
	r.Version = 9
	return r
}
