#!/bin/sh
# test_systemd_vm.sh: the .deb's unit under a real systemd, in a Debian 12 guest (qemu TCG).
#
# Builds the packages (make deb), gets a guest image (tests/vm/mkimage.sh: debootstrap from
# the apt mirror this machine is configured with; cached under $ASR_VM_CACHE, default
# /var/cache/asr-agent-vm, keyed by a hash of mkimage.sh, the package list and the mirror,
# so a cold build of a few minutes happens once), puts guest.sh, the .debs, a test CA and
# the central's certificate and some printer recordings on a second, read-only disk, and
# boots the guest's own kernel with qemu-system-x86_64 under TCG: systemd is PID 1, the
# guest has no network card at all (-nic none: nothing it does can leave it), the root disk
# is a throwaway snapshot of the cached image. The image's asr-vmtest.service runs
# guest.sh (see it for the checks) and sends its TAP lines back on a virtio-serial port;
# they become this test's lines. Every wait has a deadline and qemu is always killed.
#
# Run by scripts/test.sh (not by make check: it needs root and takes ~2-4 minutes warm):
#   top_srcdir=. top_builddir=_build sh tests/vm/test_systemd_vm.sh
# Skips (77) only when a VM cannot run here at all: not root, qemu-system-x86_64 or
# debootstrap missing or unable to start. ASR_VM_KEEP=1 keeps the temporary directory
# (console.log, results.txt). The guest console is $TMPD/console.log.
: "${top_srcdir:=$(cd "$(dirname "$0")/../.." && pwd)}"
. "$top_srcdir/tests/integration/lib.sh"
. "$top_srcdir/tests/integration/uplinklib.sh"

CACHE=${ASR_VM_CACHE:-/var/cache/asr-agent-vm}
BOOT_S=${ASR_VM_BOOT_S:-240} # the guest's runner must start within this
RUN_S=${ASR_VM_RUN_S:-600}   # and end within this, from qemu's start
QEMU_PID=""
# the guest's packages besides what the .debs depend on
GUEST_PKGS="linux-image-amd64 systemd-sysv udev dbus ca-certificates procps python3 snmp snmpsim"

vm_cleanup()
{
  if [ -n "$QEMU_PID" ]; then
    kill "$QEMU_PID" 2>/dev/null
    _i=0
    while kill -0 "$QEMU_PID" 2>/dev/null && [ $_i -lt 30 ]; do
      sleep 0.1
      _i=$((_i + 1))
    done
    kill -9 "$QEMU_PID" 2>/dev/null
    wait "$QEMU_PID" 2>/dev/null
    QEMU_PID=""
  fi
  [ -z "${ASR_VM_KEEP:-}" ] || ITEST_KEEP=1
}

itest_init systemd_vm
trap 'vm_cleanup; itest_cleanup' EXIT

elapsed()
{
  echo $(($(date +%s) - $1))
}

## ---------------------------------------------------------------------------------------
## Can a VM run here?

need_vm()
{
  [ "$(id -u)" = 0 ] || skip "needs root (debootstrap builds the guest image)"
  command -v qemu-system-x86_64 >/dev/null 2>&1 ||
    skip "qemu-system-x86_64 not installed (scripts/deps.sh test: qemu-system-x86)"
  command -v debootstrap >/dev/null 2>&1 || skip "debootstrap not installed (scripts/deps.sh test)"
  qemu-system-x86_64 -accel help 2>/dev/null | grep -qx tcg ||
    skip "qemu-system-x86_64 has no TCG accelerator here"
  qemu-system-x86_64 -machine pc,accel=tcg -nodefaults -display none -S -monitor none \
    -nic none >"$TMPD/qemu-probe.log" 2>&1 &
  _p=$!
  sleep 1
  if ! kill -0 $_p 2>/dev/null; then
    wait $_p 2>/dev/null
    skip "qemu-system-x86_64 cannot start: $(head -c 300 "$TMPD/qemu-probe.log")"
  fi
  kill -9 $_p 2>/dev/null
  wait $_p 2>/dev/null
  need_cmd mkfs.ext4 dpkg-deb dpkg-buildpackage openssl flock sha256sum
  [ -f "$top_builddir/Makefile" ] || bail "no Makefile in $top_builddir (configure first)"
}

