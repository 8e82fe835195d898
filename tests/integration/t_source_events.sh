#!/usr/bin/env bash
# The source end to end: a real Kafka broker, sfemu's Streaming API, sfbridge
# as a process, kcat as the outside reader. Platform events published through
# sfemu's control API arrive on the topic in replay-id order as event.v1 with
# the sfbridge-* headers and the EventUuid key; a stop (SIGTERM) and a kill -9
# each followed by events published while sfbridge is down: after restarts
# with replay = "stored" the replay ids on the topic cover the whole stream
# with no gap; change events from REST DML are keyed by record id.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/sink_lib.sh"
it_init source_events
[[ -n ${SFBRIDGE:-} ]] || fail "SFBRIDGE is not set"
need jq kcat

sfemu_start emu1
sink_topics 1
# Static membership: a worker restarted after kill -9 gets its partition (and
# with it the org's channels) back at once instead of after the dead member's
# session timeout.
SINK_KAFKA_PROPS='consumer = { group = { instance = { id = "source-worker"; }; }; session = { timeout = { ms = 6000; }; }; };'
EV_TOPIC=$(it_name events)
CDC_TOPIC=$(it_name changes)
STATE_TOPIC=$(it_name state)
kafka_create_topic "$EV_TOPIC" 3
kafka_create_topic "$CDC_TOPIC" 3
sink_config "$IT_DIR/src.conf" 0:emu1
cat >>"$IT_DIR/src.conf" <<CONF
source = (
  { org = "emu1"; channel = "/event/Order_Event__e"; topic = "$EV_TOPIC"; },
  { org = "emu1"; channel = "/data/AccountChangeEvent"; topic = "$CDC_TOPIC"; replay = "latest"; }
);
state_topic = "$STATE_TOPIC";
CONF
"$SFBRIDGE" check -c "$IT_DIR/src.conf" >/dev/null || fail "config rejected"

publish() { # publish N -> prints "first last"
    emu_control emu1 events/publish "{\"channel\":\"/event/Order_Event__e\",\"count\":$1}" |
        jq -r '.replay_ids | "\(.[0]) \(.[1])"'
}
# ids_on_topic: the sorted distinct replay ids on EV_TOPIC
ids_on_topic() {
    kcat -C -b "$KAFKA_BOOTSTRAP" -t "$EV_TOPIC" -o beginning -e -q -f '%h\n' 2>/dev/null |
        tr ',' '\n' | sed -n 's/^sfbridge-replay-id=//p' | sort -n -u
}
wait_ids() { # wait_ids FIRST LAST: every id in FIRST..LAST is on the topic
    wait_for 60 "replay ids $1..$2 on $EV_TOPIC" bash -c \
        "[[ \$(kcat -C -b '$KAFKA_BOOTSTRAP' -t '$EV_TOPIC' -o beginning -e -q -f '%h\n' 2>/dev/null | tr ',' '\n' | sed -n 's/^sfbridge-replay-id=//p' | sort -n -u | awk -v a=$1 -v b=$2 '\$1>=a && \$1<=b' | wc -l) -ge $(($2 - $1 + 1)) ]]"
}

read -r first _ <<<"$(publish 1)" # before the first start: stored with none stored = earliest
bg_start sfbridge "$SFBRIDGE" --log-level debug run -c "$IT_DIR/src.conf"
wait_for 30 "session up" grep -q "session up" "$IT_DIR/sfbridge.log"
read -r _ last <<<"$(publish 200)"
wait_ids "$first" "$last"

# Order per partition and schema: every value validates against event.v1.
kcat -C -b "$KAFKA_BOOTSTRAP" -t "$EV_TOPIC" -o beginning -e -q -f '%s\n' >"$IT_DIR/ev.jsonl" 2>/dev/null
validate_messages "$IT_DIR/ev.jsonl" event
assert_eq emu1 "$(jq -r .org "$IT_DIR/ev.jsonl" | sort -u | xargs)" "org field"
assert_eq /event/Order_Event__e "$(jq -r .channel "$IT_DIR/ev.jsonl" | sort -u | xargs)" "channel field"
for p in 0 1 2; do
    kcat -C -b "$KAFKA_BOOTSTRAP" -t "$EV_TOPIC" -p $p -o beginning -e -q -f '%s\n' 2>/dev/null |
        jq -r .replay_id >"$IT_DIR/p$p.ids"
    sort -n -c "$IT_DIR/p$p.ids" || fail "partition $p out of replay order"
done
# Key = EventUuid, on every message. (Through a file: `kcat | head` would end
# kcat by SIGPIPE, which pipefail turns into a silent set -e exit.)
kcat -C -b "$KAFKA_BOOTSTRAP" -t "$EV_TOPIC" -o beginning -e -q -f '%k\t%s\n' >"$IT_DIR/ev.tsv" 2>/dev/null
bad=$(jq -R -r 'split("\t") | select((.[1] | fromjson | .payload.event.EventUuid) != .[0]) | .[0]' "$IT_DIR/ev.tsv" | head -3)
[[ -z $bad ]] || fail "keys that are not the EventUuid: $bad"

