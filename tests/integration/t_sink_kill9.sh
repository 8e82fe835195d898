#!/usr/bin/env bash
# Crash safety: kill -9 sfbridge at random moments during a 20,000-command
# run, restarting it each time. Afterwards every command has at least one
# result, every record exists, and with dedupe_field none exists twice.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/sink_lib.sh"
it_init sink_kill9
[[ -n ${SFBRIDGE:-} ]] || fail "SFBRIDGE is not set"
N=20000
KILLS=${KILLS:-6}
kills=0

sfemu_start emu1
# Some latency so that the kills land while batches are in flight.
emu_control emu1 faults '{"latency":{"fixed_ms":30,"random_ms":60}}' >/dev/null
sink_topics 4
# Static membership: a restarted worker takes its partitions back at once
# instead of waiting for the killed member's session to time out.
SINK_KAFKA_PROPS='consumer = { group = { instance = { id = "kill9-worker"; }; }; session = { timeout = { ms = 6000; }; }; };'
sink_config "$IT_DIR/sink.conf" 0:emu1 1:emu1 2:emu1 3:emu1 -- \
    "batch_size = 20; dedupe = ( { sobject = \"Widget__c\"; field = \"Ext_Id__c\"; } );"

for ((i = 0; i < N; i++)); do
    printf '{"op":"insert","sobject":"Widget__c","command_id":"k-%d","fields":{"Name":"W%d"}}\n' "$i" "$i"
done >"$IT_DIR/commands.jsonl"
split -n l/4 -d "$IT_DIR/commands.jsonl" "$IT_DIR/part."
for p in 0 1 2 3; do produce_file "$p" "$IT_DIR/part.0$p"; done
log "produced $N commands"

for ((k = 1; k <= KILLS; k++)); do
    before=$(topic_count "$RESULT_TOPIC")
    distinct=$(kcat -C -b "$KAFKA_BOOTSTRAP" -t "$RESULT_TOPIC" -o beginning -e -q -f '%s\n' 2>/dev/null |
        jq -r .command_id | sort -u | wc -l)
    ((distinct < N * 9 / 10)) || break # keep the last tenth for the final run
    bg_start "sfbridge$k" "$SFBRIDGE" run -c "$IT_DIR/sink.conf"
    # Kill it at a random moment once it is making progress.
    # (kcat -c, not -e: -e may chase a topic that is being written forever.)
    wait_for 60 "progress of run $k" bash -c "timeout 2 kcat -C -b '$KAFKA_BOOTSTRAP' -t '$RESULT_TOPIC' -o beginning -c $((before + 1)) -q -f 'x\n' 2>/dev/null | wc -l | grep -qx $((before + 1))"
    sleep "$(awk -v r=$RANDOM 'BEGIN { printf "%.2f", (r % 800) / 1000 }')"
    bg_signal "sfbridge$k" KILL
    bg_wait "sfbridge$k" 10
    log "kill -9 #$k: $(topic_count "$RESULT_TOPIC") results so far"
    kills=$k
done
((kills >= 2)) || fail "only $kills kill(s) landed during the run"

# The last run finishes the rest at full speed.
curl -sf -X DELETE "${SFEMU_URL[emu1]}/__sfemu/faults" >/dev/null
bg_start sfbridge_final "$SFBRIDGE" run -c "$IT_DIR/sink.conf"
wait_for 300 "a result for every command" bash -c \
    "kcat -C -b '$KAFKA_BOOTSTRAP' -t '$RESULT_TOPIC' -o beginning -e -q -f '%s\n' 2>/dev/null | jq -r .command_id | sort -u | wc -l | grep -qx $N"
topic_dump "$RESULT_TOPIC" "$IT_DIR/results.jsonl"
total=$(wc -l <"$IT_DIR/results.jsonl")
assert_eq "$N" "$(jq -r 'select(.status=="ok") | .command_id' "$IT_DIR/results.jsonl" | sort -u | wc -l)" \
    "commands with an ok result"
assert_eq "$N" "$(emu_query emu1 'SELECT COUNT() FROM Widget__c' | jq .totalSize)" \
    "Widget__c records (each exactly once)"
log "$total results for $N commands: $((total - N)) duplicates from $kills kills"
bg_stop sfbridge_final 30
assert_eq 0 "$BG_RC" "sfbridge exit status"
it_pass