## ---------------------------------------------------------------------------------------
## The packages and the guest image

# build_debs: make deb; DEB and CDEB (asr-central) are the two packages.
build_debs()
{
  _t=$(date +%s)
  if ! make -s --no-print-directory -C "$top_builddir" deb >"$TMPD/deb.out" 2>"$TMPD/deb.err"; then
    show "$TMPD/deb.err"
    bail "make deb failed"
  fi
  DEB=$(grep '/asr-agent_[^/]*\.deb$' "$TMPD/deb.out" | tail -n 1)
  CDEB=$(echo "$DEB" | sed 's|/asr-agent_\([^/]*\)$|/asr-central_\1|')
  [ -f "$DEB" ] && [ -f "$CDEB" ] || bail "make deb did not produce $DEB and $CDEB"
  echo "# make deb: $(basename "$DEB") $(basename "$CDEB") in $(elapsed "$_t") s"
}

# guest_packages: GUEST_PKGS and what the two packages depend on (first alternatives).
guest_packages()
{
  {
    echo "$GUEST_PKGS" | tr ' ' '\n'
    for _f in "$DEB" "$CDEB"; do
      dpkg-deb -f "$_f" Depends | tr ',' '\n' | sed 's/|.*//; s/(.*)//; s/[[:space:]]//g'
    done
  } | grep -v '^$' | sort -u | tr '\n' ' '
}

# apt_mirror: the Debian archive apt uses here for bookworm ($ASR_VM_MIRROR overrides).
apt_mirror()
{
  if [ -n "${ASR_VM_MIRROR:-}" ]; then
    echo "$ASR_VM_MIRROR"
    return
  fi
  _m=$(apt-get indextargets --format '$(REPO_URI) $(RELEASE) $(TARGET_OF) $(CREATED_BY)' \
    2>/dev/null | awk '$2 == "bookworm" && $3 == "deb" && $4 == "Packages" { print $1; exit }')
  echo "${_m:-http://deb.debian.org/debian/}"
}

# guest_image: IMG, the cached image directory (built once under a lock).
guest_image()
{
  _pkgs=$(guest_packages)
  _mirror=$(apt_mirror)
  _key=$( (cat "$top_srcdir/tests/vm/mkimage.sh"; echo "$_pkgs"; echo "$_mirror") |
    sha256sum | cut -c1-16)
  IMG="$CACHE/bookworm-$_key"
  mkdir -p "$CACHE"
  exec 8>"$CACHE/.lock"
  flock -w 1500 8 || bail "$CACHE/.lock held by another build for 25 minutes"
  if [ ! -f "$IMG/rootfs.img" ]; then
    _t=$(date +%s)
    echo "# building the guest image $IMG (debootstrap from $_mirror: a few minutes, once)"
    if ! sh "$top_srcdir/tests/vm/mkimage.sh" "$IMG" "$_mirror" $_pkgs 2>"$TMPD/mkimage.err"; then
      show "$TMPD/mkimage.err"
      bail "the guest image could not be built (mkimage.sh)"
    fi
    echo "# guest image built in $(elapsed "$_t") s"
  else
    echo "# guest image: $IMG (cached)"
  fi
  touch "$IMG/.used"
  prune_cache
  flock -u 8
  exec 8>&-
}

# prune_cache: (under the lock) images of other package lists unused for 30 days go; so do
# the leftovers of killed builds (mkimage.sh removes its own on the next build of its key).
prune_cache()
{
  for _d in "$CACHE"/bookworm-*; do
    [ -d "$_d" ] && [ "$_d" != "$IMG" ] || continue
    case $_d in
      *.tmp) ;;
      *) [ -n "$(find "$_d/.used" -newermt '-30 days' 2>/dev/null)" ] && continue ;;
    esac
    if awk -v d="$_d/" 'index($2, d) == 1 { f = 1 } END { exit !f }' /proc/mounts; then
      continue # something is still mounted there (a killed build): leave it to mkimage.sh
    fi
    echo "# removing the unused guest image $_d"
    rm -rf --one-file-system "$_d"
  done
}

