// Package clients holds Eddy's compatibility tests with real Kafka clients
// and with the eddy CLI as a user runs it: the tests build the eddy binary,
// start `eddy serve` as a child process on loopback ports (both through
// internal/eddytest), and drive it with
// kcat, kafka-python and confluent-kafka (Debian packages; Python runs as
// /usr/bin/python3 so the system packages are found), kafkajs (pinned in
// testdata/kafkajs, installed there by npm ci) and with the eddy client
// subcommands through pipes and signals. The Python and JavaScript programs
// under testdata/ keep the tutorial's client code as written.
//
// A test whose client is missing skips, unless EDDY_REQUIRE_CLIENTS=1 (set
// by .ci/run), in which case it fails. The package has no non-test code.
package clients
