#!/bin/sh
# mkimage.sh OUTDIR MIRROR PACKAGE...: a bootable Debian 12 guest for tests/vm (root only).
#
# debootstrap (variant minbase, the packages given and what they depend on) from MIRROR,
# then: a tiny initramfs (virtio and ext4 only), the guest's kernel and initramfs copied out
# (the host boots them with qemu -kernel/-initrd), and the root file system packed into an
# ext4 image with mkfs.ext4 -d (no loop device, no mount). The guest has no network card:
# nothing here configures one. At boot the unit asr-vmtest.service mounts the second disk
# (/dev/vdb, read-only), runs its run.sh with the output on the virtio-serial port named
# asr.results, then powers off. Everything else a test needs comes on that disk.
#
# Writes OUTDIR/rootfs.img, vmlinuz, initrd.img and packages.txt; builds in OUTDIR.tmp and
# renames at the end, so an interrupted build leaves no half image behind.
set -eu

out=${1:?usage: mkimage.sh OUTDIR MIRROR PACKAGE...}
mirror=${2:?usage: mkimage.sh OUTDIR MIRROR PACKAGE...}
shift 2
[ "$(id -u)" = 0 ] || { echo "mkimage.sh: needs root (debootstrap)" >&2; exit 1; }

tmp="$out.tmp"
root="$tmp/root"

# unmount_under DIR: detaches every mount below DIR (debootstrap's and ours, left by a
# build that was killed), deepest first, before anything there is removed: rm -rf would
# otherwise descend into a bind-mounted /dev. rm also gets --one-file-system.
unmount_under()
{
  awk -v d="$1/" 'index($2, d) == 1 { print $2 }' /proc/mounts | sort -r |
    while read -r m; do umount -l "$m" 2>/dev/null; done
}

cleanup()
{
  unmount_under "$tmp"
  rm -rf --one-file-system "$tmp"
}
unmount_under "$tmp"
rm -rf --one-file-system "$tmp"
mkdir -p "$tmp"

trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

include=$(echo "$@" | tr ' ' ',')
echo "mkimage.sh: debootstrap bookworm from $mirror (log: $tmp/debootstrap.log)" >&2
if ! debootstrap --variant=minbase --include="$include" bookworm "$root" "$mirror" \
  >"$tmp/debootstrap.log" 2>&1; then
  tail -n 30 "$tmp/debootstrap.log" >&2
  echo "mkimage.sh: debootstrap failed" >&2
  exit 1
fi

echo asr-vm >"$root/etc/hostname"
printf '127.0.0.1\tlocalhost\n127.0.1.1\tasr-vm\n::1\tlocalhost ip6-localhost ip6-loopback\n' \
  >"$root/etc/hosts"
printf '/dev/vda\t/\text4\trw,errors=remount-ro\t0\t0\n' >"$root/etc/fstab"
# nothing to ask, nothing to wait for
: >"$root/etc/machine-id"
rm -f "$root/etc/resolv.conf"

# The initramfs only needs to find an ext4 root on a virtio disk (and the virtio-serial
# port): listing the modules makes it small, quick to load under TCG.
printf 'MODULES=list\nCOMPRESS=gzip\n' >"$root/etc/initramfs-tools/conf.d/asr-vm.conf"
printf 'virtio_pci\nvirtio_blk\nvirtio_console\next4\n' >>"$root/etc/initramfs-tools/modules"

# The test runner: run.sh from the second disk, its output on the asr.results port.
cat >"$root/usr/local/sbin/asr-vmtest" <<'EOF'
#!/bin/sh
# asr-vmtest: runs /mnt/vmtest/run.sh (the second disk) with its output on the virtio-serial
# port named asr.results, then powers the guest off.
port=/dev/null
for n in /sys/class/virtio-ports/*/name; do
  [ "$(cat "$n" 2>/dev/null)" = asr.results ] && port=/dev/$(basename "$(dirname "$n")")
done
mkdir -p /mnt/vmtest
if mount -o ro /dev/vdb /mnt/vmtest; then
  sh /mnt/vmtest/run.sh >"$port" 2>&1
else
  echo "not ok - asr-vmtest: cannot mount /dev/vdb" >"$port"
fi
sync
systemctl poweroff --force
EOF
chmod 755 "$root/usr/local/sbin/asr-vmtest"
cat >"$root/etc/systemd/system/asr-vmtest.service" <<'EOF'
[Unit]
Description=asr-agent VM test runner (tests/vm)
After=basic.target

[Service]
# exec, not oneshot: the boot finishes while the test runs (systemctl is-system-running)
Type=exec
ExecStart=/usr/local/sbin/asr-vmtest

[Install]
WantedBy=multi-user.target
EOF
mkdir -p "$root/etc/systemd/system/multi-user.target.wants"
ln -sf /etc/systemd/system/asr-vmtest.service \
  "$root/etc/systemd/system/multi-user.target.wants/asr-vmtest.service"
# no login prompt on the console: the host only reads it
ln -sf /dev/null "$root/etc/systemd/system/serial-getty@ttyS0.service"
ln -sf /dev/null "$root/etc/systemd/system/getty@tty1.service"

mount -t proc proc "$root/proc"
mount -t sysfs sys "$root/sys"
mount --bind /dev "$root/dev"
chroot "$root" update-initramfs -u -k all >"$tmp/initramfs.log" 2>&1 ||
  { cat "$tmp/initramfs.log" >&2; exit 1; }
chroot "$root" dpkg-query -W -f '${Package} ${Version}\n' >"$tmp/packages.txt"
unmount_under "$root"

cp -L "$root/vmlinuz" "$tmp/vmlinuz" 2>/dev/null || cp "$root"/boot/vmlinuz-* "$tmp/vmlinuz"
cp -L "$root/initrd.img" "$tmp/initrd.img" 2>/dev/null || cp "$root"/boot/initrd.img-* "$tmp/initrd.img"
rm -rf "$root"/var/cache/apt/archives/*.deb "$root"/var/lib/apt/lists/*

mb=$(du -sm "$root" | cut -f1)
mkfs.ext4 -q -F -L asr-vm -d "$root" "$tmp/rootfs.img" "$((mb + 768))M" >/dev/null
rm -rf --one-file-system "$root"
rm -rf --one-file-system "$out"
mv "$tmp" "$out"
trap - EXIT
echo "mkimage.sh: $out ($(du -sh "$out/rootfs.img" | cut -f1) used)" >&2
