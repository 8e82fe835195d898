#!/usr/bin/env bash
# Two sfbridge workers in one consumer group, two orgs (emu1 on command
# partition 0, emu2 on partition 1), one channel each, events published all
# along. A channel runs only on the worker owning its org's partition:
# every event reaches Kafka exactly once (no duplicates while both run, after
# the second worker joins and takes one org over). Then one worker stops
# (SIGTERM); the other takes its org over from the stored replay id: no gap.
# A third worker joins and is killed (-9): its org comes back to the first
# after the session timeout, no gap, duplicates only the in-flight window.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/sink_lib.sh"
. "$(dirname "$0")/source_lib.sh"
it_init source_workers
[[ -n ${SFBRIDGE:-} ]] || fail "SFBRIDGE is not set"

sfemu_start emu1 --cometd-timeout-ms 2000
sfemu_start emu2 --cometd-timeout-ms 2000
sink_topics 2
# A killed worker's partitions move after its session times out: 6 s here.
SINK_KAFKA_PROPS='consumer = { session = { timeout = { ms = 6000; }; }; };'
STATE_TOPIC=$(it_name state)
declare -A TOPIC=([emu1]=$(it_name ev1) [emu2]=$(it_name ev2))
for e in emu1 emu2; do kafka_create_topic "${TOPIC[$e]}" 3; done
sink_config "$IT_DIR/w.conf" 0:emu1 1:emu2
cat >>"$IT_DIR/w.conf" <<CONF
source = (
  { org = "emu1"; channel = "$SRC_CHANNEL"; topic = "${TOPIC[emu1]}"; },
  { org = "emu2"; channel = "$SRC_CHANNEL"; topic = "${TOPIC[emu2]}"; }
);
state_topic = "$STATE_TOPIC";
CONF
"$SFBRIDGE" check -c "$IT_DIR/w.conf" >/dev/null || fail "config rejected"

pub() { src_publish "$2" "$1"; } # pub EMU N -> "first last"
ids_ok() { EV_TOPIC=${TOPIC[$1]} src_has_ids "$2" "$3"; }
wait_ids() { wait_for 60 "$1 ids $2..$3" ids_ok "$1" "$2" "$3"; }
# once EMU FIRST LAST: every id there, and each exactly once.
once() {
    local msgs
    EV_TOPIC=${TOPIC[$1]} src_assert_no_gap "$2" "$3" "$1"
    msgs=$(EV_TOPIC=${TOPIC[$1]} src_messages)
    assert_eq $(($3 - $2 + 1)) "$msgs" "$1: messages on the topic (each event once)"
}
declare -A FIRST
for e in emu1 emu2; do read -r FIRST[$e] _ <<<"$(pub $e 1)"; done
bg_start w1 "$SFBRIDGE" run -c "$IT_DIR/w.conf"
wait_for 30 "w1 owns both orgs" bash -c "[[ \$(grep -c 'session up' '$IT_DIR/w1.log') -ge 2 ]]"
bg_start streamer bash -c "while :; do for u in ${SFEMU_URL[emu1]} ${SFEMU_URL[emu2]}; do
    curl -sf -m 20 -X POST -H 'Content-Type: application/json' \
    --data '{\"channel\":\"$SRC_CHANNEL\",\"count\":5}' \$u/__sfemu/events/publish >/dev/null; done; sleep 0.05; done"
sleep 1
bg_start w2 "$SFBRIDGE" run -c "$IT_DIR/w.conf"
wait_for 60 "w2 takes one org over" grep -q "session up" "$IT_DIR/w2.log"
sleep 2
w2org=$(sed -n 's/.*\[\(emu[12]\)\] this worker now owns the org.*/\1/p' "$IT_DIR/w2.log" | head -1)
[[ -n $w2org ]] || fail "w2 owns no org"
assert_eq 1 "$(grep -c "this worker now owns the org" "$IT_DIR/w2.log")" "orgs w2 owns"
grep -q "\[$w2org\] source: stopping (ownership moved)" "$IT_DIR/w1.log" ||
    fail "w1 did not stop $w2org's channel when w2 took it"
log "w2 took $w2org over from w1"

# Both run: every event so far exactly once per org.
bg_stop streamer
declare -A LAST
for e in emu1 emu2; do
    read -r _ LAST[$e] <<<"$(pub $e 1)"
    wait_ids "$e" "${FIRST[$e]}" "${LAST[$e]}"
    once "$e" "${FIRST[$e]}" "${LAST[$e]}"
    log "$e: ${FIRST[$e]}..${LAST[$e]} each once with two workers"