# share_disk: the guest's second disk: run.sh, the packages, TLS files, recordings.
share_disk()
{
  _s="$TMPD/share"
  mkdir -p "$_s/tls" "$_s/recordings" "$TMPD/tls"
  cp "$top_srcdir/tests/vm/guest.sh" "$_s/run.sh"
  cp "$DEB" "$_s/asr-agent.deb"
  cp "$CDEB" "$_s/asr-central.deb"
  tls_ca ca
  tls_cert ca srv "IP:127.62.0.1"
  cp "$TMPD/tls/ca.pem" "$TMPD/tls/srv.pem" "$TMPD/tls/srv.key" "$_s/tls/"
  for _r in colour_laser mono_laser mfp_waste; do
    cp "$RECDIR/$_r.snmprec" "$_s/recordings/"
  done
  _mb=$(du -sm "$_s" | cut -f1)
  mkfs.ext4 -q -F -L vmtest -d "$_s" "$TMPD/share.img" "$((_mb + 16))M" >/dev/null 2>&1 ||
    bail "mkfs.ext4 -d of the test disk failed"
}

## ---------------------------------------------------------------------------------------
## The guest

# boot: qemu in the background, no network card, the root disk a throwaway snapshot.
boot()
{
  : >"$TMPD/results.txt"
  QEMU_T0=$(date +%s)
  qemu-system-x86_64 -name asr-vmtest -machine pc,accel=tcg -cpu max -smp 2 -m 1024 \
    -nodefaults -no-user-config -display none -monitor none -nic none -no-reboot \
    -serial "file:$TMPD/console.log" \
    -kernel "$IMG/vmlinuz" -initrd "$IMG/initrd.img" \
    -append "root=/dev/vda rw console=ttyS0 fsck.mode=skip panic=-1 quiet" \
    -drive "file=$IMG/rootfs.img,format=raw,if=virtio,snapshot=on" \
    -drive "file=$TMPD/share.img,format=raw,if=virtio,readonly=on" \
    -device virtio-rng-pci -device virtio-serial-pci -chardev "file,id=results,path=$TMPD/results.txt" \
    -device virtserialport,chardev=results,name=asr.results \
    >"$TMPD/qemu.log" 2>&1 &
  QEMU_PID=$!
}

# wait_guest: until the guest ends its run (or qemu exits), within the deadlines.
wait_guest()
{
  while :; do
    _e=$(elapsed "$QEMU_T0")
    grep -q '^# vmtest: end' "$TMPD/results.txt" && break
    if ! kill -0 "$QEMU_PID" 2>/dev/null; then
      echo "# qemu exited after $_e s: $(head -c 300 "$TMPD/qemu.log")"
      break
    fi
    if ! grep -q '^# vmtest: start' "$TMPD/results.txt" && [ "$_e" -ge "$BOOT_S" ]; then
      echo "# the guest's runner did not start within $BOOT_S s"
      break
    fi
    if [ "$_e" -ge "$RUN_S" ]; then
      echo "# the guest did not finish within $RUN_S s"
      break
    fi
    sleep 1
  done
  sleep 1
  echo "# guest ran $(elapsed "$QEMU_T0") s (boot to runner and checks)"
}

# report: the guest's TAP lines as this test's; its comments as they are.
report()
{
  tr -d '\r' <"$TMPD/results.txt" >"$TMPD/results.tap"
  while IFS= read -r _l; do
    case $_l in
      "ok "*) ok "guest: $(echo "$_l" | sed 's/^ok [0-9]* - //')" ;;
      "not ok "*) not_ok "guest: $(echo "$_l" | sed 's/^not ok [0-9]* - //')" ;;
      "#"*) echo "$_l" ;;
      *) echo "#   $_l" ;;
    esac
  done <"$TMPD/results.tap"
  check "the guest booted with systemd and started the test runner" \
    grep -q '^# vmtest: start' "$TMPD/results.tap"
  if grep -q '^# vmtest: end' "$TMPD/results.tap"; then
    ok "the guest ran every check to the end"
  else
    not_ok "the guest ran every check to the end"
    echo "# the end of the guest's console:"
    tail -n 30 "$TMPD/console.log" | sed 's/^/#   /'
  fi
}

need_vm
T0=$(date +%s)
build_debs
guest_image
share_disk
boot
wait_guest
vm_cleanup
report
echo "# total $(elapsed "$T0") s"
finish
