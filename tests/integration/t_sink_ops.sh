#!/usr/bin/env bash
# The sink end to end: a real Kafka broker, two sfemu orgs, sfbridge as a
# process, kcat as the outside client. Every op on standard and custom
# objects; insert-then-update order in one partition; each org gets exactly
# its own commands; bad input gets its dead letter or error result and the
# commands after it still apply; offsets are committed; SIGTERM drains.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/sink_lib.sh"
it_init sink_ops
[[ -n ${SFBRIDGE:-} ]] || fail "SFBRIDGE is not set"

sfemu_start emu1
sfemu_start emu2
sink_topics 3
# Partition 0 -> emu1, 1 -> emu2, 2 -> no org (dead letters).
sink_config "$IT_DIR/sink.conf" 0:emu1 1:emu2 -- "max_command_bytes = 4096;"
"$SFBRIDGE" check -c "$IT_DIR/sink.conf" >/dev/null || fail "config rejected"
bg_start sfbridge "$SFBRIDGE" --log-level debug run -c "$IT_DIR/sink.conf"
wait_for 30 "partitions assigned" grep -q "partition 2 assigned" "$IT_DIR/sfbridge.log"

# -- every op, in order, on partition 0 (emu1)
produce 0 '{"op":"insert","sobject":"Account","command_id":"a1","fields":{"Name":"Acme"}}'
produce 0 '{"op":"insert","sobject":"Contact","command_id":"c1","fields":{"LastName":"Lovelace"}}'
produce 0 '{"op":"upsert","sobject":"Widget__c","external_id":{"field":"Ext_Id__c","value":"W-1"},"command_id":"w1","fields":{"Name":"Sprocket"}}'
produce 0 '{"op":"publish","sobject":"Order_Event__e","command_id":"e1","fields":{"Order_Number__c":"O-1"}}'
# -- bad input between good commands
produce 0 'this is not json'
produce 0 '{"op":"insert","fields":{}}'
produce 0 '{"op":"explode","sobject":"Account","fields":{}}'
produce 0 "{\"op\":\"insert\",\"sobject\":\"Account\",\"fields\":{\"Name\":\"$(head -c 5000 /dev/zero | tr '\0' x)\"}}"
produce 0 '{"op":"insert","sobject":"NoSuchThing__c","command_id":"bad1","fields":{"Name":"x"}}'
produce 0 '{"op":"insert","sobject":"Account","command_id":"bad2","fields":{"Name":"x","NoSuchField__c":1}}'
produce 0 '{"op":"insert","sobject":"Contact","command_id":"bad3","fields":{"FirstName":"NoLastName"}}'
produce 0 '{"op":"insert","sobject":"Account","command_id":"a2","fields":{"Name":"After the bad ones"}}'
# -- values of every JSON type, escapes and non-ASCII reach Salesforce as sent
produce 0 '{"op":"insert","sobject":"Account","command_id":"t1","fields":{"Name":"Caf\u00e9 \"q\" \\ \t €","NumberOfEmployees":12,"AnnualRevenue":1000.5,"Description":null}}'
# -- partition 1 (emu2) and partition 2 (no org)
produce 1 '{"op":"insert","sobject":"Account","command_id":"o2","fields":{"Name":"Org two"}}'
produce 2 '{"op":"insert","sobject":"Account","command_id":"lost","fields":{"Name":"nobody"}}'

wait_results 10
for id in a1 c1 w1 e1 a2 o2 t1; do
    r=$(result_of "$id")
    [[ $(jq -r .status <<<"$r") == ok ]] || fail "command $id: $r"
done
assert_eq true "$(result_of w1 | jq -r .created)" "upsert w1 created"
assert_eq emu2 "$(result_of o2 | jq -r .org)" "org of o2"
assert_eq INVALID_TYPE "$(result_of bad1 | jq -r '.errors[0].code')" "unknown sobject"
assert_eq INVALID_FIELD "$(result_of bad2 | jq -r '.errors[0].code')" "unknown field"
assert_eq REQUIRED_FIELD_MISSING "$(result_of bad3 | jq -r '.errors[0].code')" "missing required field"

