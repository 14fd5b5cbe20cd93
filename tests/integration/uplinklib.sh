# uplinklib.sh: helpers for the uplink integration tests (sourced after lib.sh, POSIX sh).
#
#   . "$top_srcdir/tests/integration/lib.sh"
#   . "$top_srcdir/tests/integration/uplinklib.sh"
#   uplink_init NAME                      # itest_init + a trap that also stops what we start
#   need_central; need_enroll; need_cmd openssl
#   tls_ca ca                             # $TMPD/tls/ca.pem, ca.key
#   tls_cert ca srv "IP:127.52.1.1,DNS:central.test"   # srv.pem, srv.key signed by ca
#   tls_cert_expired ca old "IP:127.52.1.1"            # valid Jan 2020 only
#   central_start 127.52.1.1 18610 srv    # HTTPS central on its own db; CENTRAL_URL
#   site_add acme                         # prints nothing; SITE_TOKEN
#   proxy_start 127.52.1.5 18611 [USER PASS]   # tinyproxy; PROXY_URL
#   fault_start 127.52.1.6 18612 srv ARGS...   # faultserver.py in front of the central
#   central_devices OUT                   # asr-central devices --format json
#   central_sql "SELECT ..."; central_dump    # the central's database, either backend
# Addresses: the uplink tests use 127.52.0.0-127.59.255.255 (one /24 per script) and TCP
# ports 18600-18999 (a decade per script), so that `make check -j` can run them together.
# Everything started here is stopped on exit, by its pid.
# The central's database: $CENTRAL_DB, a SQLite file ($TMPD/central.db), or with
# ASR_TEST_DB=pg a database of a PostgreSQL cluster the script starts itself on its own
# port (central_db_init: tests/pg/pgtmp.sh, 127.0.0.1:25500-25599) and removes on exit.
# Scripts pass "$CENTRAL_DB" to every asr-central command and read it through central_sql
# and central_dump, never sqlite3 directly, so that both passes run the same script.

: "${ASR_CENTRAL:=$top_builddir/asr-central}"
FAULTSERVER="$top_srcdir/tests/integration/faultserver.py"
ASRLOAD="$top_srcdir/tests/load/asrload.py"
UPLINK_PIDS=""
CENTRAL_PID=""
PROXY_PID=""
FAULT_PID=""

# uplink_init NAME: itest_init, then a trap that stops centrals, proxies and fault servers,
# and the central's database (central_db_init). A script's SQLite and PostgreSQL passes
# use the same fixed addresses: the lock named after the script keeps them apart (make -j).
uplink_init()
{
  itest_init "$1"
  trap 'uplink_cleanup; central_db_stop; itest_cleanup' EXIT
  mkdir -p "$TMPD/tls" "$TMPD/run"
  unset https_proxy HTTPS_PROXY http_proxy HTTP_PROXY all_proxy ALL_PROXY no_proxy NO_PROXY
  if command -v flock >/dev/null 2>&1; then
    exec 7>"${TMPDIR:-/tmp}/asr-itest-$1.lock"
    flock -w 1800 7 || bail "another run of $1 held its lock for 30 minutes"
  fi
  central_db_init
}

# uplink_cleanup: stops every process this script started through these helpers.
uplink_cleanup()
{
  for _p in $UPLINK_PIDS; do
    kill "$_p" 2>/dev/null
  done
  for _p in $UPLINK_PIDS; do
    _i=0
    while kill -0 "$_p" 2>/dev/null && [ $_i -lt 30 ]; do
      sleep 0.1
      _i=$((_i + 1))
    done
    kill -9 "$_p" 2>/dev/null
    wait "$_p" 2>/dev/null
  done
  UPLINK_PIDS=""
}

# pid_track PID / pid_untrack PID: the list uplink_cleanup stops.
pid_track()
{
  UPLINK_PIDS="$UPLINK_PIDS $1"
}

pid_untrack()
{
  _keep=""
  for _p in $UPLINK_PIDS; do
    [ "$_p" = "$1" ] || _keep="$_keep $_p"
  done
  UPLINK_PIDS=$_keep
}