# Stop, publish while down, restart: resumes from the stored id.
bg_stop sfbridge
read -r _ last <<<"$(publish 100)"
bg_start sfbridge "$SFBRIDGE" run -c "$IT_DIR/src.conf"
wait_ids "$first" "$last"

# kill -9 during a steady stream, three times. After each kill, the ids on
# the topic above the position the next run starts from (its "from replay id
# X (stored)" line) are the in-flight window that run will deliver again.
start_of_run() { # start_of_run LOG: the stored replay id a run started from
    sed -n 's/.* -> '"$EV_TOPIC"' from replay id \([0-9]*\) (stored).*/\1/p' "$1" | tail -1
}
(for _ in $(seq 1 60); do publish 20 >/dev/null; sleep 0.1; done) &
streamer=$!
declare -a AT_KILL=()
for k in 1 2 3; do
    sleep 1.5
    bg_signal sfbridge KILL
    bg_wait sfbridge || true
    ids_on_topic >"$IT_DIR/kill$k.ids"
    AT_KILL[k]=$IT_DIR/kill$k.ids
    bg_start sfbridge "$SFBRIDGE" run -c "$IT_DIR/src.conf"
    wait_for 30 "run $((k + 1)) subscribed" grep -q "from replay id" "$IT_DIR/sfbridge.log"
    cp "$IT_DIR/sfbridge.log" "$IT_DIR/run$((k + 1)).log"
done
wait "$streamer"
read -r _ last <<<"$(publish 1)"
wait_ids "$first" "$last"
n=$(ids_on_topic | awk -v a="$first" -v b="$last" '$1>=a && $1<=b' | wc -l)
assert_eq $((last - first + 1)) "$n" "replay ids cover the stream with no gap"
# Duplicates are only those in flight at the kills: no more than the ids
# already on the topic above where each next run started.
window=0
for k in 1 2 3; do
    s=$(start_of_run "$IT_DIR/run$((k + 1)).log")
    [[ -n $s ]] || fail "run $((k + 1)) did not start from a stored replay id"
    w=$(awk -v s="$s" '$1 > s' "${AT_KILL[k]}" | wc -l)
    log "kill $k: $(tail -1 "${AT_KILL[k]}") was the highest id on the topic, next run from $s: window $w"
    window=$((window + w))
done
msgs=$(kcat -C -b "$KAFKA_BOOTSTRAP" -t "$EV_TOPIC" -o beginning -e -q -f 'x\n' 2>/dev/null | wc -l)
dups=$((msgs - n))
log "$n events, $msgs messages: $dups duplicates; in-flight windows at the kills: $window"
((dups <= window)) || fail "$dups duplicates but only $window events were in flight at the kills"

# Change events from REST DML: key = record id.
tok=$(curl -sf -d grant_type=client_credentials -d "client_id=$SFEMU_CLIENT_ID" \
    -d "client_secret=$SFEMU_CLIENT_SECRET" "${SFEMU_URL[emu1]}/services/oauth2/token" | jq -r .access_token)
api=${SFEMU_URL[emu1]}/services/data/v62.0/sobjects/Account
id=$(curl -sf -H "Authorization: Bearer $tok" -H 'Content-Type: application/json' \
    -d '{"Name":"Streamed"}' "$api" | jq -r .id)
curl -sf -X PATCH -H "Authorization: Bearer $tok" -H 'Content-Type: application/json' \
    -d '{"Name":"Streamed v2"}' "$api/$id" >/dev/null
curl -sf -X DELETE -H "Authorization: Bearer $tok" "$api/$id" >/dev/null
wait_for 30 "3 change events" bash -c "[[ \$(kcat -C -b '$KAFKA_BOOTSTRAP' -t '$CDC_TOPIC' -o beginning -e -q -f 'x\n' 2>/dev/null | wc -l) -ge 3 ]]"
kcat -C -b "$KAFKA_BOOTSTRAP" -t "$CDC_TOPIC" -o beginning -e -q -f '%k\t%s\n' 2>/dev/null >"$IT_DIR/cdc.tsv"
assert_eq "$id" "$(cut -f1 "$IT_DIR/cdc.tsv" | sort -u | xargs)" "change events keyed by record id"
assert_eq "CREATE DELETE UPDATE" \
    "$(cut -f2 "$IT_DIR/cdc.tsv" | jq -r .payload.payload.ChangeEventHeader.changeType | sort | xargs)" \
    "change types"
cut -f2 "$IT_DIR/cdc.tsv" >"$IT_DIR/cdc.jsonl"
validate_messages "$IT_DIR/cdc.jsonl" event
bg_stop sfbridge
it_pass
