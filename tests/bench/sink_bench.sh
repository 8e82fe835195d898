#!/usr/bin/env bash
# Benchmark of the sink (issue #5). Prints figures; it is not a pass/fail test
# and CI does not run it.
#
#   bash tests/bench/sink_bench.sh [BUILD_DIR]      (default build/)
#   N=100000 LIGHT=1000 bash tests/bench/sink_bench.sh
#   LATENCIES="0 100" BACKLOG_ONLY=1 BENCH_SINK="use_composite = true;" bash tests/bench/sink_bench.sh
#   STEPS="backlog rss10" LATENCIES=0 BENCH_KAFKA='properties = { ... };' bash tests/bench/sink_bench.sh
#
# It starts its own real Kafka broker (tests/kafka/broker.sh) and sfemu, then:
#   1. backlog: N insert commands already on a one-partition command topic,
#      sfbridge started, with sfemu adding 0 ms and then 100 ms to every call:
#      commands/s (first to last result timestamp), API calls per 1,000
#      commands (sfemu's counters), sfbridge CPU microseconds per command and
#      peak RSS (/proc), and the ceiling in_flight x records_per_call / latency
#      (with records_per_call both 200 and as measured);
#   1b. collections: the same with use_composite = false;
#   2. light load: LIGHT commands at 100 commands/s, one every 10 ms
#      (sfb_kafka_admin produce-paced), p50/p99 latency from the command's
#      produce timestamp to its result's timestamp;
#   3. RSS with 10 orgs configured and 10 partitions busy;
#   4. wide (only when named in STEPS): 20,000 commands over WIDE_PARTS
#      partitions (default 200) and 10 orgs: throughput and CPU per command
#      when a worker owns many partitions.
# BENCH_LOG=debug gives sfbridge's debug log (backlog and light steps).
set -euo pipefail
root=$(cd "$(dirname "$0")/../.." && pwd)
build=$(cd "${1:-$root/build}" && pwd)
N=${N:-100000}
LIGHT=${LIGHT:-1000}
sfbridge=$build/bridge/sfbridge
sfemu=$build/tests/emulator/sfemu
admin=$build/tests/kafka/sfb_kafka_admin
for b in "$sfbridge" "$sfemu" "$admin"; do
    [[ -x $b ]] || { echo "sink_bench: build first (missing $b)" >&2; exit 2; }
done
work=$build/bench/sink
rm -rf "$work"
mkdir -p "$work"
pids=()
cleanup() {
    for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
    for p in "${pids[@]}"; do wait "$p" 2>/dev/null || true; done
    bash "$root/tests/kafka/broker.sh" stop "$work/kafka" >/dev/null 2>&1 || true
}
trap cleanup EXIT

bash "$root/tests/kafka/broker.sh" start "$work/kafka" >/dev/null
boot=$(<"$work/kafka/bootstrap")
"$sfemu" --port 0 --api-limit 100000000 --cdc-entities none >"$work/sfemu.out" 2>"$work/sfemu.log" &
pids+=($!)
for _ in $(seq 100); do
    url=$(sed -n 's/.*listening on \(http[^ ]*\).*/\1/p' "$work/sfemu.out" | head -1)
    [[ -n $url ]] && break
    sleep 0.05
done
export SF_BENCH_SECRET=sfemu-sfbridge-secret
ctl() { curl -sf -X POST -H 'Content-Type: application/json' --data "$2" "$url/__sfemu/$1" >/dev/null; }
api_calls() { curl -sf "$url/__sfemu/counters" | jq '.api_calls.total'; }