# pid_stop PID [SIGNAL]: stops one process we started and waits for it.
pid_stop()
{
  [ -n "$1" ] || return 0
  kill "-${2:-TERM}" "$1" 2>/dev/null
  _i=0
  while kill -0 "$1" 2>/dev/null && [ $_i -lt 50 ]; do
    sleep 0.1
    _i=$((_i + 1))
  done
  kill -9 "$1" 2>/dev/null
  wait "$1" 2>/dev/null
  pid_untrack "$1"
}

# need_cmd CMD...: skip when a command is missing.
need_cmd()
{
  for _c in "$@"; do
    command -v "$_c" >/dev/null 2>&1 || skip "$_c not installed (scripts/deps.sh test)"
  done
}

# need_aiosmtpd: sets PY to a python3 that has aiosmtpd (Debian's python3-aiosmtpd is
# seen by /usr/bin/python3, maybe not by another python3 on PATH); skips without one.
need_aiosmtpd()
{
  PY=""
  for _p in /usr/bin/python3 python3; do
    if "$_p" -c 'import aiosmtpd' 2>/dev/null; then
      PY=$_p
      return 0
    fi
  done
  skip "python3-aiosmtpd not installed (scripts/deps.sh test)"
}

# need_central: a hard error when asr-central is not built.
need_central()
{
  [ -f "$ASR_CENTRAL" ] && [ -x "$ASR_CENTRAL" ] || bail "asr-central not built ($ASR_CENTRAL)"
}

# need_enroll: the agent, for enrol and upload.
need_enroll()
{
  need_agent
}

# wait_port ADDR PORT [TENTHS] [PID]: waits until a TCP connect succeeds (default 10 s);
# fails early when PID (the server) died.
wait_port()
{
  _n=${3:-100}
  _i=0
  while [ $_i -lt "$_n" ]; do
    if [ -n "${4:-}" ] && ! kill -0 "$4" 2>/dev/null; then
      return 1
    fi
    if python3 -c 'import socket,sys; socket.create_connection((sys.argv[1], int(sys.argv[2])), 0.5).close()' \
      "$1" "$2" 2>/dev/null; then
      return 0
    fi
    sleep 0.1
    _i=$((_i + 1))
  done
  return 1
}

## ---------------------------------------------------------------------------------------
## Certificates (openssl CLI). EC P-256 keys: fast to make, fine for curl and GnuTLS.

# tls_ca NAME [CN]: a self-signed CA, $TMPD/tls/NAME.pem and NAME.key.
tls_ca()
{
  _d="$TMPD/tls"
  openssl req -x509 -new -nodes -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 \
    -keyout "$_d/$1.key" -out "$_d/$1.pem" -days 30 -subj "/CN=${2:-asr test CA $1}" \
    -addext "basicConstraints=critical,CA:TRUE" -addext "keyUsage=critical,keyCertSign,cRLSign" \
    >"$_d/$1.log" 2>&1 || { show "$_d/$1.log"; exit 99; }
}

# tls_csr NAME CN SAN: a key and a request, and the extensions file for the certificate.
tls_csr()
{
  _d="$TMPD/tls"
  # shellcheck disable=SC2086 # TLS_NEWKEY (e.g. "rsa:2048") holds words on purpose
  openssl req -new -nodes -newkey ${TLS_NEWKEY:-ec -pkeyopt ec_paramgen_curve:prime256v1} \
    -keyout "$_d/$1.key" -out "$_d/$1.csr" -subj "/CN=$2" >"$_d/$1.log" 2>&1 ||
    { show "$_d/$1.log"; exit 99; }
  chmod 600 "$_d/$1.key"
  cat >"$_d/$1.ext" <<EOF
basicConstraints=critical,CA:FALSE
keyUsage=critical,digitalSignature,keyEncipherment
extendedKeyUsage=serverAuth,clientAuth
subjectAltName=$3
EOF
}

