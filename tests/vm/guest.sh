#!/bin/sh
# guest.sh: the checks inside the Debian 12 guest of test_systemd_vm.sh (run as root by the
# image's asr-vmtest.service, systemd being PID 1; the output goes to the host as TAP lines).
#
# With the files of its disk (the two .debs, a test CA and the central's certificate, printer
# recordings): an asr-central on 127.62.0.1:8443 over TLS and three snmpsim printers on
# 127.61.0.1-3:161, all on the guest's loopback (the guest has no network card); then the
# package installed silently with a preseed (it enrols at install time), and the unit under
# the real systemd: READY, its user, no capabilities, seccomp, discovery and polls, a good
# reload that makes it upload, a bad reload kept out, the watchdog, stop, an invalid file at
# start (journal at error priority, unit failed, no restart loop), purge. Every wait has a
# deadline. The unit's WatchdogSec is shortened to 10 s by a drop-in, so that the pings are
# proven within the run (at the shipped 5 min a missing ping would show only after 5 min).
set -u
D=$(cd "$(dirname "$0")" && pwd)
W=/srv/vmtest # not under /root (0700): snmpsim reads its data as nobody
CONF=/etc/asr-agent/asr-agent.conf
STATE=/var/lib/asr-agent
CENTRAL=127.62.0.1:8443
CDB=$W/central.db
N=0
FAILS=0
export PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin LC_ALL=C.UTF-8
mkdir -p $W
cd $W || exit 1

ok()
{
  N=$((N + 1))
  echo "ok $N - $*"
}

not_ok()
{
  N=$((N + 1))
  FAILS=$((FAILS + 1))
  echo "not ok $N - $*"
}

# check TEXT CMD...: ok when CMD succeeds; returns CMD's success (for "|| diagnose").
check()
{
  _t=$1
  shift
  if "$@"; then
    ok "$_t"
  else
    not_ok "$_t"
    return 1
  fi
}

check_eq()
{
  if [ "$2" = "$3" ]; then
    ok "$1: $3"
  else
    not_ok "$1: '$3' (expected '$2')"
    return 1
  fi
}

# show FILE: as comments (after a failure).
show()
{
  tail -n "${2:-25}" "$1" | sed 's/^/#   /'
}

uptime_s()
{
  cut -d' ' -f1 /proc/uptime
}

# wait_until SECONDS CMD...: CMD succeeds within SECONDS (by the clock, however slow CMD).
wait_until()
{
  _end=$(($(cut -d. -f1 /proc/uptime) + $1))
  shift
  while [ "$(cut -d. -f1 /proc/uptime)" -lt $_end ]; do
    "$@" && return 0
    sleep 0.2
  done
  "$@"
}

prop()
{
  systemctl show -P "$1" asr-agent.service
}

journal()
{
  journalctl -q --no-pager -u asr-agent.service "$@"
}

# journal_has PATTERN [journalctl ARGS]: a message of this boot's asr-agent matches.
journal_has()
{
  _p=$1
  shift
  journal -o cat "$@" | grep -q -- "$_p"
}

as_agent()
{
  runuser -u asr-agent -- /usr/sbin/asr-agent "$@"
}

py()
{
  python3 -c "$@"
}

finish()
{
  echo "# guest: $((N - FAILS)) passed, $FAILS failed, $(uptime_s) s after boot"
  echo "# vmtest: end"
  exit 0
}

# phase NAME: a comment with the time since boot (where a slow run spends it).
phase()
{
  echo "# [$(uptime_s) s] $*"
}

# diagnose: the unit's state and journal, after a failure.
diagnose()
{
  systemctl status --no-pager -l asr-agent.service >$W/st.txt 2>&1
  show $W/st.txt 15
  journal -o short-monotonic -n 40 >$W/j.txt 2>&1
  show $W/j.txt 40
}

## ---------------------------------------------------------------------------------------
echo "# vmtest: start, $(uptime_s) s after boot, kernel $(uname -r)"
check_eq "PID 1 is systemd" "systemd" "$(cat /proc/1/comm)"
check "no network card: only lo" sh -c '[ "$(ls /sys/class/net)" = lo ]'

phase "asr-central and the printers"
# The test CA in the system store: the agent trusts the central as it would a provider's.
# It goes into the bundle libcurl reads (/etc/ssl/certs/ca-certificates.crt), as
# update-ca-certificates would put it there, without that command's 40 s under TCG.
cat "$D/tls/ca.pem" >>/etc/ssl/certs/ca-certificates.crt

