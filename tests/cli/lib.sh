# Shared helpers for the CLI end-to-end tests (tests/cli/t_*.sh). Source it:
#
#   . "$(dirname "$0")/lib.sh"
#   cli_init org                  # work dir $CLI_DIR, cleanup trap, tool checks
#   emu_start                     # own sfemu on port 0: $EMU_URL
#   sfb info org -c "$CONF" info  # runs sfbridge: $CLI_DIR/info.out, .err, $SFB_RC
#   expect_rc 0 info              # fails with the step's stderr when the code differs
#   cli_pass
#
# Everything started here (sfemu, a backgrounded `sfbridge login`) is stopped
# when the script exits, however it exits. Every sfbridge run's stdout and
# stderr is also appended to $CLI_DIR/all.log, so a test can search all the
# output of a run at once (t_secrets.sh does).
#
# Environment (set by tests/cli/CMakeLists.txt):
#   SFBRIDGE, SFEMU     the built binaries
#   SFB_STORE_PEEK      test tool printing an org's stored refresh token
#   SFB_SOURCE_DIR      source tree (default: two levels above this file)
#   SFB_BINARY_DIR      build tree; work dirs go under $SFB_BINARY_DIR/cli (default /tmp)
#
# Needs: bash 4+, curl, jq.

set -euo pipefail

CLI_LIB_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
SFB_SOURCE_DIR=${SFB_SOURCE_DIR:-$(cd "$CLI_LIB_DIR/../.." && pwd)}
SFB_BINARY_DIR=${SFB_BINARY_DIR:-/tmp}

# The sfemu connected app `sfbridge` (tests/emulator/data/org.json).
SFEMU_CLIENT_ID=3MVG9sfemu.sfbridge.CONSUMERKEY
SFEMU_CLIENT_SECRET=sfemu-sfbridge-secret
# Access tokens are "<15-char org id>!<random>", like Salesforce's.
SFEMU_TOKEN_PREFIX='00D5j00000SfEmu!'
LOGIN_PORT=1717
CALLBACK_URL="http://127.0.0.1:$LOGIN_PORT/salesforce/oauth/v2/callback_salesforce"

CLI_NAME=""
CLI_DIR=""
CLI_START_MS=0
EMU_URL=""
EMU_PID=""
LOGIN_PID=""
LOGIN_URL=""
SFB_RC=0

cli_now_ms() {
    echo $(($(date +%s%N) / 1000000))
}

# log MSG...: a timestamped progress line on stderr (ctest shows it on failure).
log() {
    printf '[%s +%dms] %s\n' "${CLI_NAME:-cli}" $(($(cli_now_ms) - CLI_START_MS)) "$*" >&2
}

# fail MSG...: report with the sfemu log tail, exit 1 (cleanup runs via trap).
fail() {
    printf 'FAIL %s: %s\n' "${CLI_NAME:-cli}" "$*" >&2
    if [[ -n $CLI_DIR && -s $CLI_DIR/sfemu.err ]]; then
        echo "---- last lines of $CLI_DIR/sfemu.err ----" >&2
        tail -n 15 "$CLI_DIR/sfemu.err" >&2
    fi
    exit 1
}

# cli_pass: the closing line of a passing test. A sanitizer report in any
# sfbridge or sfemu output fails the test even where a nonzero exit was the
# expectation (ASan's exit code 1 would pass for "Salesforce said no").
cli_pass() {
    if grep -aqE 'ERROR: (Address|Leak)Sanitizer|runtime error:' "$CLI_DIR/all.log" \
        "$CLI_DIR/sfemu.err"; then
        grep -aE -m3 'ERROR: (Address|Leak)Sanitizer|runtime error:' "$CLI_DIR/all.log" \
            "$CLI_DIR/sfemu.err" >&2
        fail "sanitizer report in the output"
    fi
    echo "PASS cli_${CLI_NAME} ($(($(cli_now_ms) - CLI_START_MS)) ms)"
    exit 0
}

# assert_eq EXPECTED ACTUAL WHAT
assert_eq() {
    [[ $1 == "$2" ]] || fail "$3: expected '$1', got '$2'"
}

# assert_contains FILE TEXT WHAT: FILE holds TEXT (fixed string).
assert_contains() {
    grep -qF -- "$2" "$1" || fail "$3: '$2' not in $(basename "$1"): $(head -c 600 "$1")"
}