# tls_cert CA NAME SAN [CN]: NAME.pem / NAME.key signed by CA for SAN
# ("IP:127.52.1.1,DNS:central.test"), valid 30 days from now. An EC P-256 key, or what
# TLS_NEWKEY says (openssl req -newkey: "rsa:2048").
tls_cert()
{
  _d="$TMPD/tls"
  tls_csr "$2" "${4:-asr test $2}" "$3"
  openssl x509 -req -in "$_d/$2.csr" -CA "$_d/$1.pem" -CAkey "$_d/$1.key" -set_serial \
    "0x$(od -An -tx1 -N8 /dev/urandom | tr -d ' \n')" -days 30 -sha256 \
    -extfile "$_d/$2.ext" -out "$_d/$2.pem" >>"$_d/$2.log" 2>&1 || { show "$_d/$2.log"; exit 99; }
}

# tls_cert_expired CA NAME SAN: like tls_cert, but valid only in January 2020 (OpenSSL 3.0's
# x509 cannot set dates, so this goes through `openssl ca` and a minimal configuration).
tls_cert_expired()
{
  _d="$TMPD/tls"
  tls_csr "$2" "asr test $2 (expired)" "$3"
  _ca="$_d/ca-$1"
  mkdir -p "$_ca/new"
  : >"$_ca/index.txt"
  od -An -tx1 -N8 /dev/urandom | tr -d ' \n' >"$_ca/serial"
  echo >>"$_ca/serial"
  cat >"$_ca/ca.cnf" <<EOF
[ca]
default_ca = test_ca
[test_ca]
database = $_ca/index.txt
new_certs_dir = $_ca/new
serial = $_ca/serial
default_md = sha256
policy = any
unique_subject = no
[any]
commonName = supplied
EOF
  openssl ca -batch -notext -config "$_ca/ca.cnf" -cert "$_d/$1.pem" -keyfile "$_d/$1.key" \
    -startdate 20200101000000Z -enddate 20200131000000Z -extfile "$_d/$2.ext" \
    -in "$_d/$2.csr" -out "$_d/$2.pem" >>"$_d/$2.log" 2>&1 || { show "$_d/$2.log"; exit 99; }
}

# tls_pin NAME: prints sha256//BASE64 of NAME.pem's public key (curl's pinnedpubkey form).
tls_pin()
{
  printf 'sha256//'
  openssl x509 -in "$TMPD/tls/$1.pem" -pubkey -noout | openssl pkey -pubin -outform der |
    openssl dgst -sha256 -binary | openssl base64 -A
}

## ---------------------------------------------------------------------------------------
## The central's database: SQLite, or PostgreSQL with ASR_TEST_DB=pg

# central_db_port NAME: the PostgreSQL port reserved for the script that called
# uplink_init NAME (25500 + its place in this list; 25500-25599 are the integration
# scripts'), or exit status 1.
central_db_port()
{
  _i=0
  for _n in central uplink orders promises page portal outage crash alerts dataloss attack \
    daemon remote_config confwrite rules outbox_check slow_central tls proxy \
    ingest_memory; do
    if [ "$_n" = "$1" ]; then
      echo $((25500 + _i))
      return 0
    fi
    _i=$((_i + 1))
  done
  return 1
}

# central_db_init: CENTRAL_DB for the pass ASR_TEST_DB names. sqlite (default):
# $TMPD/central.db. pg: a throw-away cluster on the script's port (tests/pg/pgtmp.sh),
# CENTRAL_DB its database's URI, PGPASSFILE its 0600 password file for every asr-central
# command (central_start gives serve --db-password-file instead); skips (77) naming why
# when PostgreSQL cannot start.
central_db_init()
{
  CENTRAL_PG=""
  case ${ASR_TEST_DB:-sqlite} in
  sqlite)
    CENTRAL_DB="$TMPD/central.db"
    return 0
    ;;
  pg) ;;
  *) bail "ASR_TEST_DB=$ASR_TEST_DB: use sqlite or pg" ;;
  esac
  _port=$(central_db_port "$ITEST_NAME") ||
    bail "no PostgreSQL port reserved for $ITEST_NAME (uplinklib.sh, central_db_port)"
  # shellcheck source=../pg/pgtmp.sh
  . "$top_srcdir/tests/pg/pgtmp.sh"
  pgtmp_start "$_port" 7>&- || skip "the PostgreSQL pass cannot run: $PGTMP_WHY"
  CENTRAL_PG=1
  CENTRAL_DB=$PGTMP_URI
  PGPASSFILE=$PGTMP_PASSFILE
  export PGPASSFILE
  echo "# $ITEST_NAME: the PostgreSQL pass, on $CENTRAL_DB"
}