# asr-central (its own package) over TLS on loopback, as a transient unit.
phase "the test CA trusted"
DEBIAN_FRONTEND=noninteractive dpkg -i "$D/asr-central.deb" >$W/central-install.log 2>&1
check "asr-central package installed" test -x /usr/bin/asr-central ||
  show $W/central-install.log
phase "asr-central installed"
TOKEN=$(asr-central site add acme --contact ops@acme.example --db $CDB 2>$W/site.err |
  grep -o 'st_[0-9a-f]\{32\}' | head -n 1)
check "a site token from asr-central" test -n "$TOKEN" || show $W/site.err
systemd-run --quiet --unit=vmtest-central -- /usr/bin/asr-central serve --listen $CENTRAL \
  --db $CDB --tls-cert "$D/tls/srv.pem" --tls-key "$D/tls/srv.key"

phase "asr-central started"
# snmpsim: three printers on 127.61.0.1-3, UDP 161 (bound as root, then nobody).
mkdir -p $W/sim/data/public $W/sim/cache
i=0
: >$W/sim/endpoints
for r in colour_laser mono_laser mfp_waste; do
  cp "$D/recordings/$r.snmprec" "$W/sim/data/public/1.3.6.1.6.1.1.$i.snmprec"
  i=$((i + 1))
  echo "--agent-udpv4-endpoint=127.61.0.$i:161" >>$W/sim/endpoints
done
chmod -R a+rX $W/sim
chmod 777 $W/sim/cache
chmod 755 $W
systemd-run --quiet --unit=vmtest-snmpsim --setenv=HOME=$W -- snmpsimd --v2c-arch --data-dir=$W/sim/data \
  --cache-dir=$W/sim/cache --args-from-file=$W/sim/endpoints --logging-method=null \
  --process-user=nobody --process-group=nogroup
sim_up()
{
  snmpget -v2c -c public -t 0.5 -r 0 -On 127.61.0.3 1.3.6.1.2.1.1.2.0 >/dev/null 2>&1
}
check "snmpsim printers answer on 127.61.0.1-3:161" wait_until 60 sim_up ||
  journalctl -q --no-pager -u vmtest-snmpsim -n 20
phase "the printers answer"
central_up()
{
  py 'import socket; socket.create_connection(("127.62.0.1", 8443), 0.5).close()' 2>/dev/null
}
check "asr-central listens on $CENTRAL" wait_until 30 central_up ||
  journalctl -q --no-pager -u vmtest-central -n 20

## ---------------------------------------------------------------------------------------
## Silent installation
phase "Silent installation"
mkdir -p /etc/systemd/system/asr-agent.service.d
printf '[Service]\nWatchdogSec=10s\n' >/etc/systemd/system/asr-agent.service.d/vmtest.conf
umask 077
cat >$W/preseed <<EOF
asr-agent asr-agent/endpoint string https://$CENTRAL
asr-agent asr-agent/site_token password $TOKEN
asr-agent asr-agent/scan_targets string 127.61.0.0/29
EOF
umask 022
debconf-set-selections $W/preseed
rm -f $W/preseed
t0=$(uptime_s)
DEBIAN_FRONTEND=noninteractive dpkg -i "$D/asr-agent.deb" </dev/null >$W/install.log 2>&1
rc=$?
check_eq "dpkg -i asr-agent (preseeded) exit" 0 "$rc" || show $W/install.log
check "enrolled at install time" grep -q "enrolled with https://$CENTRAL" $W/install.log ||
  show $W/install.log
check "the token is not left in debconf" sh -c "! grep -rqs '$TOKEN' /var/cache/debconf/"
active() { [ "$(systemctl is-active asr-agent.service)" = active ]; }
check "asr-agent is active (READY=1 received)" wait_until 30 active || diagnose
echo "# installed and active $(py "print(round($(uptime_s) - $t0, 1))") s after dpkg -i began"
start_us=$(prop ExecMainStartTimestampMonotonic)
ready_us=$(prop ActiveEnterTimestampMonotonic)
echo "# READY $(py "print(round(($ready_us - $start_us) / 1e6, 2))") s after exec (under TCG)"
check "READY within 10 s of exec" test $((ready_us - start_us)) -lt 10000000
check_eq "ActiveState SubState NRestarts" "active running 0" \
  "$(prop ActiveState) $(prop SubState) $(prop NRestarts)"
PID=$(prop MainPID)
check "MainPID $PID is asr-agent run" sh -c "tr '\\0' ' ' </proc/$PID/cmdline | grep -q '^/usr/sbin/asr-agent run '"

## The sandbox, as the kernel sees the process
phase "The sandbox, as the kernel sees the process"
st()
{
  sed -n "s/^$1:[[:space:]]*//p" /proc/"$PID"/status
}
uid=$(id -u asr-agent)
check_eq "runs as the user asr-agent (uid $uid: real, effective, saved, fs)" \
  "$uid $uid $uid $uid" "$(st Uid | tr -s '\t ' ' ')"
