#!/usr/bin/env bash
# Scale-out: two sfbridge processes in one consumer group share the command
# topic's partitions (and so the orgs); stopping one moves its partitions to
# the other without losing a command.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/sink_lib.sh"
it_init sink_group
[[ -n ${SFBRIDGE:-} ]] || fail "SFBRIDGE is not set"

sfemu_start emu1
sfemu_start emu2
emu_control emu1 faults '{"latency":{"fixed_ms":10,"random_ms":20}}' >/dev/null
emu_control emu2 faults '{"latency":{"fixed_ms":10,"random_ms":20}}' >/dev/null
sink_topics 4
sink_config "$IT_DIR/sink.conf" 0:emu1 1:emu1 2:emu2 3:emu2 -- \
    "batch_size = 25; dedupe = ( { sobject = \"Widget__c\"; field = \"Ext_Id__c\"; } );"

gen() { # gen FROM TO
    for ((i = $1; i < $2; i++)); do
        printf '{"op":"insert","sobject":"Widget__c","command_id":"g-%d","fields":{"Name":"W%d"}}\n' "$i" "$i"
    done
}
produce_batch() { # produce_batch FROM TO: spread over the 4 partitions
    gen "$1" "$2" >"$IT_DIR/batch.jsonl"
    split -n l/4 -d "$IT_DIR/batch.jsonl" "$IT_DIR/batch."
    for p in 0 1 2 3; do produce_file "$p" "$IT_DIR/batch.0$p"; done
}

bg_start w1 "$SFBRIDGE" run -c "$IT_DIR/sink.conf"
bg_start w2 "$SFBRIDGE" run -c "$IT_DIR/sink.conf"
# Both members own partitions: 4 assignments in total between them.
wait_for 60 "the two workers to share the partitions" bash -c \
    "[[ \$(grep -h 'partition [0-9] assigned' '$IT_DIR/w1.log' '$IT_DIR/w2.log' | wc -l) -ge 4 &&
        \$(grep -c 'partition [0-9] assigned' '$IT_DIR/w1.log') -ge 1 &&
        \$(grep -c 'partition [0-9] assigned' '$IT_DIR/w2.log') -ge 1 ]]"
log "w1 owns: $(grep -o 'partition [0-9] assigned' "$IT_DIR/w1.log" | awk '{print $2}' | xargs)"
log "w2 owns: $(grep -o 'partition [0-9] assigned' "$IT_DIR/w2.log" | awk '{print $2}' | xargs)"

produce_batch 0 2000
wait_for 60 "first results" bash -c "(( \$(kcat -C -b '$KAFKA_BOOTSTRAP' -t '$RESULT_TOPIC' -o beginning -e -q -f 'x\n' 2>/dev/null | wc -l) > 200 ))"
# Stop w1 while commands are in flight; keep producing.
bg_stop w1 30
assert_eq 0 "$BG_RC" "w1 exit status"
produce_batch 2000 4000
wait_for 60 "w2 to take every partition" bash -c \
    "[[ \$(grep -o 'partition [0-9] assigned' '$IT_DIR/w2.log' | sort -u | wc -l) -eq 4 ]]"
wait_for 120 "a result for every command" bash -c \
    "kcat -C -b '$KAFKA_BOOTSTRAP' -t '$RESULT_TOPIC' -o beginning -e -q -f '%s\n' 2>/dev/null | jq -r 'select(.status==\"ok\") | .command_id' | sort -u | wc -l | grep -qx 4000"
total=0
for e in emu1 emu2; do
    n=$(emu_query "$e" 'SELECT COUNT() FROM Widget__c' | jq .totalSize)
    total=$((total + n))
done
assert_eq 4000 "$total" "Widget__c records over both orgs (no loss, none twice)"
bg_stop w2 30
assert_eq 0 "$BG_RC" "w2 exit status"
it_pass