# central_db_stop: removes the cluster central_db_init started (nothing on SQLite).
central_db_stop()
{
  [ -n "${CENTRAL_PG:-}" ] || return 0
  pgtmp_stop
  CENTRAL_PG=""
}

# central_db_name NAME: prints the name of another central database of the script (SQLite:
# $TMPD/NAME.db; PostgreSQL: a new database NAME in the cluster, its URI).
central_db_name()
{
  if [ -z "${CENTRAL_PG:-}" ]; then
    echo "$TMPD/$1.db"
    return 0
  fi
  pgtmp_psql postgres -c "CREATE DATABASE $1" >/dev/null || bail "cannot create database $1"
  echo "${PGTMP_URI%/*}/$1"
}

# central_sql [-s SEP] SQL [DB]: runs SQL on the central's database (DB, default
# $CENTRAL_DB) with sqlite3 or psql: rows one a line, columns separated by SEP (default |),
# NULL as nothing, no header. Write SQL both take (docs/postgresql-backend.md, section 3).
central_sql()
{
  _sep="|"
  if [ "$1" = -s ]; then
    _sep=$2
    shift 2
  fi
  _db=${2:-$CENTRAL_DB}
  if [ -n "${CENTRAL_PG:-}" ]; then
    pgtmp_psql "${_db##*/}" -F "$_sep" -c "$1"
  else
    sqlite3 -batch -separator "$_sep" "$_db" "$1"
  fi
}

# central_dump [DB]: every row of the central's database as SQL text (sqlite3 .dump,
# pg_dump), for "this secret is nowhere in the database".
central_dump()
{
  _db=${1:-$CENTRAL_DB}
  if [ -n "${CENTRAL_PG:-}" ]; then
    PGPASSFILE=$PGTMP_PASSFILE "$PGTMP_BIN/pg_dump" -h 127.0.0.1 -p "$PGTMP_PORT" -U asr \
      -d "${_db##*/}"
  else
    sqlite3 -batch "$_db" .dump
  fi
}

# central_lacks TEXT: true when TEXT is nowhere in the central's database (SQLite: neither
# its files' bytes, free pages included, nor its rows; PostgreSQL: none of its rows).
central_lacks()
{
  if [ -z "${CENTRAL_PG:-}" ]; then
    for _f in "$CENTRAL_DB" "$CENTRAL_DB-wal"; do
      if [ -f "$_f" ] && grep -a -q -F -e "$1" "$_f"; then
        return 1
      fi
    done
  fi
  ! central_dump | grep -a -q -F -e "$1"
}

## ---------------------------------------------------------------------------------------
## asr-central

# central_start ADDR PORT [CERTNAME] [DB]: starts `asr-central serve` (HTTPS with
# CERTNAME.pem/.key, plain HTTP without) and waits for its port. Sets CENTRAL_PID,
# CENTRAL_URL, CENTRAL_DB (default: central_db_init's). Extra serve options: CENTRAL_OPTS.
# On PostgreSQL the password reaches serve through --db-password-file only.
central_start()
{
  CENTRAL_DB=${4:-${CENTRAL_DB:-$TMPD/central.db}}
  set -- "$1" "$2" "${3:-}"
  if [ -n "${CENTRAL_PG:-}" ]; then
    set -- "$@" --db-password-file "$PGTMP_PWFILE"
  fi
  if [ -n "$3" ]; then
    CENTRAL_URL="https://$1:$2"
    set -- "$@" --tls-cert "$TMPD/tls/$3.pem" --tls-key "$TMPD/tls/$3.key"
  else
    CENTRAL_URL="http://$1:$2"
  fi
  _a=$1
  _p=$2
  shift 3
  # shellcheck disable=SC2086
  env -u PGPASSFILE "$ASR_CENTRAL" serve --listen "$_a:$_p" --db "$CENTRAL_DB" "$@" \
    ${CENTRAL_OPTS:-} >>"$TMPD/run/central.log" 2>&1 &
  CENTRAL_PID=$!
  pid_track "$CENTRAL_PID"
  if ! wait_port "$_a" "$_p" 100 "$CENTRAL_PID"; then
    echo "# asr-central did not come up on $_a:$_p"
    show "$TMPD/run/central.log"
    exit 99
  fi
}

