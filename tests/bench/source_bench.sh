#!/usr/bin/env bash
# Benchmark of the source (issue #6). Prints figures; it is not a pass/fail
# test and CI does not run it.
#
#   bash tests/bench/source_bench.sh [BUILD_DIR]      (default build/)
#   N=50000 RATE_SECS=10 bash tests/bench/source_bench.sh build-src2
#
# It starts its own real Kafka broker (tests/kafka/broker.sh), sfemu and
# sfbridge (one org, one platform-event channel, a 3-partition topic), then:
#   1. throughput: N events published at once through sfemu's control API;
#      events/s = N / (time from the publish call to the last of them on the
#      topic), and the same from the Kafka timestamps of the first and last
#      message (sfbridge's own pace, without the polling of this script);
#   2. latency at ~1,000 events/s for RATE_SECS: 10 events every 10 ms;
#      p50/p99 of (the broker's append time of the message - the event's
#      CreatedDate in sfemu): from publish in sfemu to the write in Kafka
#      (the topic uses LogAppendTime; the ack leaves right after the write).
set -euo pipefail
root=$(cd "$(dirname "$0")/../.." && pwd)
build=$(cd "${1:-$root/build}" && pwd)
N=${N:-20000}
RATE_SECS=${RATE_SECS:-5}
work=$build/bench/source
mkdir -p "$work"
bash "$root/tests/kafka/broker.sh" start "$work/kafka" >/dev/null
export KAFKA_BOOTSTRAP_FILE=$work/kafka/bootstrap KAFKA_DIR=$work/kafka
export SFB_BINARY_DIR=$build/bench SFB_SOURCE_DIR=$root
export SFBRIDGE=$build/bridge/sfbridge SFEMU=$build/tests/emulator/sfemu
export KAFKA_ADMIN=$build/tests/kafka/sfb_kafka_admin
. "$root/tests/integration/lib.sh"
. "$root/tests/integration/sink_lib.sh"
. "$root/tests/integration/source_lib.sh"
it_init source_bench
trap 'it_cleanup; bash "$root/tests/kafka/broker.sh" stop "$work/kafka" >/dev/null 2>&1 || true' EXIT

sfemu_start emu1
sink_topics 1
# LogAppendTime: a message's timestamp is when the broker wrote it (the ack to
# sfbridge, acks=all on one broker, leaves right after), not the producer's clock.
EV_TOPIC=$(it_name events)
STATE_TOPIC=$(it_name state)
kafka_create_topic "$EV_TOPIC" 3 message.timestamp.type=LogAppendTime
src_config "$IT_DIR/b.conf" 'replay = "latest";'
bg_start sfbridge "$SFBRIDGE" run -c "$IT_DIR/b.conf"
wait_for 30 "session up" grep -q "session up" "$IT_DIR/sfbridge.log"

# 1. throughput
t0=$(it_now_ms)
read -r first last <<<"$(src_publish "$N")"
t_pub=$(it_now_ms)
until (($(kafka_count "$EV_TOPIC") >= N)); do sleep 0.02; done
t1=$(it_now_ms)
ts=$(timeout 120 kcat -C -b "$KAFKA_BOOTSTRAP" -t "$EV_TOPIC" -o beginning -c "$N" -e -q -f '%T\n' 2>/dev/null |
    sort -n | sed -n '1p;$p' | xargs)
read -r ts_a ts_b <<<"$ts"
echo "source throughput: $N events ($first..$last): publish call $((t_pub - t0)) ms; all on the topic after $((t1 - t0)) ms: $((N * 1000 / (t1 - t0))) events/s"
echo "source throughput (Kafka timestamps, first to last message): $((ts_b - ts_a)) ms: $((N * 1000 / (ts_b - ts_a > 0 ? ts_b - ts_a : 1))) events/s"

# 2. latency at ~1,000 events/s: 25 events per call, paced by wall clock
# (a call costs a curl process, so the pace is set per 25 ms slot).
base=$(kafka_count "$EV_TOPIC")
t_start=$(it_now_ms)
end=$((t_start + RATE_SECS * 1000))
slot=$t_start
while ((slot < end)); do
    curl -sf -m 20 -X POST -H 'Content-Type: application/json' \
        --data "{\"channel\":\"$SRC_CHANNEL\",\"count\":25}" \
        "${SFEMU_URL[emu1]}/__sfemu/events/publish" >/dev/null
    slot=$((slot + 25))
    wait_ms=$((slot - $(it_now_ms)))
    ((wait_ms <= 0)) || sleep "0.$(printf '%03d' "$wait_ms")"
done

read -r _ rlast <<<"$(src_publish 1)"
sent=$((rlast - last))
until (($(kafka_count "$EV_TOPIC") >= base + sent)); do sleep 0.05; done
timeout 120 kcat -C -b "$KAFKA_BOOTSTRAP" -t "$EV_TOPIC" -o beginning -c $((base + sent)) -e -q \
    -f '%T\t%s\n' 2>/dev/null >"$IT_DIR/lat.tsv"
# CreatedDate is ISO 8601 with milliseconds, in UTC.
jq -R -r --argjson min "$last" 'split("\t") | (.[1] | fromjson) as $e | select($e.replay_id > $min)
    | $e.payload.payload.CreatedDate as $d
    | (.[0] | tonumber) - (($d | sub("\\.[0-9]+Z$"; "Z") | fromdateiso8601) * 1000
        + ($d | capture("\\.(?<ms>[0-9]+)Z$").ms | tonumber))' "$IT_DIR/lat.tsv" | sort -n >"$IT_DIR/lat.ms"
n=$(wc -l <"$IT_DIR/lat.ms")
p50=$(sed -n "$(((n + 1) / 2))p" "$IT_DIR/lat.ms")
p99=$(sed -n "$(((n * 99 + 99) / 100))p" "$IT_DIR/lat.ms")
echo "source latency at ~$(((sent - 1) / RATE_SECS)) events/s for ${RATE_SECS}s: $n events, p50 ${p50} ms, p99 ${p99} ms (sfemu CreatedDate -> broker append time)"
bg_stop sfbridge
