#!/bin/sh
# test_smtp.sh: wire/smtp.c against a real SMTP server on loopback (aiosmtpd, driven by
# tests/integration/smtpserver.py) through the tests/smtp_send program: a message arrives
# byte for byte (headers, UTF-8 body, lines starting with "."), a refused recipient or
# message is a permanent error, a deferral, a server that is down or silent a transient
# one; STARTTLS and smtps with a test CA, AUTH, and no password in the error lines.
# Address 127.55.25.1, ports chosen by the kernel (port 0).
. "${top_srcdir:-$(cd "$(dirname "$0")/../.." && pwd)}/tests/integration/lib.sh"
. "$top_srcdir/tests/integration/uplinklib.sh"

uplink_init smtp
need_cmd openssl
SEND="$top_builddir/tests/smtp_send"
[ -x "$SEND" ] || bail "tests/smtp_send not built"
need_aiosmtpd
ADDR=127.55.25.1
FROM=asr-central@provider.test
SRV_PID=""

# smtp_start NAME ARGS...: a server with its own directory $TMPD/NAME; sets URL_PORT.
smtp_start()
{
  _dir="$TMPD/$1"
  shift
  mkdir -p "$_dir"
  "$PY" "$top_srcdir/tests/integration/smtpserver.py" --addr "$ADDR" --dir "$_dir" "$@" \
    >"$_dir/server.log" 2>&1 &
  SRV_PID=$!
  pid_track "$SRV_PID"
  _i=0
  while [ ! -f "$_dir/port" ] && [ $_i -lt 100 ] && kill -0 "$SRV_PID" 2>/dev/null; do
    sleep 0.1
    _i=$((_i + 1))
  done
  [ -f "$_dir/port" ] || { show "$_dir/server.log"; exit 99; }
  PORT=$(cat "$_dir/port")
}

smtp_stop()
{
  pid_stop "$SRV_PID"
  SRV_PID=""
}

# send NAME ARGS...: runs smtp_send; $TMPD/NAME.out / .err, RC.
send()
{
  _n=$1
  shift
  run "$TMPD/$_n.out" "$TMPD/$_n.err" "$SEND" "$@"
}

# expect_result TEXT NAME RESULT: the program printed RESULT (asr_result_str).
expect_result()
{
  if [ "$(cat "$TMPD/$2.out")" = "$3" ]; then
    ok "$1 ($3)"
  else
    not_ok "$1: got '$(cat "$TMPD/$2.out")', expected '$3'"
    show "$TMPD/$2.err"
  fi
}

# mails DIR: the number of messages the server in DIR accepted.
mails()
{
  find "$1" -name 'mail-*.eml' | wc -l | tr -d ' '
}

# The message: CRLF line ends, UTF-8, lines that need dot-stuffing, a long line.
printf '%s\r\n' \
  "From: asr-central <$FROM>" "To: <contact@site.test>" "Subject: Toner order 42 for Acme" \
  "Date: Sat, 21 Nov 2026 08:00:00 +0000" "Message-ID: <order-42@asr-central>" \
  "MIME-Version: 1.0" "Content-Type: text/plain; charset=utf-8" \
  "Content-Transfer-Encoding: 8bit" "" "Grüße aus Köln: Toner für 3 Drucker — ½ € ✓" \
  ".a line that starts with a dot" "." "..two dots" "" \
  "$(printf '%0900d' 0)" "last line" >"$TMPD/msg.eml"

## 1. plain SMTP: delivered intact
smtp_start plain
URL="smtp://$ADDR:$PORT"
send ok "$URL" "$FROM" contact@site.test "$TMPD/msg.eml"
check_status "a message to a real SMTP server is accepted" 0 "$RC"
expect_result "it says success" ok success
check "the server received exactly one message" [ "$(mails "$TMPD/plain")" = 1 ]
check "received byte for byte (headers, UTF-8 body, dot lines, 900-byte line)" \
  cmp "$TMPD/msg.eml" "$TMPD/plain/mail-1.eml"
jcheck "envelope: MAIL FROM and RCPT TO as given" "$TMPD/plain/mail-1.json" \
  "d['mail_from'] == '$FROM' and d['rcpt_tos'] == ['contact@site.test']"

