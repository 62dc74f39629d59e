#!/usr/bin/env bash
# Profile Eddy's produce, fetch and end-to-end paths under `eddy bench` load
# and save `go tool pprof -top` summaries in docs/profiles/.
#
#   bench/profile.sh [seconds]      # default 10 s per profile
#
# The server is a real `eddy serve` child with --pprof-addr set; the load
# comes from `eddy bench` in another process, so the profiles hold only
# broker code. Allocation profiles are the difference of two heap snapshots
# (-base) taken around the load, so they show what the load allocated.
set -euo pipefail
cd "$(dirname "$0")/.."
secs=${1:-10}
work=$(mktemp -d /var/tmp/eddy-profile.XXXXXX)
out=${OUT:-docs/profiles}
mkdir -p "$out"
go build -o "$work/eddy" ./cmd/eddy

port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
kport=$(port); hport=$(port); pport=$(port)
"$work/eddy" serve --pprof-addr 127.0.0.1:$pport --data-dir "$work/data" \
	--kafka-addr 127.0.0.1:$kport --http-addr 127.0.0.1:$hport --fsync "${FSYNC:-always}" --log-level warn \
	>"$work/serve.log" 2>&1 &
srv=$!
trap 'kill $srv 2>/dev/null; wait $srv 2>/dev/null; rm -rf "$work"' EXIT
for _ in $(seq 100); do
	curl -sf "http://127.0.0.1:$hport/readyz" >/dev/null && break
	sleep 0.1
done
pp=http://127.0.0.1:$pport/debug/pprof
bench() { "$work/eddy" bench --brokers 127.0.0.1:$kport --progress 0 "$@"; }

summarize() { # name cpu.pb heap-before.pb heap-after.pb
	local name=$1
	{
		echo "# $name: CPU, eddy serve (fsync=${FSYNC:-always}) under: $LOAD"
		echo "# $(date -u +%FT%TZ) $(nproc) CPUs; go tool pprof -top -nodecount=40"
		go tool pprof -top -nodecount=40 "$work/eddy" "$2" 2>/dev/null
		echo
		echo "# cumulative, Eddy's own code paths: go tool pprof -top -cum -focus=eddy-streaming -nodecount=35"
		go tool pprof -top -cum -focus=eddy-streaming -nodecount=35 "$work/eddy" "$2" 2>/dev/null | sed -n '/flat%/,$p'
	} >"$out/$name-cpu.txt"
	{
		echo "# $name: allocations (alloc_space, after minus before), same load"
		echo "# go tool pprof -top -sample_index=alloc_space -base before after"
		go tool pprof -top -nodecount=40 -sample_index=alloc_space -base "$3" "$work/eddy" "$4" 2>/dev/null
		echo
		echo "# alloc_objects"
		go tool pprof -top -nodecount=25 -sample_index=alloc_objects -base "$3" "$work/eddy" "$4" 2>/dev/null
	} >"$out/$name-alloc.txt"
}

# Produce: 100-byte records, 1 partition, one producer, acks=all, linger 5 ms.
LOAD="eddy bench produce --record-size 100 --linger 5ms --acks all (1 partition, 1 producer) for ${secs}s"
curl -sf "$pp/allocs" -o "$work/p-before.pb"
bench produce --topic prof-p --records 1000000000 --duration "$((secs + 2))s" --record-size 100 --linger 5ms >"$work/produce.txt" &
load=$!
sleep 1
curl -sf "$pp/profile?seconds=$secs" -o "$work/p-cpu.pb"
wait $load
curl -sf "$pp/allocs" -o "$work/p-after.pb"
summarize produce "$work/p-cpu.pb" "$work/p-before.pb" "$work/p-after.pb"
cat "$work/produce.txt"

# Fetch: preload 1 KiB records, then consume them from the start in a loop.
bench produce --topic prof-f --records 300000 --record-size 1024 --linger 5ms --json >/dev/null
LOAD="eddy bench consume of 300000 1 KiB records from the start, repeated for ${secs}s"
curl -sf "$pp/allocs" -o "$work/f-before.pb"
(
	end=$((SECONDS + secs + 2))
	while [ $SECONDS -lt $end ]; do bench consume --topic prof-f >>"$work/fetch.txt"; done
) &
load=$!
sleep 1
curl -sf "$pp/profile?seconds=$secs" -o "$work/f-cpu.pb"
wait $load
curl -sf "$pp/allocs" -o "$work/f-after.pb"
summarize fetch "$work/f-cpu.pb" "$work/f-before.pb" "$work/f-after.pb"
grep '^consume' "$work/fetch.txt" | head -3
# End to end: one producer at 10,000 records/s of 100 B (acks=all, linger 0)
# and a consumer parked on the partition: per-request costs (wake-ups,
# syscalls, allocations per request) rather than per-byte ones.
LOAD="eddy bench e2e --rate 10000 --record-size 100 (linger 0, acks all, a separate consumer) for ${secs}s"
curl -sf "$pp/allocs" -o "$work/e-before.pb"
bench e2e --topic prof-e --rate 10000 --records $((secs * 10000 + 20000)) --record-size 100 >"$work/e2e.txt" &
load=$!
sleep 1
curl -sf "$pp/profile?seconds=$secs" -o "$work/e-cpu.pb"
wait $load
curl -sf "$pp/allocs" -o "$work/e-after.pb"
summarize e2e "$work/e-cpu.pb" "$work/e-before.pb" "$work/e-after.pb"
cat "$work/e2e.txt"

echo "profiles in $out"