# write_config FILE GROUP CMD_TOPIC ORGS PARTITIONS
write_config() {
    local file=$1 group=$2 topic=$3 orgs=$4 parts=$5 i
    {
        echo "kafka = { brokers = \"$boot\"; group = \"$group\"; ${BENCH_KAFKA:-} };"
        echo "orgs = ("
        for ((i = 0; i < orgs; i++)); do
            ((i == 0)) || echo ","
            echo "{ name = \"org$i\"; login_url = \"$url\"; auth = { flow = \"client_credentials\";"
            echo "  client_id = \"3MVG9sfemu.sfbridge.CONSUMERKEY\"; client_secret = \"\${SF_BENCH_SECRET}\"; }; }"
        done
        echo "); sink = { command_topic = \"$topic\"; result_topic = \"$topic.res\"; dead_letter_topic = \"$topic.dlq\";"
        echo "  batch_size = 200; linger_ms = 50; max_in_flight = 4; ${BENCH_SINK:-} partitions = ("
        for ((i = 0; i < parts; i++)); do
            ((i == 0)) || echo ","
            echo "{ partition = $i; org = \"org$((i % orgs))\"; }"
        done
        echo "); };"
    } >"$file"
}

gen() { # gen COUNT PREFIX
    awk -v n="$1" -v p="$2" 'BEGIN { for (i = 0; i < n; i++)
        printf "{\"op\":\"insert\",\"sobject\":\"Account\",\"command_id\":\"%s-%d\",\"fields\":{\"Name\":\"Bench %d\"}}\n", p, i, i }'
}

proc_cpu_us() { # utime+stime of PID in microseconds
    awk -v hz="$(getconf CLK_TCK)" '{ print ($14 + $15) * 1000000 / hz }' "/proc/$1/stat"
}
proc_hwm_kb() { awk '/VmHWM/ { print $2 }' "/proc/$1/status"; }

wait_committed() { # GROUP TOPIC TOTAL PID LOG
    local deadline=$((SECONDS + 900))
    while ((SECONDS < deadline)); do
        if ! kill -0 "$4" 2>/dev/null; then
            echo "sink_bench: sfbridge exited before $3 commits; its log ($5):" >&2
            tail -5 "$5" >&2
            exit 1
        fi
        local sum
        sum=$("$admin" -b "$boot" committed "$1" "$2" 2>/dev/null | awk '$2 > 0 { s += $2 } END { print s + 0 }')
        ((sum >= $3)) && return 0
        sleep 0.2
    done
    echo "sink_bench: timed out waiting for $3 commits" >&2
    exit 1
}

# backlog LATENCY_MS [SINK_SETTINGS [LABEL]]
backlog() {
    local lat=$1 extra=${2:-} label=${3:-} topic=bench.backlog.$1.$$.$RANDOM group=bench.g.$1.$$.$RANDOM
    ctl faults "{\"latency\":{\"fixed_ms\":$lat}}"
    "$admin" -b "$boot" create-topic "$topic" 1 >/dev/null
    "$admin" -b "$boot" create-topic "$topic.res" 1 >/dev/null
    "$admin" -b "$boot" create-topic "$topic.dlq" 1 >/dev/null
    gen "$N" "b$lat" >"$work/cmds.jsonl"
    kcat -P -b "$boot" -t "$topic" -p 0 -z lz4 -l "$work/cmds.jsonl"
    BENCH_SINK="${BENCH_SINK:-} $extra" write_config "$work/backlog$lat.conf" "$group" "$topic" 1 1
    ctl counters/reset '{}'
    local calls0
    calls0=$(api_calls)
    # BENCH_WRAP="heaptrack -o FILE" or "perf record -g -o FILE --" profiles the
    # run (its CPU and RSS figures are then the wrapper's, not sfbridge's).
    ${BENCH_WRAP:-} "$sfbridge" --log-level "${BENCH_LOG:-warn}" run -c "$work/backlog$lat.conf" 2>"$work/backlog$lat.log" &
    local pid=$!
    pids+=($pid)
    wait_committed "$group" "$topic" "$N" $pid "$work/backlog$lat.log"
    local cpu hwm calls
    cpu=$(proc_cpu_us $pid)
    hwm=$(proc_hwm_kb $pid)
    calls=$(($(api_calls) - calls0))
    kill -TERM $pid
    [[ -z ${BENCH_WRAP:-} ]] || pkill -TERM -f "^$sfbridge --log-level" || true
    wait $pid || true
    kcat -C -b "$boot" -t "$topic.res" -o beginning -e -q -f '%T\n' 2>/dev/null | sort -n >"$work/ts$lat"
    local first last
    first=$(head -1 "$work/ts$lat")
    last=$(tail -1 "$work/ts$lat")
    awk -v n="$N" -v lat="$lat" -v first="$first" -v last="$last" -v cpu="$cpu" -v hwm="$hwm" -v calls="$calls" -v label="$label" 'BEGIN {
        secs = (last - first) / 1000; if (secs <= 0) secs = 0.001
        rpc = calls > 0 ? n / calls : 0
        printf "backlog%s, sfemu latency %3d ms: %6d commands in %6.2f s = %8.0f commands/s\n", label, lat, n, secs, n / secs
        if (lat > 0) {
            printf "    ceiling in_flight x records_per_call / latency: 4 x 200 / %.3f s = %.0f/s, achieved %.0f%%\n", lat / 1000, 800 / (lat / 1000), 100 * (n / secs) / (800 / (lat / 1000))
            printf "    at the measured %.0f records per call: 4 x %.0f / %.3f s = %.0f/s, achieved %.0f%%\n", rpc, rpc, lat / 1000, 4 * rpc / (lat / 1000), 100 * (n / secs) / (4 * rpc / (lat / 1000))
        }
        printf "    API calls per 1,000 commands: %.2f (%d calls, %.0f records per call)\n", calls * 1000 / n, calls, rpc
        printf "    sfbridge CPU per command: %.2f us (whole process lifetime, %.2f s CPU)\n", cpu / n, cpu / 1e6
        printf "    sfbridge peak RSS: %.1f MB\n", hwm / 1024 }'
}

