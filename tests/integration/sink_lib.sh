# Helpers for the sink's integration tests (t_sink_*.sh), on top of lib.sh.
# Source after lib.sh:
#   . "$(dirname "$0")/lib.sh"; . "$(dirname "$0")/sink_lib.sh"
#
#   sfemu_start emu1                 # sets SFEMU_URL[emu1]
#   sink_topics 2                    # CMD_TOPIC RESULT_TOPIC DLQ_TOPIC GROUP, created
#   sink_config "$IT_DIR/s.conf" "0:emu1" "1:emu2" ...
#   bg_start sfbridge "$SFBRIDGE" run -c "$IT_DIR/s.conf"
#   produce 0 '{"op":"insert",...}'  # one command to partition 0
#   wait_results N                   # until N results are on RESULT_TOPIC
#   result_of CMD_ID                 # the result JSON of a command id

declare -A SFEMU_URL=()

# The sfemu connected app and run-as user (tests/emulator/data/org.json).
SFEMU_CLIENT_ID=3MVG9sfemu.sfbridge.CONSUMERKEY
SFEMU_CLIENT_SECRET=sfemu-sfbridge-secret

# sfemu_start NAME [ARGS...]: start an sfemu on a free port; SFEMU_URL[NAME].
sfemu_start() {
    local name=$1
    shift
    [[ -n ${SFEMU:-} && -x $SFEMU ]] || fail "SFEMU does not name the sfemu binary"
    bg_start "$name" "$SFEMU" --port 0 "$@"
    wait_for 10 "$name to listen" grep -q "listening on" "$IT_DIR/$name.log"
    SFEMU_URL[$name]=$(sed -n 's/.*listening on \(http[^ ]*\).*/\1/p' "$IT_DIR/$name.log" | head -1)
    log "$name at ${SFEMU_URL[$name]}"
}