# assert_lacks FILE TEXT WHAT
assert_lacks() {
    if grep -qF -- "$2" "$1"; then fail "$3: '$2' found in $(basename "$1")"; fi
}

_cli_stop_pid() {
    local pid=$1 i
    kill -TERM "$pid" 2>/dev/null || return 0
    for i in $(seq 1 100); do
        kill -0 "$pid" 2>/dev/null || break
        sleep 0.05
    done
    kill -KILL "$pid" 2>/dev/null || true
    wait "$pid" 2>/dev/null || true
}

cli_cleanup() {
    local rc=$?
    [[ -n $LOGIN_PID ]] && _cli_stop_pid "$LOGIN_PID"
    [[ -n $EMU_PID ]] && _cli_stop_pid "$EMU_PID"
    LOGIN_PID="" EMU_PID=""
    exit "$rc"
}

# cli_init NAME: fresh work dir $CLI_DIR, cleanup trap, binaries and tools present.
cli_init() {
    CLI_NAME=$1
    CLI_START_MS=$(cli_now_ms)
    CLI_DIR=$SFB_BINARY_DIR/cli/$CLI_NAME
    rm -rf "$CLI_DIR"
    mkdir -p "$CLI_DIR"
    : >"$CLI_DIR/all.log"
    trap cli_cleanup EXIT
    # A command failing under set -e exits without a word; say which one.
    set -E
    trap 'log "exit $? from line $LINENO: $BASH_COMMAND"' ERR
    trap 'exit 130' INT
    trap 'exit 143' TERM
    local c
    for c in curl jq; do command -v "$c" >/dev/null || fail "$c is not installed"; done
    [[ -x ${SFBRIDGE:-} ]] || fail "SFBRIDGE is not the sfbridge binary (run under ctest)"
    [[ -x ${SFEMU:-} ]] || fail "SFEMU is not the sfemu binary (run under ctest)"
    log "work dir $CLI_DIR"
}

# emu_start [SFEMU ARGS...]: start sfemu on port 0, set $EMU_URL.
emu_start() {
    [[ -z $EMU_PID ]] || fail "emu_start: sfemu already runs"
    # The background job opens its redirections later: create the files first.
    : >"$CLI_DIR/sfemu.out"
    : >"$CLI_DIR/sfemu.err"
    "$SFEMU" --port 0 "$@" </dev/null >"$CLI_DIR/sfemu.out" 2>"$CLI_DIR/sfemu.err" &
    EMU_PID=$!
    local i
    for i in $(seq 1 200); do
        EMU_URL=$(sed -n 's/^sfemu listening on //p' "$CLI_DIR/sfemu.out")
        [[ -n $EMU_URL ]] && break
        kill -0 "$EMU_PID" 2>/dev/null || fail "sfemu exited: $(cat "$CLI_DIR/sfemu.err")"
        sleep 0.05
    done
    [[ -n $EMU_URL ]] || fail "sfemu printed no URL"
    log "sfemu (pid $EMU_PID) at $EMU_URL"
}

