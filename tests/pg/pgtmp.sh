#!/bin/sh
# pgtmp.sh: a throw-away PostgreSQL cluster for tests (Debian's postgresql 15).
#
# Sourced:   . tests/pg/pgtmp.sh; pgtmp_start PORT || skip; ...; pgtmp_stop
# Or run:    tests/pg/pgtmp.sh [-k] PORT COMMAND [ARG...]   (the cluster lives while COMMAND
#            runs; the command's exit status is the script's; 77 when the cluster cannot
#            start, unless -k: see below)
#
# pgtmp_start PORT: initdb in a fresh temporary folder (as user nobody when run as root:
# initdb refuses root), scram-sha-256 with a random password, listening on 127.0.0.1:PORT
# only (its Unix socket inside the folder), superuser and database "asr". Exports:
#   PGTMP_DIR       the folder (removed by pgtmp_stop)
#   PGTMP_URI       postgresql://asr@127.0.0.1:PORT/asr (no password: never on argv)
#   PGTMP_PWFILE    a 0600 file holding the password alone (for --db-password-file)
#   PGTMP_PASSFILE  a 0600 libpq password file (for PGPASSFILE)
#   PGTMP_WHY       why it did not start (when pgtmp_start fails)
# pgtmp_stop: stops the server (immediate) and removes the folder; safe to call twice.
# Every wait has a deadline (pg_ctl -t). Durability settings are off: a test kills
# processes, never the machine.

PGTMP_BIN=${PGTMP_BIN:-/usr/lib/postgresql/15/bin}

pgtmp__as() { # runs "$@" as the cluster's owner
  if [ "$(id -u)" = 0 ]; then
    runuser -u nobody -- "$@"
  else
    "$@"
  fi
}

pgtmp_start() {
  port=$1
  PGTMP_WHY=
  case $port in
  '' | *[!0-9]*)
    PGTMP_WHY="pgtmp_start: a port is needed, got '$port'"
    return 1
    ;;
  esac
  if [ ! -x "$PGTMP_BIN/initdb" ] || [ ! -x "$PGTMP_BIN/pg_ctl" ]; then
    PGTMP_WHY="no $PGTMP_BIN/initdb (apt-get install postgresql)"
    return 1
  fi
  PGTMP_DIR=$(mktemp -d "${TMPDIR:-/tmp}/asr-pgtmp.XXXXXX") || {
    PGTMP_WHY="mktemp failed"
    return 1
  }
  pw=$(od -An -N16 -tx1 /dev/urandom | tr -d ' \n')
  (umask 077 && printf '%s\n' "$pw" >"$PGTMP_DIR/pw" &&
    printf '127.0.0.1:%s:*:asr:%s\n' "$port" "$pw" >"$PGTMP_DIR/pgpass")
  mkdir "$PGTMP_DIR/run" && cp "$PGTMP_DIR/pw" "$PGTMP_DIR/run/initpw"
  if [ "$(id -u)" = 0 ]; then
    chown nobody "$PGTMP_DIR/run" "$PGTMP_DIR/run/initpw"
    chmod 0711 "$PGTMP_DIR" # nobody reaches run/ only
  fi
  if ! pgtmp__as "$PGTMP_BIN/initdb" -D "$PGTMP_DIR/run/data" -U asr -A scram-sha-256 \
    --pwfile="$PGTMP_DIR/run/initpw" -E UTF8 --locale=C.UTF-8 --no-sync \
    >"$PGTMP_DIR/initdb.log" 2>&1; then
    PGTMP_WHY="initdb failed: $(tail -n 3 "$PGTMP_DIR/initdb.log" | tr '\n' ' ')"
    pgtmp_stop
    return 1
  fi
  rm -f "$PGTMP_DIR/run/initpw"
  if ! pgtmp__as "$PGTMP_BIN/pg_ctl" -D "$PGTMP_DIR/run/data" -l "$PGTMP_DIR/run/server.log" \
    -w -t 30 -o "-c listen_addresses=127.0.0.1 -p $port \
      -c unix_socket_directories=$PGTMP_DIR/run -c fsync=off -c full_page_writes=off \
      -c synchronous_commit=off -c shared_buffers=32MB -c max_connections=50" \
    start >"$PGTMP_DIR/pg_ctl.log" 2>&1; then
    PGTMP_WHY="the server did not start on 127.0.0.1:$port: $(tail -n 3 "$PGTMP_DIR/run/server.log" 2>/dev/null | tr '\n' ' ')"
    pgtmp_stop
    return 1
  fi
  PGTMP_PORT=$port
  PGTMP_PWFILE=$PGTMP_DIR/pw
  PGTMP_PASSFILE=$PGTMP_DIR/pgpass
  PGTMP_URI="postgresql://asr@127.0.0.1:$port/asr"
  if ! PGPASSFILE=$PGTMP_PASSFILE "$PGTMP_BIN/psql" -X -q -h 127.0.0.1 -p "$port" -U asr \
    -d postgres -c 'CREATE DATABASE asr' >"$PGTMP_DIR/createdb.log" 2>&1; then
    PGTMP_WHY="creating database asr failed: $(tr '\n' ' ' <"$PGTMP_DIR/createdb.log")"
    pgtmp_stop
    return 1
  fi
  export PGTMP_DIR PGTMP_PORT PGTMP_URI PGTMP_PWFILE PGTMP_PASSFILE
  return 0
}

pgtmp_stop() {
  [ -n "$PGTMP_DIR" ] && [ -d "$PGTMP_DIR" ] || return 0
  if [ -f "$PGTMP_DIR/run/data/postmaster.pid" ]; then
    pgtmp__as "$PGTMP_BIN/pg_ctl" -D "$PGTMP_DIR/run/data" -m immediate -w -t 30 stop \
      >/dev/null 2>&1
  fi
  rm -rf "$PGTMP_DIR"
  PGTMP_DIR=
}

# psql on the cluster as asr (tests' checks): pgtmp_psql [DB] -c SQL ...
pgtmp_psql() {
  db=asr
  case $1 in -*) ;; *) db=$1; shift ;; esac
  PGPASSFILE=$PGTMP_PASSFILE "$PGTMP_BIN/psql" -X -q -A -t -v ON_ERROR_STOP=1 -h 127.0.0.1 \
    -p "$PGTMP_PORT" -U asr -d "$db" "$@"
}

# Run as a program: pgtmp.sh [-k] PORT COMMAND [ARG...]
# -k: when the cluster cannot start, say why and run COMMAND all the same, with PGTMP_URI
# unset and PGTMP_WHY exported (a test that has a part without PostgreSQL)
case $0 in
*pgtmp.sh)
  keep=
  [ "$1" = -k ] && keep=1 && shift
  if [ $# -lt 2 ]; then
    echo "usage: $0 [-k] PORT COMMAND [ARG...]" >&2
    exit 2
  fi
  port=$1
  shift
  if ! pgtmp_start "$port"; then
    echo "pgtmp: PostgreSQL not available: $PGTMP_WHY" >&2
    [ -n "$keep" ] || exit 77
    export PGTMP_WHY
    exec "$@"
  fi
  trap pgtmp_stop EXIT
  trap 'exit 143' INT TERM
  "$@"
  exit $?
  ;;
esac
