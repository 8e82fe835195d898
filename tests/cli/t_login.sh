#!/usr/bin/env bash
# t_login.sh - `sfbridge login` / `sfbridge logout` end to end against sfemu.
#
# curl plays the browser: it opens the authorize URL login prints (with
# login_hint, the auto-approving app redirects at once; or through the login
# form, posted like a browser would), then follows the redirect to login's
# loopback callback. Checked: the state check refuses a forged redirect, a
# denial and a timeout fail with their reasons, a good login stores the
# refresh token (file mode 0600, token not in the file in clear), `org info`
# then logs in through the refresh-token flow as the person who logged in,
# a tampered store and a wrong key are clear errors, and logout revokes the
# token at sfemu and deletes it, after which `org info` says to log in again.
. "$(dirname "$0")/lib.sh"
cli_init login
emu_start
command -v python3 >/dev/null || fail "python3 is not installed"

export SFB_CLI_SECRET=$SFEMU_CLIENT_SECRET
SFBRIDGE_TOKEN_KEY=$(od -An -tx1 -N32 /dev/urandom | tr -d ' \n')
export SFBRIDGE_TOKEN_KEY
STORE=$CLI_DIR/tokens.db
CONF=$CLI_DIR/sfbridge.conf
cat >"$CONF" <<CONF
kafka = { brokers = "127.0.0.1:9"; };
token_store = { path = "$STORE"; key = "\${SFBRIDGE_TOKEN_KEY}"; };
orgs = (
  { name = "web"; login_url = "$EMU_URL"; timeout_ms = 10000;
    auth = { flow = "web_server"; client_id = "$SFEMU_CLIENT_ID";
             client_secret = "\${SFB_CLI_SECRET}"; redirect_port = $LOGIN_PORT; }; },
  { name = "cc"; login_url = "$EMU_URL"; timeout_ms = 10000;
    auth = { flow = "client_credentials"; client_id = "$SFEMU_CLIENT_ID";
             client_secret = "\${SFB_CLI_SECRET}"; }; }
);
CONF
L=(-c "$CONF" --org web)

# refresh_works TOKEN: true when sfemu grants an access token for TOKEN.
refresh_works() {
    curl -sS -o "$CLI_DIR/refresh.json" -d grant_type=refresh_token -d "refresh_token=$1" \
        -d "client_id=$SFEMU_CLIENT_ID" -d "client_secret=$SFEMU_CLIENT_SECRET" \
        "$EMU_URL/services/oauth2/token" &&
        jq -e '.access_token | startswith("00D")' "$CLI_DIR/refresh.json" >/dev/null
}

# ---- the authorize URL is the one Salesforce expects
login_start forged login "${L[@]}" --timeout 30
[[ $LOGIN_URL == "$EMU_URL/services/oauth2/authorize?"* ]] || fail "authorize URL: $LOGIN_URL"
for p in response_type=code "client_id=$SFEMU_CLIENT_ID" code_challenge_method=S256 \
    "redirect_uri=$(jq -rn --arg u "$CALLBACK_URL" '$u | @uri')"; do
    [[ $LOGIN_URL == *"$p"* ]] || fail "authorize URL lacks $p: $LOGIN_URL"