# emu_ctl METHOD PATH [JSON]: call the control API (/__sfemu/PATH); the body on stdout.
emu_ctl() {
    local args=(-sS -X "$1" -o "$CLI_DIR/ctl.body" -w '%{http_code}')
    [[ $# -ge 3 ]] && args+=(-H 'Content-Type: application/json' --data-binary "$3")
    local code
    code=$(curl "${args[@]}" "$EMU_URL/__sfemu/$2") || fail "control API $1 $2: curl failed"
    [[ $code == 2* ]] || fail "control API $1 $2: HTTP $code $(cat "$CLI_DIR/ctl.body")"
    cat "$CLI_DIR/ctl.body"
}

# emu_token: an access token of the sfbridge app (client credentials), for curl.
emu_token() {
    curl -sSf -d grant_type=client_credentials -d "client_id=$SFEMU_CLIENT_ID" \
        -d "client_secret=$SFEMU_CLIENT_SECRET" "$EMU_URL/services/oauth2/token" |
        jq -er .access_token
}

# sfb STEP ARGS...: run sfbridge ARGS; stdout in $CLI_DIR/STEP.out, stderr in
# STEP.err (both also appended to all.log), exit code in $SFB_RC.
sfb() {
    local step=$1
    shift
    SFB_RC=0
    "$SFBRIDGE" "$@" </dev/null >"$CLI_DIR/$step.out" 2>"$CLI_DIR/$step.err" || SFB_RC=$?
    {
        echo "==== $step: sfbridge $* (exit $SFB_RC)"
        cat "$CLI_DIR/$step.out" "$CLI_DIR/$step.err"
    } >>"$CLI_DIR/all.log"
}

# expect_rc CODE STEP: the last sfb STEP exited with CODE.
expect_rc() {
    [[ $SFB_RC == "$1" ]] ||
        fail "$2: exit $SFB_RC, expected $1; stderr: $(head -c 1500 "$CLI_DIR/$2.err")"
}

# run_ok STEP ARGS...: sfb, and it must exit 0.
run_ok() {
    sfb "$@"
    expect_rc 0 "$1"
}

# login_start STEP ARGS...: run `sfbridge ARGS` (a login) in the background and
# wait for the authorize URL it prints: $LOGIN_URL. The callback port is fixed
# (1717, the app's registered redirect), so when another build's test holds it
# this waits for it (up to 60 s) rather than failing.
login_start() {
    local step=$1
    shift
    [[ -z $LOGIN_PID ]] || fail "login_start: a login is already running"
    local deadline=$(($(cli_now_ms) + 60000))
    while :; do
        : >"$CLI_DIR/$step.out"
        : >"$CLI_DIR/$step.err"
        "$SFBRIDGE" "$@" </dev/null >"$CLI_DIR/$step.out" 2>"$CLI_DIR/$step.err" &
        LOGIN_PID=$!
        LOGIN_URL=""
        while kill -0 "$LOGIN_PID" 2>/dev/null; do
            LOGIN_URL=$(grep -m1 '^http' "$CLI_DIR/$step.out" || true)
            [[ -n $LOGIN_URL ]] && break
            sleep 0.05
        done
        [[ -n $LOGIN_URL ]] && break
        SFB_RC=0
        wait "$LOGIN_PID" || SFB_RC=$?
        LOGIN_PID=""
        if grep -q 'cannot listen' "$CLI_DIR/$step.err" && (($(cli_now_ms) < deadline)); then
            log "port $LOGIN_PORT busy; waiting"
            sleep 1
            continue
        fi
        cat "$CLI_DIR/$step.out" "$CLI_DIR/$step.err" >>"$CLI_DIR/all.log"
        fail "$step: login exited ($SFB_RC) without an authorize URL: $(cat "$CLI_DIR/$step.err")"
    done
    log "$step: login (pid $LOGIN_PID) waits on $LOGIN_PORT"
}

# login_wait STEP: wait (up to 30 s) for the background login; $SFB_RC.
login_wait() {
    local step=$1 i
    for i in $(seq 1 600); do
        kill -0 "$LOGIN_PID" 2>/dev/null || break
        sleep 0.05
    done
    kill -0 "$LOGIN_PID" 2>/dev/null && fail "$step: login still running after 30 s"
    SFB_RC=0
    wait "$LOGIN_PID" || SFB_RC=$?
    LOGIN_PID=""
    {
        echo "==== $step: sfbridge login (exit $SFB_RC)"
        cat "$CLI_DIR/$step.out" "$CLI_DIR/$step.err"
    } >>"$CLI_DIR/all.log"
}

# authorize_redirect URL: GET the authorize URL as a logged-in browser would
# (login_hint names the user; the app auto-approves) and print the Location
# sfemu redirects to.
authorize_redirect() {
    local hdr=$CLI_DIR/authorize.hdr code
    code=$(curl -sS -o /dev/null -D "$hdr" -w '%{http_code}' "$1") || fail "authorize: curl failed"
    [[ $code == 302 ]] || fail "authorize: HTTP $code, expected a 302 redirect"
    tr -d '\r' <"$hdr" | sed -n 's/^[Ll]ocation: //p'
}

# url_param URL NAME: the (still encoded) value of query parameter NAME.
url_param() {
    printf '%s\n' "$1" | sed -n "s/.*[?&]$2=\([^&]*\).*/\1/p"
}
