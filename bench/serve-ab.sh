#!/usr/bin/env bash
# A/B two eddy builds under the same `eddy bench produce` load, alternating
# (A B A B …) on one machine, and print records/s and the broker's CPU
# seconds per GB (user+system from /proc, over the whole run) for each run,
# and the load generator's too (on one machine the two share the cores, so
# total CPU per GB is what bounds throughput when the cores are the limit).
#
#   bench/serve-ab.sh OLD_EDDY NEW_EDDY [pairs] -- [eddy bench produce flags]
#   bench/serve-ab.sh /tmp/eddy-old /tmp/eddy-new 3 -- --record-size 1024 --partitions 6 --producers 4
#
# FSYNC (default always) is the servers' --fsync; SECS (default 5) the
# length of each run. Data goes under WORK (default /var/tmp/eddy-ab, on
# the disk being measured) and is deleted after each run. Needs python3 and
# curl; only the servers this script starts are stopped.
set -euo pipefail
old=$1 new=$2 pairs=${3:-3}
shift 3 || true
[[ ${1:-} == -- ]] && shift
flags=("$@")
work=${WORK:-/var/tmp/eddy-ab}
mkdir -p "$work"
port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
one() { # label binary
	local kport hport srv u0 s0 u1 s1
	kport=$(port) hport=$(port)
	rm -rf "$work/data"
	"$2" serve --data-dir "$work/data" --kafka-addr "127.0.0.1:$kport" --http-addr "127.0.0.1:$hport" \
		--fsync "${FSYNC:-always}" --log-level warn >"$work/serve.log" 2>&1 &
	srv=$!
	for _ in $(seq 100); do curl -sf "http://127.0.0.1:$hport/readyz" >/dev/null && break; sleep 0.1; done
	if ! kill -0 "$srv" 2>/dev/null; then # e.g. a port taken in between: skip this run
		echo "$1 server did not start: $(tail -1 "$work/serve.log")" >&2
		rm -rf "$work/data"
		return 0
	fi
	read -r u0 s0 < <(awk '{print $14, $15}' "/proc/$srv/stat")
	local ok=1 cu cs
	local TIMEFORMAT='%U %S'
	{ time "$new" bench produce --brokers "127.0.0.1:$kport" --topic ab --records 1000000000 \
		--duration "${SECS:-5}s" --progress 0 --json "${flags[@]}" >"$work/run.json" 2>"$work/bench.err" || ok=0; } 2>"$work/time.txt"
	read -r cu cs <"$work/time.txt"
	read -r u1 s1 < <(awk '{print $14, $15}' "/proc/$srv/stat")
	kill "$srv"
	wait "$srv" 2>/dev/null || true
	if [[ $ok == 0 ]]; then
		rm -rf "$work/data"
		echo "eddy bench produce failed against $2" >&2
		exit 1
	fi
	rm -rf "$work/data"
	python3 - "$1" "$((u1 - u0))" "$((s1 - s0))" "$work/run.json" "$cu" "$cs" <<'PY'
import json, os, sys
label, user, sys_, path = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), sys.argv[4]
client = float(sys.argv[5]) + float(sys.argv[6])
j = json.load(open(path))
hz = os.sysconf("SC_CLK_TCK")
cpu = (user + sys_) / hz
gb = j['bytes'] / 1e9
print(f"{label:4} {j['records_per_sec']:10.0f} records/s {j['mb_per_sec']:7.1f} MB/s  broker CPU {cpu:5.2f} s "
      f"(user {user / hz:.2f}, sys {sys_ / hz:.2f}) = {cpu / gb:.2f} s/GB  client {client / gb:.2f} s/GB  total {(cpu + client) / gb:.2f} s/GB")
PY
}
for _ in $(seq "$pairs"); do
	one A "$old" "$@"
	one B "$new" "$@"
done