done

# Stop w2 during a stream: w1 takes its org back from the stored id.
bg_start streamer bash -c "while :; do for u in ${SFEMU_URL[emu1]} ${SFEMU_URL[emu2]}; do
    curl -sf -m 20 -X POST -H 'Content-Type: application/json' \
    --data '{\"channel\":\"$SRC_CHANNEL\",\"count\":5}' \$u/__sfemu/events/publish >/dev/null; done; sleep 0.05; done"
sleep 1
ups=$(grep -c "session up" "$IT_DIR/w1.log")
bg_stop w2
assert_eq 0 "$BG_RC" "w2 exit status after SIGTERM"
wait_for 60 "w1 takes $w2org back" bash -c "[[ \$(grep -c 'session up' '$IT_DIR/w1.log') -gt $ups ]]"
sleep 1
bg_stop streamer
for e in emu1 emu2; do
    read -r _ LAST[$e] <<<"$(pub $e 1)"
    wait_ids "$e" "${FIRST[$e]}" "${LAST[$e]}"
    EV_TOPIC=${TOPIC[$e]} src_assert_no_gap "${FIRST[$e]}" "${LAST[$e]}" "$e after w2 stopped"
    msgs=$(EV_TOPIC=${TOPIC[$e]} src_messages)
    log "$e: ${FIRST[$e]}..${LAST[$e]} no gap; $msgs messages ($((msgs - (LAST[$e] - FIRST[$e] + 1))) duplicates)"
done
# A graceful hand-over stores the position before the partition moves.
once "$w2org" "${FIRST[$w2org]}" "${LAST[$w2org]}"

# kill -9 a worker during a stream: after its session times out the other
# takes its org over from the stored id. No gap; duplicates at most the
# events of that org on the topic above the position it resumed from.
bg_start w3 "$SFBRIDGE" run -c "$IT_DIR/w.conf"
wait_for 60 "w3 takes one org over" grep -q "session up" "$IT_DIR/w3.log"
w3org=$(sed -n 's/.*\[\(emu[12]\)\] this worker now owns the org.*/\1/p' "$IT_DIR/w3.log" | head -1)
bg_start streamer bash -c "while :; do for u in ${SFEMU_URL[emu1]} ${SFEMU_URL[emu2]}; do
    curl -sf -m 20 -X POST -H 'Content-Type: application/json' \
    --data '{\"channel\":\"$SRC_CHANNEL\",\"count\":5}' \$u/__sfemu/events/publish >/dev/null; done; sleep 0.05; done"
sleep 3
ups=$(grep -c "session up" "$IT_DIR/w1.log")
bg_signal w3 KILL
bg_wait w3 || true
EV_TOPIC=${TOPIC[$w3org]} src_ids >"$IT_DIR/at_kill.ids"
wait_for 60 "w1 takes $w3org back after w3's session timeout" \
    bash -c "[[ \$(grep -c 'session up' '$IT_DIR/w1.log') -gt $ups ]]"
resumed=$(sed -n "s/.*\[$w3org\] source: .* from replay id \([0-9]*\) (stored).*/\1/p" "$IT_DIR/w1.log" | tail -1)
[[ -n $resumed ]] || fail "w1 did not resume $w3org from a stored id"
sleep 1
bg_stop streamer
for e in emu1 emu2; do
    read -r _ LAST[$e] <<<"$(pub $e 1)"
    wait_ids "$e" "${FIRST[$e]}" "${LAST[$e]}"
    EV_TOPIC=${TOPIC[$e]} src_assert_no_gap "${FIRST[$e]}" "${LAST[$e]}" "$e after w3 was killed"
done
before=$(EV_TOPIC=${TOPIC[$w3org]} src_messages)
window=$(awk -v s="$resumed" '$1 > s' "$IT_DIR/at_kill.ids" | wc -l)
dups=$((before - (LAST[$w3org] - FIRST[$w3org] + 1)))
log "$w3org: w3 killed, w1 resumed from $resumed: $dups duplicates, in-flight window $window"
((dups <= window)) || fail "$w3org: $dups duplicates but only $window events were in flight at the kill"
bg_stop w1
assert_eq 0 "$BG_RC" "w1 exit status after SIGTERM"
it_pass
