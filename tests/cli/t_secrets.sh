#!/usr/bin/env bash
# t_secrets.sh - no secret in any output. Every `sfbridge org` command, plus
# check, login and logout, runs with --log-level debug (text and JSON logs)
# against sfemu with every auth flow (client credentials, username-password,
# JWT bearer, refresh token, web-server login with the token store), and
# through the failures that quote Salesforce (wrong password, wrong secret,
# revoked token, malformed query). Then stdout+stderr of every run is searched
# for every secret the test used or learned: client secret, passwords and
# security token, the JWT private key, refresh tokens, the authorization
# code, the token store key, and any sfemu access token ("00D...!...").
. "$(dirname "$0")/lib.sh"
cli_init secrets
emu_start

KEYFILE=$SFB_SOURCE_DIR/tests/emulator/data/test-keys/jwt-app.TEST-ONLY.key
[[ -r $KEYFILE ]] || fail "no JWT test key at $KEYFILE"
export SFB_CLI_SECRET=$SFEMU_CLIENT_SECRET
export SFB_CLI_PASSWORD=sfemu-Admin-1 SFB_CLI_SECTOKEN=TOKENADMIN1
export SFB_CLI_BADPW=Wrong-Pass-9931 SFB_CLI_BADSECRET=wrong-secret-7714
SFBRIDGE_TOKEN_KEY=$(od -An -tx1 -N32 /dev/urandom | tr -d ' \n')
export SFBRIDGE_TOKEN_KEY

# A refresh token of our own, from an authorization-code grant driven by curl
# (no PKCE: sfemu, like Salesforce, makes it optional for this app).
q="response_type=code&client_id=$SFEMU_CLIENT_ID&login_hint=admin@sfemu.test&state=s1"
q+="&redirect_uri=$(jq -rn --arg u "$CALLBACK_URL" '$u | @uri')"
loc=$(authorize_redirect "$EMU_URL/services/oauth2/authorize?$q")
own_code=$(url_param "$loc" code)
curl -sS -o "$CLI_DIR/own.json" -d grant_type=authorization_code -d "code=$own_code" \
    -d "client_id=$SFEMU_CLIENT_ID" -d "client_secret=$SFEMU_CLIENT_SECRET" \
    --data-urlencode "redirect_uri=$CALLBACK_URL" "$EMU_URL/services/oauth2/token"
SFB_CLI_RT=$(jq -er .refresh_token "$CLI_DIR/own.json") || fail "no refresh token: $(cat "$CLI_DIR/own.json")"
own_at=$(jq -er .access_token "$CLI_DIR/own.json")
export SFB_CLI_RT

STORE=$CLI_DIR/tokens.db
CONF=$CLI_DIR/sfbridge.conf
org() { # NAME FLOW-SETTINGS
    printf '  { name = "%s"; login_url = "%s"; timeout_ms = 10000;\n    auth = { %s }; }' \
        "$1" "$EMU_URL" "$2"
}
CC="client_id = \"$SFEMU_CLIENT_ID\"; client_secret = \"\${SFB_CLI_SECRET}\";"
{
    echo 'kafka = { brokers = "127.0.0.1:9"; };'
    echo "token_store = { path = \"$STORE\"; key = \"\${SFBRIDGE_TOKEN_KEY}\"; };"
    echo "orgs = ("
    org cc "flow = \"client_credentials\"; $CC"
    echo ","
    org pw "flow = \"password\"; $CC username = \"admin@sfemu.test\"; password = \"\${SFB_CLI_PASSWORD}\"; security_token = \"\${SFB_CLI_SECTOKEN}\";"
    echo ","
    org jwt "flow = \"jwt\"; client_id = \"3MVG9sfemu.jwt.CONSUMERKEY\"; username = \"jwt@sfemu.test\"; private_key = \"@$KEYFILE\";"
    echo ","
    org rt "flow = \"refresh_token\"; $CC refresh_token = \"\${SFB_CLI_RT}\";"
    echo ","
    org web "flow = \"web_server\"; $CC redirect_port = $LOGIN_PORT;"
    echo ","
    org badpw "flow = \"password\"; $CC username = \"admin@sfemu.test\"; password = \"\${SFB_CLI_BADPW}\";"
    echo ","
    org badsecret "flow = \"client_credentials\"; client_id = \"$SFEMU_CLIENT_ID\"; client_secret = \"\${SFB_CLI_BADSECRET}\";"
    echo ");"
} >"$CONF"

emu_ctl POST records '{"Account":[{"Name":"Secret Test, Inc"},{"Name":"Deleted One"}]}' >/dev/null
del_id=$(emu_ctl POST records '{"Account":[{"Name":"Deleted Two"}]}' | jq -r '.Account[0]')
curl -sS -o /dev/null -X DELETE -H "Authorization: Bearer $own_at" \
    "$EMU_URL/services/data/v62.0/sobjects/Account/$del_id"