check_eq "CapEff" 0000000000000000 "$(st CapEff)"
check_eq "CapPrm" 0000000000000000 "$(st CapPrm)"
check_eq "CapBnd" 0000000000000000 "$(st CapBnd)"
check_eq "CapAmb" 0000000000000000 "$(st CapAmb)"
check_eq "NoNewPrivs" 1 "$(st NoNewPrivs)"
check_eq "Seccomp (2: filter)" 2 "$(st Seccomp)"
e=$(systemd-analyze security --no-pager asr-agent.service 2>/dev/null |
  sed -n 's/.*Overall exposure level for [^:]*: \([0-9.]*\).*/\1/p')
check "systemd-analyze security (online): $e <= 2.0" py "import sys; sys.exit(not ($e <= 2.0))"
check "database 0600 asr-agent in a 0700 state dir" \
  sh -c "[ \"\$(stat -c '%a %U' $STATE $STATE/agent.db | tr '\n' ' ')\" = '700 asr-agent 600 asr-agent ' ]"

## Discovery and polls under the sandbox
phase "Discovery and polls under the sandbox"
polled() { journal_has 'polled 3 devices: 3 read, 0 failed'; }
check "discovered and polled the 3 printers (journal)" wait_until 90 polled || diagnose
as_agent status --format json >$W/status.json 2>$W/status.err
check "status as asr-agent: 3 devices with supplies, active" py '
import json, sys
d = json.load(open(sys.argv[1]))
devs = d["devices"]
ok = len(devs) == 3 and all(x.get("state") == "active" and x.get("supplies") for x in devs)
print("#   %s" % [(x.get("ip"), x.get("state"), len(x.get("supplies") or [])) for x in devs])
sys.exit(not ok)' $W/status.json || show $W/status.err
check "no doubled 'asr-agent:' prefix in the journal" \
  sh -c "! journalctl -q --no-pager -u asr-agent.service -o cat | grep -q '^asr-agent: '"
check "no error-priority message so far" sh -c "[ -z \"\$(journalctl -q --no-pager -u asr-agent.service -p err -o cat)\" ]" ||
  journal -p err -o cat | sed 's/^/#   /'

## A good reload: the upload window moves to the next minute, and the daemon uploads then.
phase "A good reload: the upload window moves to the next minute, and the daemon uploads then."
# The guest's clock jumps forward to 12 s before that minute (the margin for the reload under
# a slow TCG), not to wait up to a minute. Uptime (the deadlines) does not jump.
now=$(date +%s)
m=$(((now + 20) / 60 + 1))
date -s "@$((m * 60 - 12))" >/dev/null
hm()
{
  printf '%02d:%02d' $((($1 % 1440) / 60)) $(($1 % 60))
}
cp $CONF $W/conf.good
sed -i '/^#\?upload_window /d' $CONF
echo "upload_window $(hm "$m")-$(hm $((m + 1)))" >>$CONF
cp $CONF $W/conf.reloaded
systemctl reload asr-agent.service
check "reload: applied (journal)" wait_until 10 journal_has 'reload: .* applied'
check_eq "reload: same MainPID, still active" "$PID active" "$(prop MainPID) $(prop ActiveState)"
uploaded() { journal_has 'upload: .*, [1-9][0-9]* delivered'; }
# upload_runs N: the daemon has finished N upload runs ("upload: exit S after T ms").
upload_runs() { [ "$(journal -o cat | grep -c '^upload: exit ')" -ge "$1" ]; }
# A network failure is retried by the daemon 30 min later (its schedule): on a guest too
# slow for the daemon's short TLS time-outs the clock jumps there, twice at most.
for attempt in 1 2 3; do
  wait_until 40 upload_runs $attempt
  uploaded && break
  [ $attempt = 3 ] && break
  retry=$(journal -o cat | sed -n 's/^next upload at //p' | tail -n 1)
  echo "# upload run $attempt failed: $(journal -o cat | grep '^upload: ' | tail -n 3 | tr '\n' ' ')"
  echo "# the clock jumps to the daemon's retry at $retry"
  [ -n "$retry" ] && date -s "$retry" >/dev/null
done
check "uploaded in the new window (journal)" uploaded || diagnose
asr-central devices --format json --db $CDB >$W/central.json 2>$W/central.err
check "the central has the 3 printers and their readings" py '
import json, sys
d = json.load(open(sys.argv[1]))
r = [(x.get("serial"), x.get("readings")) for x in d["devices"]]
print("#   %s" % r)
sys.exit(not (len(r) == 3 and all(n and n >= 1 for _, n in r)))' $W/central.json ||
  show $W/central.err