done
state=$(url_param "$LOGIN_URL" state)
[[ ${#state} -ge 16 ]] || fail "state too short: '$state'"
[[ -n $(url_param "$LOGIN_URL" code_challenge) ]] || fail "no PKCE code_challenge"

# ---- a redirect with another state is refused, and the code is not used
loc=$(authorize_redirect "$LOGIN_URL&login_hint=admin@sfemu.test")
[[ $loc == "$CALLBACK_URL?"* ]] || fail "sfemu redirected to $loc"
assert_eq "$state" "$(url_param "$loc" state)" "state echoed by sfemu"
code=$(url_param "$loc" code)
[[ -n $code ]] || fail "no code in $loc"
curl -sS -o "$CLI_DIR/forged.page" "$CALLBACK_URL?code=$code&state=forged${state:0:8}" ||
    fail "callback not reachable"
login_wait forged
expect_rc 1 forged
# Regression: the browser was told "logged in" by a redirect that login refused.
assert_contains "$CLI_DIR/forged.page" "state mismatch" "callback page of a forged redirect"
assert_contains "$CLI_DIR/forged.err" "state does not match" "forged state"
[[ ! -e $STORE ]] || fail "a refused login wrote the token store"
# The refused code is still unused: exchanging it now (without the PKCE
# verifier) fails for lack of the verifier, not because it was spent.
curl -sS -o "$CLI_DIR/spent.json" -d grant_type=authorization_code -d "code=$code" \
    -d "client_id=$SFEMU_CLIENT_ID" -d "client_secret=$SFEMU_CLIENT_SECRET" \
    --data-urlencode "redirect_uri=$CALLBACK_URL" "$EMU_URL/services/oauth2/token"
assert_contains "$CLI_DIR/spent.json" "invalid code verifier" "the refused code was not exchanged"

# ---- the user denies access: login reports Salesforce's error
login_start denied login "${L[@]}" --timeout 30
state=$(url_param "$LOGIN_URL" state)
curl -sS -o "$CLI_DIR/denied.page" "$CALLBACK_URL?error=access_denied&error_description=end-user%20denied%20authorization&state=$state"
login_wait denied
expect_rc 1 denied
assert_contains "$CLI_DIR/denied.page" "the login failed" "callback page of a denial"
assert_contains "$CLI_DIR/denied.err" "access_denied" "denied login"

# ---- nobody comes back: the timeout
login_start timeout login "${L[@]}" --timeout 1
login_wait timeout
expect_rc 1 timeout
assert_contains "$CLI_DIR/timeout.err" "no redirect within 1 s" "login timeout"

# ---- login through the form, as a browser posts it
login_start formlogin login "${L[@]}" --timeout 30
page=$(curl -sS -w '\n%{http_code}' "$LOGIN_URL") || fail "authorize page: curl failed"
[[ ${page##*$'\n'} == 200 ]] || fail "authorize page: HTTP ${page##*$'\n'}"
printf '%s' "${page%$'\n'*}" >"$CLI_DIR/authorize.html"
form=$(python3 - "$CLI_DIR/authorize.html" <<'PY'
import html.parser, sys, urllib.parse
class Form(html.parser.HTMLParser):
    fields = []
    def handle_starttag(self, tag, attrs):
        a = dict(attrs)
        if tag == "input" and a.get("type") == "hidden":
            self.fields.append((a["name"], a.get("value", "")))
f = Form()
f.feed(open(sys.argv[1]).read())
f.fields += [("username", "admin@sfemu.test"), ("password", "sfemu-Admin-1"), ("action", "approve")]
print(urllib.parse.urlencode(f.fields))
PY
)
[[ $form == *code_challenge=* && $form == *state=* ]] || fail "login form lacks hidden fields"
code=$(curl -sS -o /dev/null -D "$CLI_DIR/form.hdr" -w '%{http_code}' --data "$form" \
    "$EMU_URL/services/oauth2/authorize")
assert_eq 302 "$code" "login form post"
loc=$(tr -d '\r' <"$CLI_DIR/form.hdr" | sed -n 's/^[Ll]ocation: //p')
[[ $loc == "$CALLBACK_URL?code="* ]] || fail "form login redirected to $loc"
curl -sS -o "$CLI_DIR/formlogin.page" "$loc"
assert_contains "$CLI_DIR/formlogin.page" "logged in" "callback page"
login_wait formlogin
expect_rc 0 formlogin
assert_contains "$CLI_DIR/formlogin.err" "Logged in to org web as admin@sfemu.test" "form login"
rt_form=$("$SFB_STORE_PEEK" "$STORE" web) || fail "no token stored by the form login"

# ---- login with login_hint (auto-approve): the redirect comes at once
login_start login login "${L[@]}" --timeout 30
loc=$(authorize_redirect "$LOGIN_URL&login_hint=admin@sfemu.test")
code=$(url_param "$loc" code)
curl -sS -o "$CLI_DIR/login.page" "$loc"
assert_contains "$CLI_DIR/login.page" "logged in" "callback page"
login_wait login
expect_rc 0 login
assert_contains "$CLI_DIR/login.err" "Logged in to org web as admin@sfemu.test" "login"
assert_contains "$CLI_DIR/login.err" "refresh token stored in $STORE" "login names the store"

# ---- regression: the browser always gets its page. login stopped its
# listener as soon as the redirect arrived, closing the connection under the
# queued page: curl saw "Empty reply from server" on about one login in three.
for i in 1 2 3 4 5; do
    login_start again$i login "${L[@]}" --timeout 30
    loc=$(authorize_redirect "$LOGIN_URL&login_hint=admin@sfemu.test")
    curl -sS -o "$CLI_DIR/again$i.page" "$loc" || fail "login $i: no page from the callback"
    assert_contains "$CLI_DIR/again$i.page" "logged in" "login $i: callback page"
    login_wait again$i
    expect_rc 0 again$i
done

# ---- the store: 0600, encrypted, holds the token sfemu issued
[[ -f $STORE ]] || fail "no token store at $STORE"
assert_eq 600 "$(stat -c %a "$STORE")" "token store mode"
rt=$("$SFB_STORE_PEEK" "$STORE" web) || fail "cannot read the stored token back"
[[ ${#rt} -ge 32 ]] || fail "stored token too short"
[[ $rt != "$rt_form" ]] || fail "the second login did not replace the stored token"
if grep -aqF -- "$rt" "$STORE"; then fail "the refresh token is in the store file in clear"; fi
if grep -aqF -- "$rt" "$CLI_DIR/all.log"; then fail "login printed the refresh token"; fi
if grep -aqF -- "$code" "$CLI_DIR/all.log"; then fail "login printed the authorization code"; fi
head -c 4 "$STORE" | grep -q '^SFTS$' || fail "store file has no SFTS header"
refresh_works "$rt" || fail "the stored token is not a live refresh token: $(cat "$CLI_DIR/refresh.json")"

# ---- org info logs in with the stored refresh token, as the person
run_ok info org "${L[@]}" info
jq -e '.org == "web" and .username == "admin@sfemu.test" and .user_id == "0055j00000AdMinAAF"' \
    "$CLI_DIR/info.out" >/dev/null || fail "info after login: $(cat "$CLI_DIR/info.out")"
run_ok query org "${L[@]}" query "SELECT Id, Username FROM User WHERE Username = 'admin@sfemu.test'"
assert_eq 1 "$(jq length "$CLI_DIR/query.out")" "query after login"

# ---- a wrong key and a tampered store are clear errors
cp "$STORE" "$CLI_DIR/tokens.good"
SFBRIDGE_TOKEN_KEY=$(od -An -tx1 -N32 /dev/urandom | tr -d ' \n') sfb wrongkey org "${L[@]}" info
expect_rc 1 wrongkey
grep -qiE 'token store.*(wrong key|tampered|authenticat|decrypt)' "$CLI_DIR/wrongkey.err" ||
    fail "wrong key: $(cat "$CLI_DIR/wrongkey.err")"
size=$(stat -c %s "$STORE")
printf '\x55' | dd of="$STORE" bs=1 seek=$((size - 20)) conv=notrunc status=none
sfb tampered org "${L[@]}" info
expect_rc 1 tampered
grep -qiE 'token store.*(wrong key|tampered|authenticat|decrypt)' "$CLI_DIR/tampered.err" ||
    fail "tampered store: $(cat "$CLI_DIR/tampered.err")"
cp "$CLI_DIR/tokens.good" "$STORE"

# ---- logout while Salesforce cannot answer (503 on revoke): the token is kept
emu_ctl POST faults '{"error":{"status":503,"errorCode":"SERVER_UNAVAILABLE","next":1,"path_prefix":"/services/oauth2/revoke"}}' >/dev/null
sfb logout503 logout "${L[@]}"
expect_rc 1 logout503
assert_contains "$CLI_DIR/logout503.err" "the token is kept" "logout during a 503"
[[ $("$SFB_STORE_PEEK" "$STORE" web) == "$rt" ]] || fail "logout during a 503 dropped the token"
emu_ctl DELETE faults >/dev/null

# ---- logout revokes at sfemu and deletes the entry
run_ok logout logout "${L[@]}"
assert_contains "$CLI_DIR/logout.err" "Logged out of org web" "logout"
rc=0
"$SFB_STORE_PEEK" "$STORE" web >/dev/null || rc=$?
assert_eq 3 "$rc" "store entry after logout (3 = no entry)"
assert_eq 600 "$(stat -c %a "$STORE")" "token store mode after logout"
if refresh_works "$rt"; then fail "the refresh token still works after logout"; fi
assert_contains "$CLI_DIR/refresh.json" "invalid_grant" "revoked refresh token"
sfb after org "${L[@]}" info
expect_rc 1 after
assert_contains "$CLI_DIR/after.err" "sfbridge login --org web" "after logout: tells to log in"
# The old store copy holds the revoked token: the message says it was revoked.
cp "$CLI_DIR/tokens.good" "$STORE"
sfb revoked org "${L[@]}" info
expect_rc 1 revoked
assert_contains "$CLI_DIR/revoked.err" "expired or revoked" "revoked token"
assert_contains "$CLI_DIR/revoked.err" 'log in again with `sfbridge login' "revoked token: tells to log in"
# Regression: logout of a token Salesforce already revoked (400 invalid_token)
# stopped with "cannot reach Salesforce" and kept the dead token; it deletes it.
run_ok logout2 logout "${L[@]}"
assert_contains "$CLI_DIR/logout2.err" "refused the revocation (invalid_token" "logout of a revoked token"
rc=0
"$SFB_STORE_PEEK" "$STORE" web >/dev/null || rc=$?
assert_eq 3 "$rc" "store entry after logging out a revoked token"
run_ok logout3 logout "${L[@]}"
assert_contains "$CLI_DIR/logout3.err" "nothing to do" "logout without a token"

# ---- usage
sfb cclogin login -c "$CONF" --org cc
expect_rc 2 cclogin
assert_contains "$CLI_DIR/cclogin.err" "needs no login" "login of a client_credentials org"
sfb noorg login -c "$CONF"
expect_rc 2 noorg
grep -v '^token_store' "$CONF" >"$CLI_DIR/nostore.conf"
sfb nostore login -c "$CLI_DIR/nostore.conf" --org web
expect_rc 2 nostore

cli_pass
