#!/usr/bin/env bash
# kcat round trip through the real test broker: N keyed messages with headers
# go to a fresh multi-partition topic and come back, once read partition by
# partition and once through a consumer group. Checks count, keys, values,
# headers, keyed partitioning, per-partition order and the group's commits.
# It first checks the broker is the real Kafka 4.x JVM that broker.sh started.
. "$(dirname "$0")/lib.sh"
it_init kcat_roundtrip

PARTITIONS=4
BATCHES=4
PER_BATCH=50
N=$((BATCHES * PER_BATCH))

version=$(kafka_broker_check)
log "broker is Apache Kafka $version"

topic=$(it_name rt)
group=$(it_name grp)
kafka_create_topic "$topic" "$PARTITIONS"
assert_eq "$PARTITIONS" "$(kafka_partitions "$topic")" "partition count of $topic"

# Messages: key "key-<seq mod 11>", value a small JSON document carrying the
# sequence number, with UTF-8 and a '|' beyond the first (key delimiter) one.
# kcat sets the same headers on every message of one run, so each batch is a
# separate run with its own header values (one holds '=' and a space).
expected=$IT_DIR/expected.txt
: >"$expected"
seq=0
for ((b = 1; b <= BATCHES; b++)); do
    batch_file=$IT_DIR/batch$b.txt
    : >"$batch_file"
    for ((i = 0; i < PER_BATCH; i++)); do
        key="key-$((seq % 11))"
        value="{\"seq\":$seq,\"text\":\"héllo|$seq\"}"
        printf '%s|%s\n' "$key" "$value" >>"$batch_file"
        printf '%d\t%s\t%s\t%s\n' "$seq" "$key" "$value" "batch=$b;note=a=b c" >>"$expected"
        seq=$((seq + 1))
    done
    # Idempotence keeps each key's order even if librdkafka retried a batch.
    kafka_produce "$topic" -K '|' -H "batch=$b" -H "note=a=b c" \
        -X enable.idempotence=true -l "$batch_file"
done
log "produced $N messages in $BATCHES runs"
assert_eq "$N" "$(kafka_count "$topic")" "messages in $topic by end offsets"

# Turn kcat JSON envelopes into "seq key value headers" lines, sorted by seq.
to_table() {
    jq -r '[(.payload | fromjson | .seq), .key, .payload,
             ([.headers as $h | range(0; $h | length; 2) | "\($h[.])=\($h[. + 1])"] | join(";"))]
           | @tsv' "$1" | sort -n >"$2"
}

# 1. Plain consumer, all partitions from the beginning.
kafka_consume_json "$topic" >"$IT_DIR/consumed.json"
assert_eq "$N" "$(wc -l <"$IT_DIR/consumed.json")" "messages consumed"
to_table "$IT_DIR/consumed.json" "$IT_DIR/consumed.txt"
assert_file_eq "$expected" "$IT_DIR/consumed.txt" "keys, values and headers read back"

# Keyed partitioning: every key lives in exactly one partition, and the keys
# spread over more than one partition.
per_key=$(jq -r '"\(.key) \(.partition)"' "$IT_DIR/consumed.json" | sort -u |
    awk '{ n[$1]++ } END { for (k in n) if (n[k] != 1) print k }')
[[ -z $per_key ]] || fail "keys found in several partitions: $per_key"
used=$(jq -r '.partition' "$IT_DIR/consumed.json" | sort -u | wc -l)
((used >= 2)) || fail "all $N messages went to one partition"

# Per-partition order: offsets run 0..n-1 and sequence numbers increase.
order=$(jq -r '"\(.partition) \(.offset) \(.payload | fromjson | .seq)"' "$IT_DIR/consumed.json" |
    awk '{ if (($1 in off) ? ($2 != off[$1] + 1 || $3 <= seq[$1]) : ($2 != 0))
               print "partition " $1 " offset " $2 " seq " $3
           off[$1] = $2; seq[$1] = $3 }')
[[ -z $order ]] || fail "per-partition order broken: $order"

# 2. Consumer group: reads everything once and commits the end offsets.
kcat -G "$group" -b "$KAFKA_BOOTSTRAP" -X auto.offset.reset=earliest -e -J -q -m 10 "$topic" \
    >"$IT_DIR/group.json" 2>"$IT_DIR/group.log" || fail "kcat group consumer failed"
assert_eq "$N" "$(wc -l <"$IT_DIR/group.json")" "messages consumed by group $group"
to_table "$IT_DIR/group.json" "$IT_DIR/group.txt"
assert_file_eq "$expected" "$IT_DIR/group.txt" "messages read by the group"
kafka_end_offsets "$topic" | sort >"$IT_DIR/end_offsets.txt"
kafka_committed "$group" "$topic" | sort >"$IT_DIR/committed.txt"
assert_file_eq "$IT_DIR/end_offsets.txt" "$IT_DIR/committed.txt" "offsets committed by $group"

log "round trip of $N messages over $used of $PARTITIONS partitions ok"
it_pass