D=(--log-level debug)
run_ok check "${D[@]}" check -c "$CONF"
# Every org command with every flow that needs no login.
for o in cc pw jwt rt; do
    for fmt in json text; do
        G=("${D[@]}" --log-format "$fmt")
        run_ok "$o.$fmt.info" "${G[@]}" org -c "$CONF" --org "$o" info
        # The flow really ran: info names the user each flow logs in as.
        case $o in
            cc) want=integration@sfemu.test ;;
            jwt) want=jwt@sfemu.test ;;
            *) want=admin@sfemu.test ;;
        esac
        assert_eq "$want" "$(jq -r .username "$CLI_DIR/$o.$fmt.info.out")" "$o: logged in as"
    done
    O=("${D[@]}" org -c "$CONF" --org "$o")
    run_ok "$o.versions" "${O[@]}" versions
    run_ok "$o.resources" "${O[@]}" resources
    run_ok "$o.limits" "${O[@]}" limits
    run_ok "$o.limits_t" "${O[@]}" --format table limits
    run_ok "$o.desc" "${O[@]}" describe Account
    run_ok "$o.desc_t" "${O[@]}" --format table describe Account
    run_ok "$o.gdesc" "${O[@]}" describe
    for fmt in json ndjson csv table; do
        run_ok "$o.q.$fmt" "${O[@]}" --format "$fmt" query "SELECT Id, Name FROM Account"
    done
    run_ok "$o.qall" "${O[@]}" query --all "SELECT Id, Name, IsDeleted FROM Account"
    jq -e 'map(select(.IsDeleted)) | length == 1' "$CLI_DIR/$o.qall.out" >/dev/null ||
        fail "$o: query --all lacks the deleted row"
    sfb "$o.qbad" "${O[@]}" query "SELECT FROM"
    expect_rc 1 "$o.qbad"
done

# The web-server login, a run on its stored token, a logout, and the runs after.
login_start web.login "${D[@]}" login -c "$CONF" --org web --timeout 30
loc=$(authorize_redirect "$LOGIN_URL&login_hint=admin@sfemu.test")
login_code=$(url_param "$loc" code)
curl -sS -o /dev/null "$loc" || fail "callback not reachable"
login_wait web.login
expect_rc 0 web.login
web_rt=$("$SFB_STORE_PEEK" "$STORE" web) || fail "login stored no token"
run_ok web.info "${D[@]}" org -c "$CONF" --org web info
run_ok web.q "${D[@]}" --log-format json org -c "$CONF" --org web query "SELECT Id FROM Account"
run_ok web.logout "${D[@]}" logout -c "$CONF" --org web
sfb web.after "${D[@]}" org -c "$CONF" --org web info
expect_rc 1 web.after

# Failures that quote Salesforce's answers.
sfb badpw "${D[@]}" org -c "$CONF" --org badpw info
expect_rc 1 badpw
assert_contains "$CLI_DIR/badpw.err" "invalid_grant" "wrong password: Salesforce's error"
sfb badsecret "${D[@]}" org -c "$CONF" --org badsecret limits
expect_rc 1 badsecret
assert_contains "$CLI_DIR/badsecret.err" "invalid_client" "wrong secret: Salesforce's error"
# Our own refresh token, revoked: the rt org's login is refused.
curl -sS -o /dev/null -d "token=$SFB_CLI_RT" "$EMU_URL/services/oauth2/revoke"
sfb rt.revoked "${D[@]}" org -c "$CONF" --org rt info
expect_rc 1 rt.revoked
assert_contains "$CLI_DIR/rt.revoked.err" "expired or revoked" "revoked refresh token"

# ---- the search
ALL=$CLI_DIR/all.log
# Debug logging really ran: token requests and REST calls are in the output.
assert_contains "$ALL" "debug" "debug log lines"
assert_contains "$ALL" "/services/oauth2/token" "token requests logged"
assert_contains "$ALL" '"level":"debug"' "JSON debug log lines"
runs=$(grep -c '^==== ' "$ALL")
((runs >= 69)) || fail "only $runs sfbridge runs (69 expected)"
# The last lines of the PEM body (the first ones are shared by every RSA key).
pem_line=$(grep -v -- '-----' "$KEYFILE" | sed -n '10p')
[[ ${#pem_line} -ge 60 ]] || fail "JWT key line too short"
secrets=(
    "client secret=$SFEMU_CLIENT_SECRET"
    "password=$SFB_CLI_PASSWORD"
    "security token=$SFB_CLI_SECTOKEN"
    "wrong password=$SFB_CLI_BADPW"
    "wrong client secret=$SFB_CLI_BADSECRET"
    "JWT private key=$pem_line"
    "refresh token (rt org)=$SFB_CLI_RT"
    "refresh token (login)=$web_rt"
    "authorization code (login)=$login_code"
    "authorization code (own)=$own_code"
    "access token (own)=$own_at"
    "token store key=$SFBRIDGE_TOKEN_KEY"
    "access token prefix=$SFEMU_TOKEN_PREFIX"
    "URL-encoded access token prefix=${SFEMU_TOKEN_PREFIX%!}%21"
)
# The search can fail: every secret is found in a file that holds them all.
printf '%s\n' "${secrets[@]}" >"$CLI_DIR/control.txt"
found=0
for s in "${secrets[@]}"; do
    name=${s%%=*} value=${s#*=}
    [[ -n $value ]] || fail "secret '$name' is empty"
    grep -aqiF -- "$value" "$CLI_DIR/control.txt" || fail "control: '$name' not found"
    if grep -aqiF -- "$value" "$ALL"; then
        line=$(grep -aniF -- "$value" "$ALL" | head -n1 | cut -d: -f1)
        echo "LEAK: $name in all.log line $line" >&2
        found=$((found + 1))
    fi
done
((found == 0)) || fail "$found secret(s) in sfbridge output (see $ALL)"
rm -f "$CLI_DIR/control.txt"
log "$runs sfbridge runs, ${#secrets[@]} secrets, $(wc -l <"$ALL") output lines: no secret"
cli_pass