## 2. refusals: permanent (5xx to RCPT or DATA) and transient (4xx)
send refuse "$URL" "$FROM" refuse@site.test "$TMPD/msg.eml"
expect_result "550 to RCPT TO is a permanent refusal" refuse "invalid value"
check "the error line quotes the server's 550" grep -q "refused the recipient: 550 5.1.1" \
  "$TMPD/refuse.err"
send defer "$URL" "$FROM" defer@site.test "$TMPD/msg.eml"
expect_result "451 to RCPT TO is transient" defer "input/output error"
check "the error line quotes the server's 451" grep -q "451 4.3.0" "$TMPD/defer.err"
{
  printf 'X-Test-Refuse: yes\r\n'
  cat "$TMPD/msg.eml"
} >"$TMPD/refused.eml"
send refdata "$URL" "$FROM" contact@site.test "$TMPD/refused.eml"
expect_result "554 to the end of DATA is a permanent refusal" refdata "invalid value"
check "the error line names the message" grep -q "refused the message: 554" "$TMPD/refdata.err"

## 3. header injection and bad settings never reach the server
send inject "$URL" "$FROM" "$(printf 'a@site.test\r\nRCPT TO:<b@evil.test>')" "$TMPD/msg.eml"
expect_result "a recipient with CR/LF is refused before sending" inject "invalid value"
send inject2 "$URL" "$FROM" "a@site.test>, <b@evil.test" "$TMPD/msg.eml"
expect_result "a recipient with angle brackets is refused" inject2 "invalid value"
send badfrom "$URL" "$(printf 'x@p.test\r\nRCPT TO:<b@evil.test>')" a@site.test "$TMPD/msg.eml"
expect_result "a sender with CR/LF is a bad setting" badfrom "bad command line"
send badurl "http://$ADDR:$PORT" "$FROM" a@site.test "$TMPD/msg.eml"
expect_result "a non-SMTP URL is a bad setting" badurl "bad command line"
send nostls --starttls "$URL" "$FROM" contact@site.test "$TMPD/msg.eml"
expect_result "STARTTLS required but not offered: transient, not sent in clear" nostls \
  "input/output error"
check "still one message received (nothing sent by the refused attempts)" \
  [ "$(mails "$TMPD/plain")" = 1 ]

## 4. notices composed by central/mail.c, read back by Python's e-mail parser
# pymail FILE EXPR: EXPR on m (the parsed message, policy.default) and body (its text).
pymail()
{
  "$PY" - "$1" "$2" <<'PYEOF'
import email, email.policy, sys
m = email.message_from_binary_file(open(sys.argv[1], 'rb'), policy=email.policy.default)
body = m.get_content()
r = eval(sys.argv[2])
if not r:
    print('#   false: %s' % sys.argv[2])
    print('#   Subject=%r To=%r Date=%r' % (m['Subject'], m['To'], m['Date']))
sys.exit(0 if r else 1)
PYEOF
}
send order "$URL" "$FROM" supplies@acme.test @order
expect_result "an order notice from cmail_compose is accepted" order success
send silentn "$URL" "$FROM" supplies@acme.test @silent
expect_result "a disconnection notice is accepted" silentn success
check "two notices received" [ "$(mails "$TMPD/plain")" = 3 ]
check "order notice: Subject decodes to the UTF-8 site name and order number" \
  pymail "$TMPD/plain/mail-2.eml" \
  "m['Subject'] == 'Bäckerei Müller — Zürich: supplies order 7 created'"
check "order notice: From, To, Date, Message-ID as a mail reader sees them" \
  pymail "$TMPD/plain/mail-2.eml" "m['To'].addresses[0].addr_spec == 'supplies@acme.test' and \
  m['From'].addresses[0].addr_spec == '$FROM' and \
  m['Date'].datetime.isoformat() == '2026-11-18T11:06:40+00:00' and \
  m['Message-ID'] == '<order-7-created@provider.test>'"
check "order notice: no injected header, the hostile strings in the body on one line" \
  pymail "$TMPD/plain/mail-2.eml" "m['Bcc'] is None and \
  '1. Label: SN-1  Bcc: victim@evil.test (Laser\ufffd 500)' in body and \
  'Supply: Cyan Toner\ufffd[0m, colour cyan' in body and m.get_content_charset() == 'utf-8'"
