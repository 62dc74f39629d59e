#!/usr/bin/env bash
# A/B two builds of the event store's HTTP append path, alternating (A B A B
# …) on one machine: each side is an `eddy serve` binary and the load
# generator of its tree (test/sdk's test binary, TestLoadgenRandomAppends
# with EDDY_LOADGEN_OWN: 32 clients, each appending one event at a time to a
# stream of its own with exact expected versions, fsync=always). Prints each
# run's appends/s and the CPU microseconds per append of the server (from
# /proc) and of the load generator (getrusage, through /usr/bin/time).
#
#   go build -o /tmp/eddy-new ./cmd/eddy && go test -c -o /tmp/es-new.test ./test/sdk/
#   bench/append-ab.sh /tmp/eddy-old /tmp/es-old.test /tmp/eddy-new /tmp/es-new.test [pairs]
#
# SECS (default 8) is the length of each run, CLIENTS (default 32) the
# number of clients. Data goes under WORK (default /var/tmp/eddy-append-ab)
# and is deleted after each run. Needs python3, curl and /usr/bin/time; only
# the servers this script starts are stopped.
set -euo pipefail
a_srv=$1 a_gen=$2 b_srv=$3 b_gen=$4 pairs=${5:-3}
work=${WORK:-/var/tmp/eddy-append-ab}
mkdir -p "$work"
port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
one() { # label server loadgen
	local kport hport srv c0 c1
	kport=$(port) hport=$(port)
	rm -rf "$work/data"
	"$2" serve --data-dir "$work/data" --kafka-addr "127.0.0.1:$kport" --http-addr "127.0.0.1:$hport" \
		--log-level warn >"$work/serve.log" 2>&1 &
	srv=$!
	for _ in $(seq 100); do curl -sf "http://127.0.0.1:$hport/readyz" >/dev/null && break; sleep 0.1; done
	# Create the topic outside the measured window.
	curl -sf -XPOST "http://127.0.0.1:$hport/v1/topics/ab/streams/warm" -d '{"events":[{"id":"w","type":"T"}]}' >/dev/null
	c0=$(awk '{print $14 + $15}' "/proc/$srv/stat")
	local ok=1
	/usr/bin/time -f "LOADGEN_CPU %U %S" -o "$work/time.txt" env EDDY_LOADGEN_URL="http://127.0.0.1:$hport" \
		EDDY_LOADGEN_OWN=1 EDDY_LOADGEN_TOPIC=ab EDDY_LOADGEN_SECONDS="${SECS:-8}" \
		EDDY_LOADGEN_CLIENTS="${CLIENTS:-32}" "$3" -test.run TestLoadgenRandomAppends -test.v >"$work/run.txt" 2>&1 || ok=0
	c1=$(awk '{print $14 + $15}' "/proc/$srv/stat")
	kill "$srv"
	wait "$srv" 2>/dev/null || true
	rm -rf "$work/data"
	if [[ $ok == 0 ]]; then
		cat "$work/run.txt" >&2
		echo "load generator $3 failed against $2" >&2
		exit 1
	fi
	python3 - "$1" "$((c1 - c0))" "$work/run.txt" "$work/time.txt" <<'PY'
import os, re, sys
label, ticks, run, tm = sys.argv[1], int(sys.argv[2]), open(sys.argv[3]).read(), open(sys.argv[4]).read()
m = re.search(r"(\d+) appends in ([\d.]+) s = (\d+)/s, (\d+) errors", run)
if not m:
    sys.exit("no result line in the load generator's output:\n" + run)
n, errors = int(m.group(1)), int(m.group(4))
u, s = map(float, re.search(r"LOADGEN_CPU ([\d.]+) ([\d.]+)", tm).groups())
hz = os.sysconf("SC_CLK_TCK")
print(f"{label}  {int(m.group(3)):6d} appends/s  server {ticks / hz * 1e6 / n:5.1f} CPU-µs/append  "
      f"load generator {(u + s) * 1e6 / n:5.1f} CPU-µs/append  errors {errors}")
PY
}
for _ in $(seq "$pairs"); do
	one A "$a_srv" "$a_gen"
	one B "$b_srv" "$b_gen"
done