light() {
    local topic=bench.light.$$ group=bench.gl.$$
    ctl faults '{"latency":{"fixed_ms":0}}'
    "$admin" -b "$boot" create-topic "$topic" 1 >/dev/null
    "$admin" -b "$boot" create-topic "$topic.res" 1 >/dev/null
    "$admin" -b "$boot" create-topic "$topic.dlq" 1 >/dev/null
    write_config "$work/light.conf" "$group" "$topic" 1 1
    "$sfbridge" --log-level "${BENCH_LOG:-warn}" run -c "$work/light.conf" 2>"$work/light.log" &
    local pid=$!
    pids+=($pid)
    sleep 5 # join the group
    gen "$LIGHT" l >"$work/light.jsonl"
    # One command every 10 ms (a shell loop into kcat arrives in bursts).
    "$admin" -b "$boot" produce-paced "$topic" 0 100 <"$work/light.jsonl"
    wait_committed "$group" "$topic" "$LIGHT" $pid "$work/light.log"
    kill -TERM $pid
    wait $pid || true
    kcat -C -b "$boot" -t "$topic" -o beginning -e -q -f '%T %s\n' 2>/dev/null |
        sed -n 's/^\([0-9]*\) .*"command_id":"\([^"]*\)".*/\2 \1/p' | sort >"$work/sent"
    kcat -C -b "$boot" -t "$topic.res" -o beginning -e -q -f '%T %s\n' 2>/dev/null |
        sed -n 's/^\([0-9]*\) .*"command_id":"\([^"]*\)".*/\2 \1/p' | sort >"$work/got"
    join "$work/sent" "$work/got" | awk '{ print $3 - $2 }' | sort -n >"$work/lat"
    awk '{ v[NR] = $1 } END {
        p50 = int(NR * 0.50) + 1; if (p50 > NR) p50 = NR
        p99 = int(NR * 0.99) + 1; if (p99 > NR) p99 = NR
        printf "light load (100 commands/s, linger 50 ms, sfemu 0 ms): %d commands, latency produce -> result p50 %d ms, p99 %d ms, max %d ms\n", NR, v[p50], v[p99], v[NR] }' "$work/lat"
}