check "disconnection notice: devices, last report and how to reconnect" \
  pymail "$TMPD/plain/mail-3.eml" "m['Subject'].endswith(': 2 printers not reporting') and \
  '1. Serial: SN-3 (Inkjet \ufffd()' in body and '2. Serial: SN-4 .' in body and \
  '(8 days ago)' in body and 'asr-agent status' in body and m['Bcc'] is None"

## 5. the server is down, or silent
smtp_stop
send down "$URL" "$FROM" contact@site.test "$TMPD/msg.eml"
expect_result "server down: transient" down "input/output error"
check "the error line says so" grep -q "could not connect" "$TMPD/down.err"
"$PY" -c '
import socket, sys, time
s = socket.socket(); s.bind((sys.argv[1], 0)); s.listen(4)
open(sys.argv[2], "w").write(str(s.getsockname()[1]))
time.sleep(60)' "$ADDR" "$TMPD/silent.port" &
SILENT_PID=$!
pid_track "$SILENT_PID"
_i=0
while [ ! -s "$TMPD/silent.port" ] && [ $_i -lt 50 ]; do
  sleep 0.1
  _i=$((_i + 1))
done
send silent --timeout 1500 "smtp://$ADDR:$(cat "$TMPD/silent.port")" "$FROM" c@site.test \
  "$TMPD/msg.eml"
expect_result "a server that never greets: timeout" silent "timeout"
pid_stop "$SILENT_PID"

## 6. TLS: STARTTLS and smtps with a test CA, AUTH over TLS
tls_ca ca
tls_ca other
tls_cert ca srv "IP:$ADDR"
printf 's3cret-Pa55\n' >"$TMPD/pw"
printf 'wrong-Pa55\n' >"$TMPD/badpw"
chmod 600 "$TMPD/pw" "$TMPD/badpw"
smtp_start stls --starttls "$TMPD/tls/srv.pem" "$TMPD/tls/srv.key" --auth "mailer:s3cret-Pa55"
URL="smtp://$ADDR:$PORT"
send stls --starttls --ca "$TMPD/tls/ca.pem" --user mailer --password-file "$TMPD/pw" \
  "$URL" "$FROM" contact@site.test "$TMPD/msg.eml"
expect_result "STARTTLS with the test CA and AUTH: accepted" stls success
check "received intact over STARTTLS" cmp "$TMPD/msg.eml" "$TMPD/stls/mail-1.eml"
jcheck "the server saw an authenticated session" "$TMPD/stls/mail-1.json" "d['authenticated']"
send badca --starttls --ca "$TMPD/tls/other.pem" --user mailer --password-file "$TMPD/pw" \
  "$URL" "$FROM" contact@site.test "$TMPD/msg.eml"
expect_result "a certificate from another CA is refused (transient: fix the CA)" badca \
  "input/output error"
send badpw --starttls --ca "$TMPD/tls/ca.pem" --user mailer --password-file "$TMPD/badpw" \
  "$URL" "$FROM" contact@site.test "$TMPD/msg.eml"
expect_result "a wrong password is not a refusal of the message" badpw "input/output error"
check "the error line says the credentials were refused" grep -q "refused our user" \
  "$TMPD/badpw.err"
if grep -q "Pa55" "$TMPD"/*.err; then not_ok "a password in an error line"; else
  ok "no password in any error line"
fi
check "only the good attempt was received" [ "$(mails "$TMPD/stls")" = 1 ]
smtp_stop

smtp_start smtps --smtps "$TMPD/tls/srv.pem" "$TMPD/tls/srv.key"
send smtps --ca "$TMPD/tls/ca.pem" "smtps://$ADDR:$PORT" "$FROM" contact@site.test \
  "$TMPD/msg.eml"
expect_result "smtps:// with the test CA: accepted" smtps success
check "received intact over smtps" cmp "$TMPD/msg.eml" "$TMPD/smtps/mail-1.eml"
send smtpsbad --ca "$TMPD/tls/other.pem" "smtps://$ADDR:$PORT" "$FROM" contact@site.test \
  "$TMPD/msg.eml"
expect_result "smtps:// with the wrong CA: refused" smtpsbad "input/output error"
smtp_stop

finish