# central_stop [SIGNAL]: stops the central (TERM by default, KILL for a crash).
central_stop()
{
  pid_stop "$CENTRAL_PID" "${1:-TERM}"
  CENTRAL_PID=""
}

# site_add NAME: creates a site in $CENTRAL_DB; SITE_TOKEN receives its token.
site_add()
{
  SITE_TOKEN=$("$ASR_CENTRAL" site add "$1" --contact "ops@$1.example" --db "$CENTRAL_DB" \
    2>"$TMPD/run/site.err" | grep -o 'st_[0-9a-f]\{32\}' | head -n 1)
  if [ -z "$SITE_TOKEN" ]; then
    echo "# asr-central site add $1 printed no token:"
    show "$TMPD/run/site.err"
    exit 99
  fi
}

# central_devices OUT [ARGS...]: `asr-central devices --format json` into OUT; sets RC.
central_devices()
{
  _o=$1
  shift
  run "$_o" "$_o.err" "$ASR_CENTRAL" devices --format json --db "$CENTRAL_DB" "$@"
}

# readings_match AGENT_STATUS CENTRAL_DEVICES: every device of the agent has as many
# readings at the central (by serial), and the central has no device the agent lacks.
readings_match()
{
  python3 - "$1" "$2" <<'EOF'
import json, sys
a = json.load(open(sys.argv[1], encoding='utf-8'))
c = json.load(open(sys.argv[2], encoding='utf-8'))
ad = {x.get('serial'): x.get('readings') for x in a.get('devices', [])}
cd = {x.get('serial'): x.get('readings') for x in c.get('devices', [])}
if ad != cd:
    print('#   agent   %s' % sorted(ad.items(), key=str))
    print('#   central %s' % sorted(cd.items(), key=str))
sys.exit(0 if ad == cd and ad else 1)
EOF
}

# total_readings FILE: the sum of the devices' "readings" of a devices/status JSON.
total_readings()
{
  python3 -c 'import json,sys; print(sum(int(x.get("readings") or 0) for x in json.load(open(sys.argv[1]))["devices"]))' \
    "$1" 2>/dev/null || echo -1
}

## ---------------------------------------------------------------------------------------
## tinyproxy

# proxy_start ADDR PORT [USER PASS]: a tinyproxy that allows CONNECT from loopback (to any
# port: no ConnectPort line), with basic authentication when USER is given. Sets PROXY_PID and PROXY_URL (no credentials).
proxy_start()
{
  _c="$TMPD/run/tinyproxy-$2.conf"
  {
    echo "Listen $1"
    echo "Port $2"
    echo "Timeout 60"
    echo "MaxClients 20"
    echo "Allow 127.0.0.0/8"
    echo "LogLevel Info"
    echo "LogFile \"$TMPD/run/tinyproxy-$2.log\""
    echo "DisableViaHeader Yes"
    if [ "$(id -u)" = 0 ]; then
      echo "User nobody"
      echo "Group nogroup"
    fi
    [ -n "${3:-}" ] && echo "BasicAuth $3 $4"
  } >"$_c"
  : >"$TMPD/run/tinyproxy-$2.log"
  chmod 666 "$TMPD/run/tinyproxy-$2.log"
  tinyproxy -d -c "$_c" >>"$TMPD/run/tinyproxy-$2.out" 2>&1 &
  PROXY_PID=$!
  pid_track "$PROXY_PID"
  PROXY_URL="http://$1:$2"
  PROXY_LOG="$TMPD/run/tinyproxy-$2.log"
  if ! wait_port "$1" "$2" 100 "$PROXY_PID"; then
    echo "# tinyproxy did not come up on $1:$2"
    show "$TMPD/run/tinyproxy-$2.out"
    show "$PROXY_LOG"
    exit 99
  fi
}

