# Helpers for the source's integration tests (t_source_*.sh), on top of lib.sh
# and sink_lib.sh. Source after both:
#   . "$(dirname "$0")/lib.sh"; . "$(dirname "$0")/sink_lib.sh"; . "$(dirname "$0")/source_lib.sh"
#
#   sfemu_start emu1 --cometd-timeout-ms 2000
#   sink_topics 1; src_topics         # + EV_TOPIC (3 partitions), STATE_TOPIC
#   src_config FILE [SOURCE_KEYS]     # sink_config + one /event/Order_Event__e source
#   src_publish N                     # "first last" replay ids of N new events
#   src_wait_ids FIRST LAST [SECS]    # until every id in FIRST..LAST is on EV_TOPIC
#   src_assert_no_gap FIRST LAST WHAT # fails unless every id in FIRST..LAST is there

SRC_CHANNEL=${SRC_CHANNEL:-/event/Order_Event__e}

# src_topics: EV_TOPIC (3 partitions) and the STATE_TOPIC name (the source
# creates the compacted state topic itself).
src_topics() {
    EV_TOPIC=$(it_name events)
    STATE_TOPIC=$(it_name state)
    kafka_create_topic "$EV_TOPIC" 3
}

# src_config FILE [SOURCE_KEYS]: a sink config for org emu1 (partition 0)
# plus the source entry for SRC_CHANNEL -> EV_TOPIC with SOURCE_KEYS (libconfig
# text such as 'replay = "earliest"; on_invalid_replay = "fail";').
src_config() {
    sink_config "$1" 0:emu1
    cat >>"$1" <<CONF
source = (
  { org = "emu1"; channel = "$SRC_CHANNEL"; topic = "$EV_TOPIC"; ${2:-} }
);
state_topic = "$STATE_TOPIC";
CONF
    "$SFBRIDGE" check -c "$1" >/dev/null || fail "config $1 rejected"
}

# src_control EMU PATH JSON: POST to sfemu's control API with a 20 s cap (a
# hung sfemu is a failure with a message, not a test killed by ctest).
src_control() {
    curl -sf -m 20 -X POST -H 'Content-Type: application/json' --data "$3" \
        "${SFEMU_URL[$1]}/__sfemu/$2" || fail "POST /__sfemu/$2 $3 failed"
}

# src_publish N [EMU]: publish N events on SRC_CHANNEL; prints "first last".
src_publish() {
    src_control "${2:-emu1}" events/publish "{\"channel\":\"$SRC_CHANNEL\",\"count\":$1}" |
        jq -r '.replay_ids | "\(.[0]) \(.[1])"'
}

# src_ids: the sorted distinct replay ids now on EV_TOPIC (from the headers).
# Reads as many messages as the end offsets counted a moment before: `kcat -e`
# alone waits for every partition to be at its end at once, which a topic
# written to all the time may never be.
src_ids() {
    local n
    n=$(kafka_count "$EV_TOPIC") || return 1
    ((n > 0)) || return 0
    timeout 60 kcat -C -b "$KAFKA_BOOTSTRAP" -t "$EV_TOPIC" -o beginning -c "$n" -e -q -f '%h\n' 2>/dev/null |
        tr ',' '\n' | sed -n 's/^sfbridge-replay-id=//p' | sort -n -u
}

# src_count_ids FIRST LAST: how many distinct ids in FIRST..LAST are on EV_TOPIC.
src_count_ids() {
    src_ids | awk -v a="$1" -v b="$2" '$1 >= a && $1 <= b' | wc -l
}

src_has_ids() {
    (($(src_count_ids "$1" "$2") >= $2 - $1 + 1))
}

# src_wait_ids FIRST LAST [SECONDS]: until every id in FIRST..LAST is on EV_TOPIC.
src_wait_ids() {
    wait_for "${3:-60}" "replay ids $1..$2 on $EV_TOPIC" src_has_ids "$1" "$2"
}

# src_assert_no_gap FIRST LAST WHAT: every id in FIRST..LAST is on EV_TOPIC;
# on failure names the first missing ids.
src_assert_no_gap() {
    local n missing
    n=$(src_count_ids "$1" "$2")
    if ((n != $2 - $1 + 1)); then
        missing=$(comm -23 <(seq "$1" "$2" | sort) <(src_ids | sort) | sort -n | head -10 | xargs)
        fail "$3: $n of $(($2 - $1 + 1)) replay ids on the topic; missing: $missing"
    fi
}

# src_messages: the number of messages on EV_TOPIC (duplicates included).
src_messages() {
    timeout 60 kcat -C -b "$KAFKA_BOOTSTRAP" -t "$EV_TOPIC" -o beginning -e -q -f 'x\n' 2>/dev/null | wc -l
}