# emu_control NAME PATH [JSON]: POST (with JSON) or GET a /__sfemu control endpoint.
emu_control() {
    local url=${SFEMU_URL[$1]}/__sfemu/$2
    if [[ $# -ge 3 ]]; then
        curl -sf -X POST -H 'Content-Type: application/json' --data "$3" "$url"
    else
        curl -sf "$url"
    fi
}

# sink_topics PARTITIONS: fresh command/result/dead-letter topics and group.
sink_topics() {
    CMD_TOPIC=$(it_name cmd)
    RESULT_TOPIC=$(it_name res)
    DLQ_TOPIC=$(it_name dlq)
    GROUP=$(it_name grp)
    kafka_create_topic "$CMD_TOPIC" "$1"
    kafka_create_topic "$RESULT_TOPIC" "$1"
    kafka_create_topic "$DLQ_TOPIC" 1
}

# sink_config FILE PART:EMU... [-- EXTRA_SINK_KEYS]: a config with one org per
# distinct sfemu (named like the sfemu) and the given partition map.
# SINK_KAFKA_PROPS, if set, is added inside kafka.properties (libconfig text).
sink_config() {
    local file=$1
    shift
    local maps=() extra="" emus=() e
    while [[ $# -gt 0 ]]; do
        if [[ $1 == -- ]]; then
            shift
            extra="$*"
            break
        fi
        maps+=("$1")
        shift
    done
    for m in "${maps[@]}"; do
        e=${m#*:}
        [[ " ${emus[*]} " == *" $e "* ]] || emus+=("$e")
    done
    {
        echo "kafka = { brokers = \"$KAFKA_BOOTSTRAP\"; group = \"$GROUP\";"
        echo "  properties = { topic = { metadata = { refresh = { interval = { ms = 1000; }; }; }; };"
        echo "    ${SINK_KAFKA_PROPS:-} }; };"
        echo "orgs = ("
        local first=1
        for e in "${emus[@]}"; do
            ((first)) || echo ","
            first=0
            echo "  { name = \"$e\"; login_url = \"${SFEMU_URL[$e]}\"; timeout_ms = 10000;"
            echo "    auth = { flow = \"client_credentials\"; client_id = \"$SFEMU_CLIENT_ID\";"
            echo "             client_secret = \"\${SFEMU_CLIENT_SECRET}\"; }; }"
        done
        echo ");"
        echo "sink = { command_topic = \"$CMD_TOPIC\"; result_topic = \"$RESULT_TOPIC\";"
        echo "  dead_letter_topic = \"$DLQ_TOPIC\"; linger_ms = 20; $extra"
        echo "  partitions = ("
        first=1
        for m in "${maps[@]}"; do
            ((first)) || echo ","
            first=0
            echo "    { partition = ${m%%:*}; org = \"${m#*:}\"; }"
        done
        echo "  ); };"
    } >"$file"
    export SFEMU_CLIENT_SECRET
}

# produce PARTITION VALUE [KEY]: one message to CMD_TOPIC.
produce() {
    local key=${3:-}
    if [[ -n $key ]]; then
        printf '%s\t%s\n' "$key" "$2" | kcat -P -b "$KAFKA_BOOTSTRAP" -t "$CMD_TOPIC" -p "$1" -K $'\t' -z none
    else
        printf '%s\n' "$2" | kcat -P -b "$KAFKA_BOOTSTRAP" -t "$CMD_TOPIC" -p "$1" -z none
    fi
}

# produce_file PARTITION FILE: one message per line of FILE.
produce_file() {
    kcat -P -b "$KAFKA_BOOTSTRAP" -t "$CMD_TOPIC" -p "$1" -z none -l "$2"
}

# topic_dump TOPIC FILE: every message value of TOPIC, one per line.
topic_dump() {
    kcat -C -b "$KAFKA_BOOTSTRAP" -t "$1" -o beginning -e -q -f '%s\n' >"$2" 2>/dev/null || true
}

topic_count() {
    kcat -C -b "$KAFKA_BOOTSTRAP" -t "$1" -o beginning -e -q -f 'x\n' 2>/dev/null | wc -l
}

# wait_results N [SECONDS]: until RESULT_TOPIC holds at least N messages;
# leaves them in $IT_DIR/results.jsonl.
wait_results() {
    local n=$1 secs=${2:-60}
    wait_for "$secs" "$n results on $RESULT_TOPIC" bash -c \
        "[[ \$(kcat -C -b '$KAFKA_BOOTSTRAP' -t '$RESULT_TOPIC' -o beginning -e -q -f 'x\n' 2>/dev/null | wc -l) -ge $n ]]"
    topic_dump "$RESULT_TOPIC" "$IT_DIR/results.jsonl"
}

# result_of COMMAND_ID: the (last) result JSON of that command.
result_of() {
    jq -c --arg id "$1" 'select(.command_id == $id)' "$IT_DIR/results.jsonl" | tail -1
}

# emu_query NAME SOQL: the records of a SOQL query against sfemu, as JSON.
emu_query() {
    local url=${SFEMU_URL[$1]} tok
    tok=$(curl -sf -d grant_type=client_credentials -d "client_id=$SFEMU_CLIENT_ID" \
        -d "client_secret=$SFEMU_CLIENT_SECRET" "$url/services/oauth2/token" | jq -r .access_token)
    curl -sf -G -H "Authorization: Bearer $tok" --data-urlencode "q=$2" \
        "$url/services/data/v62.0/query"
}

# validate_messages FILE SCHEMA: every line of FILE must validate against
# schemas/SCHEMA.v1.schema.json, with the pinned ajv of the schema tests
# (node_modules installed by the ctest fixture schemas_node).
validate_messages() {
    local file=$1 schema=$2 dir node_dir=$SFB_BINARY_DIR/tests/schemas/node i=0
    [[ -f $node_dir/validate.mjs && -d $node_dir/node_modules ]] ||
        fail "the schema validator is not installed in $node_dir (fixture schemas_node)"
    dir=$IT_DIR/validate-$schema/valid
    rm -rf "$dir"
    mkdir -p "$dir"
    while IFS= read -r line; do
        [[ -n $line ]] || continue
        printf '%s\n' "$line" >"$dir/$schema.$((i++)).json"
    done <"$file"
    node "$node_dir/validate.mjs" --schemas "$SFB_SOURCE_DIR/schemas" "$dir" >"$IT_DIR/validate-$schema.log" ||
        fail "messages do not match $schema.v1: $(grep -v ^PASS "$IT_DIR/validate-$schema.log" | head -5)"
    log "$i $schema messages match $schema.v1"
}