# proxy_stop: stops the tinyproxy started last.
proxy_stop()
{
  pid_stop "$PROXY_PID"
  PROXY_PID=""
}

## ---------------------------------------------------------------------------------------
## faultserver.py

# fault_start ADDR PORT CERTNAME ARGS...: faultserver.py on ADDR:PORT (HTTPS with
# CERTNAME, "" for plain HTTP) forwarding to $CENTRAL_URL (trusting $TMPD/tls/ca.pem) with
# faultserver options ARGS. Sets FAULT_PID, FAULT_URL, FAULT_LOG (one JSON line a request).
fault_start()
{
  _a=$1
  _p=$2
  _n=$3
  shift 3
  FAULT_LOG="$TMPD/run/fault-$_p.jsonl"
  rm -f "$TMPD/run/fault-$_p.ready"
  if [ -n "$_n" ]; then
    set -- --cert "$TMPD/tls/$_n.pem" --key "$TMPD/tls/$_n.key" "$@"
    FAULT_URL="https://$_a:$_p"
  else
    FAULT_URL="http://$_a:$_p"
  fi
  if [ -n "${CENTRAL_URL:-}" ]; then
    set -- --upstream "$CENTRAL_URL" --ca "$TMPD/tls/ca.pem" "$@"
  fi
  python3 "$FAULTSERVER" --listen "$_a:$_p" --log "$FAULT_LOG" \
    --ready "$TMPD/run/fault-$_p.ready" "$@" >>"$TMPD/run/fault-$_p.out" 2>&1 &
  FAULT_PID=$!
  pid_track "$FAULT_PID"
  _i=0
  while [ ! -f "$TMPD/run/fault-$_p.ready" ] && [ $_i -lt 100 ]; do
    kill -0 "$FAULT_PID" 2>/dev/null || break
    sleep 0.1
    _i=$((_i + 1))
  done
  if [ ! -f "$TMPD/run/fault-$_p.ready" ]; then
    echo "# faultserver did not come up on $_a:$_p"
    show "$TMPD/run/fault-$_p.out"
    exit 99
  fi
}

# fault_stop: stops the fault server started last.
fault_stop()
{
  pid_stop "$FAULT_PID"
  FAULT_PID=""
}

## ---------------------------------------------------------------------------------------
## The agent

# agent_status OUT: `asr-agent status --format json` into OUT; sets RC.
agent_status()
{
  run "$1" "$1.err" "$ASR_AGENT" status --format json
}

# agent_secret: prints "AGENT_ID SECRET" of the enrolled agent in $DB, read with python's
# sqlite3 from whichever table holds them (a test may read the secret; nothing else does).
agent_secret()
{
  python3 - "$DB" <<'EOF'
import sqlite3, sys, re
c = sqlite3.connect(sys.argv[1])
aid = sec = None
for (t,) in c.execute("SELECT name FROM sqlite_master WHERE type='table'"):
    try:
        rows = c.execute('SELECT * FROM "%s"' % t).fetchall()
    except sqlite3.Error:
        continue
    for r in rows:
        for v in r:
            if isinstance(v, bytes):
                try:
                    v = v.decode()
                except UnicodeDecodeError:
                    continue
            if not isinstance(v, str):
                continue
            if aid is None and re.fullmatch(r'ag_[0-9a-f]{32}', v):
                aid = v
            if sec is None and re.fullmatch(r'[0-9a-f]{64}', v):
                sec = v
if aid and sec:
    print(aid, sec)
else:
    sys.exit(1)
EOF
}