## A bad reload: logged at error priority with its line, the running configuration kept.
phase "A bad reload: logged at error priority with its line, the running configuration kept."
echo "no_such_directive 1" >>$CONF
bad_line=$(wc -l <$CONF)
systemctl reload asr-agent.service
kept() { journal_has 'keeping the running configuration' -p err; }
check "bad reload: kept the running configuration (err)" wait_until 10 kept
check "bad reload: $CONF:$bad_line at error priority" journal_has "asr-agent.conf:$bad_line:" -p err
check_eq "bad reload: same MainPID, still active" "$PID active" "$(prop MainPID) $(prop ActiveState)"
cp $W/conf.good $CONF

## The watchdog (10 s here): pinged all along, never fired
phase "The watchdog (10 s here): pinged all along, never fired"
wd1=$(prop WatchdogTimestampMonotonic)
sleep 6
wd2=$(prop WatchdogTimestampMonotonic)
check "watchdog pings keep coming ($wd1 -> $wd2)" test "$wd2" -gt "$wd1"
check "no watchdog timeout in the journal" sh -c "! journalctl -q --no-pager -u asr-agent.service -o cat | grep -qi 'watchdog timeout'"
check_eq "NRestarts after all that" 0 "$(prop NRestarts)"

## Stop: in less than a second
phase "Stop: in less than a second"
t0=$(date +%s%N)
systemctl stop asr-agent.service
t1=$(date +%s%N)
exit_us=$(prop ActiveExitTimestampMonotonic)
inactive_us=$(prop InactiveEnterTimestampMonotonic)
echo "# systemctl stop took $(((t1 - t0) / 1000000)) ms; the unit $(((inactive_us - exit_us) / 1000)) ms"
check "stopped in < 1 s" test $((inactive_us - exit_us)) -lt 1000000
check_eq "stop: Result, exit status" "success 0" "$(prop Result) $(prop ExecMainStatus)"
check "stop: no asr-agent process left" sh -c "! pgrep -u asr-agent >/dev/null"

## An invalid file at start: the reason at error priority, the unit failed, no restart loop
phase "An invalid file at start: the reason at error priority, the unit failed, no restart loop"
printf 'poll_interval soon\n' >>$CONF
bad_line=$(wc -l <$CONF)
since=$(date '+%Y-%m-%d %H:%M:%S')
sleep 1
systemctl start asr-agent.service 2>$W/start.err
check "systemctl start fails" test $? -ne 0
failed() { [ "$(systemctl is-failed asr-agent.service)" = failed ]; }
check "the unit is failed" wait_until 10 failed
check_eq "ActiveState SubState Result ExecMainStatus" "failed failed exit-code 3" \
  "$(prop ActiveState) $(prop SubState) $(prop Result) $(prop ExecMainStatus)"
check "listed by systemctl --failed" sh -c "systemctl --failed --plain --no-legend | grep -q '^asr-agent.service'"
journalctl -q --no-pager -u asr-agent.service -p err --since "$since" -o cat >$W/err.txt 2>&1
check "journalctl -p err: $CONF:$bad_line: the reason" grep -q "^$CONF:$bad_line: " $W/err.txt ||
  show $W/err.txt
check "journalctl -p err: not starting" grep -q "is not valid: not starting" $W/err.txt
sleep 3
check_eq "still failed, not auto-restarting (NRestarts)" "failed 0" \
  "$(systemctl is-failed asr-agent.service) $(prop NRestarts)"
cp $W/conf.good $CONF
systemctl reset-failed asr-agent.service
systemctl start asr-agent.service
check "a mended file starts again" active

## Purge: all gone
phase "Purge: all gone"
rm -rf /etc/systemd/system/asr-agent.service.d
systemctl daemon-reload
DEBIAN_FRONTEND=noninteractive dpkg --purge asr-agent >$W/purge.log 2>&1
check_eq "dpkg --purge exit" 0 "$?" || show $W/purge.log
check "purge: no asr-agent process" sh -c "! pgrep -u asr-agent >/dev/null"
check_eq "purge: the unit is unknown to systemd" "not-found" "$(systemctl show -P LoadState asr-agent.service)"
for f in /usr/sbin/asr-agent /etc/asr-agent $STATE /var/log/asr-agent \
  /lib/systemd/system/asr-agent.service /etc/systemd/system/multi-user.target.wants/asr-agent.service; do
  check "purge removed $f" test ! -e "$f"
done
check "purge forgot the debconf answers" sh -c "! debconf-show asr-agent 2>/dev/null | grep -q ."
finish