rss10() {
    local topic=bench.rss.$$ group=bench.gr.$$ p
    "$admin" -b "$boot" create-topic "$topic" 10 >/dev/null
    "$admin" -b "$boot" create-topic "$topic.res" 10 >/dev/null
    "$admin" -b "$boot" create-topic "$topic.dlq" 1 >/dev/null
    for p in $(seq 0 9); do
        gen 2000 "r$p" >"$work/rss$p.jsonl"
        kcat -P -b "$boot" -t "$topic" -p "$p" -l "$work/rss$p.jsonl"
    done
    write_config "$work/rss.conf" "$group" "$topic" 10 10
    ${BENCH_WRAP:-} "$sfbridge" --log-level warn run -c "$work/rss.conf" 2>"$work/rss.log" &
    local pid=$!
    pids+=($pid)
    wait_committed "$group" "$topic" 20000 $pid "$work/rss.log"
    echo "10 orgs, 10 partitions, 20,000 commands: sfbridge peak RSS $(awk '{ printf "%.1f", $1 / 1024 }' <<<"$(proc_hwm_kb $pid)") MB, $(ls /proc/$pid/task | wc -l) threads"
    kill -TERM $pid
    [[ -z ${BENCH_WRAP:-} ]] || pkill -TERM -f "^$sfbridge --log-level" || true
    wait $pid || true
}

# 20,000 commands spread over WIDE_PARTS partitions and 10 orgs: what a
# worker that owns many partitions costs per command.
wide() {
    local parts=${WIDE_PARTS:-200} topic=bench.wide.$$ group=bench.gw.$$ p total each
    each=$((20000 / parts))
    total=$((parts * each))
    "$admin" -b "$boot" create-topic "$topic" "$parts" >/dev/null
    "$admin" -b "$boot" create-topic "$topic.res" 10 >/dev/null
    "$admin" -b "$boot" create-topic "$topic.dlq" 1 >/dev/null
    ctl faults '{"latency":{"fixed_ms":0}}'
    for ((p = 0; p < parts; p++)); do
        gen "$each" "w$p" | sed "s/^/$p\t/"
    done | awk -F'\t' '{ print $2 > ("'"$work"'/wide" $1 ".jsonl") }'
    for ((p = 0; p < parts; p++)); do
        kcat -P -b "$boot" -t "$topic" -p "$p" -l "$work/wide$p.jsonl"
    done
    write_config "$work/wide.conf" "$group" "$topic" 10 "$parts"
    ${BENCH_WRAP:-} "$sfbridge" --log-level warn run -c "$work/wide.conf" 2>"$work/wide.log" &
    local pid=$!
    pids+=($pid)
    wait_committed "$group" "$topic" "$total" $pid "$work/wide.log"
    local cpu hwm
    cpu=$(proc_cpu_us $pid)
    hwm=$(proc_hwm_kb $pid)
    kill -TERM $pid
    wait $pid || true
    kcat -C -b "$boot" -t "$topic.res" -o beginning -e -q -f '%T\n' 2>/dev/null | sort -n >"$work/tswide"
    awk -v n="$total" -v parts="$parts" -v first="$(head -1 "$work/tswide")" -v last="$(tail -1 "$work/tswide")" -v cpu="$cpu" -v hwm="$hwm" 'BEGIN {
        secs = (last - first) / 1000; if (secs <= 0) secs = 0.001
        printf "%d partitions over 10 orgs, %d commands: %.0f commands/s, sfbridge CPU per command %.2f us, peak RSS %.1f MB\n", parts, n, n / secs, cpu / n, hwm / 1024 }'
}

echo "sink benchmark: N=$N, $(nproc) cores, $(git -C "$root" rev-parse --short HEAD)"
# STEPS picks some of the steps (BACKLOG_ONLY=1 is STEPS=backlog).
steps=${STEPS:-backlog collections light rss10}
[[ -z ${BACKLOG_ONLY:-} ]] || steps=backlog
for step in $steps; do
    case $step in
    backlog) for lat in ${LATENCIES-0 100}; do backlog "$lat"; done ;;
    # The same without composite: one sObject Collections call per batch.
    collections) for lat in ${LATENCIES-0 100}; do backlog "$lat" "use_composite = false;" " (use_composite = false)"; done ;;
    light | rss10 | wide) "$step" ;;
    *) echo "sink_bench: unknown step $step" >&2; exit 2 ;;
    esac
done