# Dead letters: not JSON, invalid x2, too large, unroutable.
wait_for 30 "5 dead letters" bash -c "[[ \$(kcat -C -b $KAFKA_BOOTSTRAP -t $DLQ_TOPIC -o beginning -e -q -f 'x\n' 2>/dev/null | wc -l) -ge 5 ]]"
topic_dump "$DLQ_TOPIC" "$IT_DIR/dlq.jsonl"
assert_eq "invalid_command invalid_command not_json too_large unroutable" \
    "$(jq -r .reason "$IT_DIR/dlq.jsonl" | sort | xargs)" "dead letter reasons"
assert_eq "this is not json" "$(jq -r 'select(.reason=="not_json").value' "$IT_DIR/dlq.jsonl" | base64 -d)" \
    "dead letter keeps the original bytes"

t1=$(result_of t1 | jq -r .id)
assert_eq '{"Name":"Café \"q\" \\ \t €","NumberOfEmployees":12,"AnnualRevenue":1000.5}' \
    "$(emu_query emu1 "SELECT Name, NumberOfEmployees, AnnualRevenue FROM Account WHERE Id = '$t1'" | jq -c '.records[0] | del(.attributes)')" \
    "field values of every type, as sent"

# -- update and delete of the record a1 created: insert-then-update order
acct=$(result_of a1 | jq -r .id)
produce 0 "{\"op\":\"update\",\"sobject\":\"Account\",\"id\":\"$acct\",\"command_id\":\"u1\",\"fields\":{\"Name\":\"Acme v2\"}}"
produce 0 "{\"op\":\"update\",\"sobject\":\"Account\",\"id\":\"$acct\",\"command_id\":\"u2\",\"fields\":{\"Name\":\"Acme v3\"}}"
produce 0 '{"op":"upsert","sobject":"Widget__c","external_id":{"field":"Ext_Id__c","value":"W-1"},"command_id":"w2","fields":{"Name":"Sprocket 2"}}'
contact=$(result_of c1 | jq -r .id)
produce 0 "{\"op\":\"delete\",\"sobject\":\"Contact\",\"id\":\"$contact\",\"command_id\":\"d1\"}"
wait_results 14
for id in u1 u2 w2 d1; do
    [[ $(result_of "$id" | jq -r .status) == ok ]] || fail "command $id: $(result_of "$id")"
done
assert_eq false "$(result_of w2 | jq -r .created)" "second upsert updates"
assert_eq '"Acme v3"' "$(emu_query emu1 "SELECT Name FROM Account WHERE Id = '$acct'" | jq -c '.records[0].Name')" \
    "the last update wins (order kept)"
assert_eq 0 "$(emu_query emu1 "SELECT COUNT() FROM Contact WHERE Id = '$contact'" | jq .totalSize)" "deleted"
# Each org got exactly its own commands.
assert_eq 1 "$(emu_query emu2 'SELECT COUNT() FROM Account' | jq .totalSize)" "emu2 accounts"
assert_eq 3 "$(emu_query emu1 'SELECT COUNT() FROM Account' | jq .totalSize)" "emu1 accounts"

# What sfbridge wrote validates against result.v1 and dead_letter.v1 (ajv).
validate_messages "$IT_DIR/results.jsonl" result
validate_messages "$IT_DIR/dlq.jsonl" dead_letter

# SIGTERM drains and commits: committed offsets reach the end of each partition.
bg_stop sfbridge 30
assert_eq 0 "$BG_RC" "sfbridge exit status after SIGTERM"
grep -q "stopped:" "$IT_DIR/sfbridge.log" || fail "no clean stop line"
committed=$(kafka_committed "$GROUP" "$CMD_TOPIC" | sort | xargs)
assert_eq "0 17 1 1 2 1" "$committed" "committed offsets"
# No secret in the logs.
! grep -q "$SFEMU_CLIENT_SECRET" "$IT_DIR/sfbridge.log" || fail "client secret in the log"
it_pass
