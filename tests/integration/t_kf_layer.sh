#!/usr/bin/env bash
# connectors/kafka (kf_*) against the real broker, with kcat as the other
# client: kcat produces inputs that kf consumes (keys, values, headers), kf
# produces what kcat reads back; manual commits and restart from the
# committed offset; pause/resume of one partition; a cooperative rebalance of
# two members with commits inside the revocation; the compacted state topic
# written by kf and read back by kf and by kcat (last value wins, tombstone).
. "$(dirname "$0")/lib.sh"
it_init kf_layer

KF_IT=${KF_IT:-$SFB_BINARY_DIR/connectors/kafka/kf_it}
[[ -x $KF_IT ]] || fail "kf_it not built ($KF_IT)"
B=$KAFKA_BOOTSTRAP

# ---- kcat -> kf: 20 messages per partition with headers; consume, commit, restart
topic=$(it_name in)
group=$(it_name grp)
kafka_create_topic "$topic" 2
for p in 0 1; do
    seq 0 19 | sed "s/.*/k$p-&|v$p-&/" | kafka_produce "$topic" -p "$p" -K '|' -H "org=acme" -H "part=$p"
done
"$KF_IT" "$B" consume "$group" "$topic" 15 >"$IT_DIR/run1.txt" 2>"$IT_DIR/run1.err" ||
    fail "consume run 1: $(tail -3 "$IT_DIR/run1.err")"
assert_eq 15 "$(wc -l <"$IT_DIR/run1.txt")" "messages in run 1"
# Every line: partition, offset, key, value, headers as kcat wrote them.
awk -F'\t' '{ if ($3 != "k" $1 "-" $2 || $4 != "v" $1 "-" $2 || $5 != "org=acme;part=" $1) bad++ }
    END { exit bad > 0 }' "$IT_DIR/run1.txt" || fail "run 1 fields differ: $(head -3 "$IT_DIR/run1.txt")"
# The group's commits (read by the admin tool, not by kf) are one past the
# last message of each partition.
for p in 0 1; do
    last=$(awk -F'\t' -v p="$p" '$1 == p { o = $2 } END { print (o == "" ? -1 : o) }' "$IT_DIR/run1.txt")
    [[ $last -ge 0 ]] || continue
    got=$(kafka_committed "$group" "$topic" | awk -v p="$p" '$1 == p { print $2 }')
    assert_eq "$((last + 1))" "$got" "committed offset of partition $p"
done
log "run 1: 15 messages, commits checked"
# Restart: the same group continues from the commits; together every
# message exactly once.
"$KF_IT" "$B" consume "$group" "$topic" 25 >"$IT_DIR/run2.txt" 2>"$IT_DIR/run2.err" ||
    fail "consume run 2: $(tail -3 "$IT_DIR/run2.err")"
cut -f1,2 "$IT_DIR/run1.txt" "$IT_DIR/run2.txt" | sort | uniq -d >"$IT_DIR/dups.txt"
[[ ! -s $IT_DIR/dups.txt ]] || fail "redelivered after restart: $(head -3 "$IT_DIR/dups.txt")"
assert_eq 40 "$(cat "$IT_DIR/run1.txt" "$IT_DIR/run2.txt" | wc -l)" "messages over both runs"
log "run 2: resumed from the committed offsets, 40 distinct messages"

# ---- pause/resume: partition 0 stops while partition 1 flows; nothing lost
"$KF_IT" "$B" pause "$(it_name pgrp)" "$topic" >"$IT_DIR/pause.txt" 2>"$IT_DIR/pause.err" ||
    fail "pause: $(cat "$IT_DIR/pause.txt") $(tail -3 "$IT_DIR/pause.err")"
grep -q "^while paused: p0 3 p1 20$" "$IT_DIR/pause.txt" ||
    fail "pause did not hold partition 0: $(cat "$IT_DIR/pause.txt")"
log "pause/resume: $(tr '\n' ' ' <"$IT_DIR/pause.txt")"

# ---- kf -> kcat: idempotent producer, read back by kcat
out=$(it_name out)
kafka_create_topic "$out" 3
"$KF_IT" "$B" produce "$out" 500 >"$IT_DIR/produce.txt" 2>"$IT_DIR/produce.err" ||
    fail "produce: $(tail -3 "$IT_DIR/produce.err")"
assert_eq "delivered 500 failed 0" "$(cat "$IT_DIR/produce.txt")" "delivery reports"
kcat -C -b "$B" -t "$out" -e -q -f '%k %s %h\n' >"$IT_DIR/kcat_out.txt"
assert_eq 500 "$(wc -l <"$IT_DIR/kcat_out.txt")" "messages kcat reads"
assert_eq 500 "$(sed 's/.*"seq":\([0-9]*\)}.*/\1/' "$IT_DIR/kcat_out.txt" | sort -un | wc -l)" \
    "distinct seq values"
grep -qv 'org=acme' "$IT_DIR/kcat_out.txt" && fail "a message lacks the org header"
# Same key -> same partition, keys in seq order within their partition.
kcat -C -b "$B" -t "$out" -e -q -f '%p %k %s\n' | awk '{ if (seen[$2] != "" && seen[$2] != $1) bad++; seen[$2] = $1 }
    END { exit bad > 0 }' || fail "one key spread over partitions"
log "produce: 500 messages read back by kcat, $(grep -o 'in [0-9]* ms' "$IT_DIR/produce.err")"

# ---- rebalance: two members of one group, cooperative hand-over
rtopic=$(it_name rb)
kafka_create_topic "$rtopic" 4
for p in 0 1 2 3; do
    seq 0 99 | sed "s/.*/k|v$p-&/" | kafka_produce "$rtopic" -p "$p" -K '|'
done
"$KF_IT" "$B" rebalance "$(it_name rgrp)" "$rtopic" >"$IT_DIR/rebalance.txt" 2>"$IT_DIR/rebalance.err" ||
    fail "rebalance: $(cat "$IT_DIR/rebalance.txt") $(tail -3 "$IT_DIR/rebalance.err")"
grep -q "missing 0 duplicated 0" "$IT_DIR/rebalance.txt" || fail "rebalance lost or repeated messages"
log "rebalance: $(grep -h 'took' "$IT_DIR/rebalance.txt")"

# ---- state topic: kf writes, kf reads back, kcat sees the compacted topic's records
st=$(it_name state)
"$KF_IT" "$B" state "$st" put acme/event/A 10 put acme/event/B 20 put beta/event/C 5 \
    put acme/event/A 11 del beta/event/C >"$IT_DIR/state1.txt" 2>"$IT_DIR/state1.err" ||
    fail "state write: $(tail -3 "$IT_DIR/state1.err")"
"$KF_IT" "$B" state "$st" dump >"$IT_DIR/state2.txt" 2>"$IT_DIR/state2.err" ||
    fail "state read: $(tail -3 "$IT_DIR/state2.err")"
assert_eq "acme/event/A=11 acme/event/B=20" "$(sort "$IT_DIR/state2.txt" | tr '\n' ' ' | sed 's/ $//')" \
    "state read back"
kcat -C -b "$B" -t "$st" -e -q -Z -f '%k=%s\n' | sort >"$IT_DIR/state_kcat.txt"
assert_eq 5 "$(wc -l <"$IT_DIR/state_kcat.txt")" "records kcat sees in the state topic"
grep -qx 'beta/event/C=NULL' "$IT_DIR/state_kcat.txt" || fail "no tombstone for beta/event/C"
log "state: $(grep -o 'loaded .*' "$IT_DIR/state2.err")"

it_pass
