#!/bin/sh
# Run a command on Debian 12's own kernel, in a qemu guest that sees this machine's root
# file system read-only: for the tests that need a kernel feature this host's kernel lacks
# (802.1q here: `make test-kernel`).
#
#   scripts/kernel-vm.sh [command...]
#
# The default command runs what depends most on the kernel and the cgroup layout: the
# network suite (802.1q included) and the pause/stats/resource tests, on cgroup2.  The whole
# integration suite passes there too (about 17 minutes), but for podman's own
# save-by-short-name in the interop test.
#
# The guest gets tmpfs on /tmp, /run, /var/tmp and /root, so nothing it does reaches the
# host's disk except the one shared folder .work/vm/out (the command's output and exit
# code); Debian's kernel modules come from the package, unpacked under .work/vm.  The guest
# runs under software emulation (KVM inside this machine's own VM fails to boot a kernel),
# so expect minutes.  Installs qemu-system-x86, kmod and cpio from Debian and downloads the
# linux-image package (nothing else leaves the machine).
set -eu
cd "$(dirname "$0")/.."
ROOT=$(pwd)
WORK="$ROOT/.work/vm"
OUT="$WORK/out"
[ $# -gt 0 ] || set -- .venv/bin/pytest -p no:cacheprovider -q -rfEs \
    tests/integration/network tests/integration/test_ops.py tests/integration/test_resources.py \
    tests/integration/rootless/test_rootless_cgroup.py

need=""
command -v qemu-system-x86_64 >/dev/null || need="$need qemu-system-x86"
command -v depmod >/dev/null || need="$need kmod"
command -v cpio >/dev/null || need="$need cpio"
if [ -n "$need" ]; then
    DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends $need >/dev/null 2>&1
fi

mkdir -p "$WORK"
if [ ! -f "$WORK/kernel/ready" ]; then
    # the image package linux-image-amd64 points at, for this Debian release
    pkg=$(apt-cache depends linux-image-amd64 | sed -n 's/.*Depends: \(linux-image-[0-9].*\)/\1/p' | head -1)
    [ -n "$pkg" ] || { echo "kernel-vm: no linux-image package found" >&2; exit 1; }
    rm -rf "$WORK/kernel" && mkdir -p "$WORK/kernel"
    (cd "$WORK" && apt-get download "$pkg" >/dev/null 2>&1 && dpkg-deb -x "$pkg"_*.deb kernel && rm -f "$pkg"_*.deb)
    KVER=$(ls "$WORK/kernel/lib/modules")
    depmod -b "$WORK/kernel" "$KVER"
    echo "$KVER" > "$WORK/kernel/ready"
fi
KVER=$(cat "$WORK/kernel/ready")

# initramfs: busybox and the modules to mount the host's root over 9p
INIT="$WORK/initramfs"
rm -rf "$INIT" && mkdir -p "$INIT/bin" "$INIT/mods"
cp /bin/busybox "$INIT/bin/busybox"
# the modules, dependencies first, in the order modprobe would load them
for m in virtio_pci 9pnet_virtio 9p; do
    modprobe -d "$WORK/kernel" -S "$KVER" --show-depends "$m" | awk '$1 == "insmod" {print $2}'
done | awk '!seen[$0]++' > "$INIT/order"
n=10
while read -r f; do
    cp "$f" "$INIT/mods/$n-$(basename "$f")"
    n=$((n + 1))
done < "$INIT/order"
rm "$INIT/order"
cat > "$INIT/init" <<'EOF'
#!/bin/busybox sh
B=/bin/busybox
$B mkdir -p /proc /sys /dev /newroot
$B mount -t proc proc /proc
$B mount -t sysfs sys /sys
$B mount -t devtmpfs dev /dev
for m in /mods/*.ko; do
    $B insmod $m
done
$B mount -t 9p -o trans=virtio,version=9p2000.L,ro,msize=512000,cache=loose hostroot /newroot
$B mount -t proc proc /newroot/proc
$B mount -t sysfs sys /newroot/sys
$B mount --move /dev /newroot/dev
exec $B switch_root /newroot /bin/sh "$(cat /proc/cmdline | $B sed 's/.*stage2=\([^ ]*\).*/\1/')"
EOF
chmod +x "$INIT/init"
(cd "$INIT" && find . | cpio -o -H newc --quiet) | gzip -1 > "$WORK/initrd.gz"

# stage 2, on the host's root inside the guest
rm -rf "$OUT" && mkdir -p "$OUT"
{
    echo '#!/bin/sh'
    echo 'set -u'
    echo 'for d in /tmp /run /var/tmp /var/log /var/lib/containers /root; do mount -t tmpfs tmpfs $d; done'
    echo 'ln -s /proc/self/fd /dev/fd; for i in 0 1 2; do ln -s /proc/self/fd/$i /dev/$(echo stdin stdout stderr | cut -d" " -f$((i + 1))); done'
    # the kernel's module requests go to Debian's modules where they were unpacked
    echo "echo $OUT/modprobe > /proc/sys/kernel/modprobe"
    # /dev/net/tun for the rootless tests' user-mode network (no udev here to load tun)
    echo "$OUT/modprobe tun 2>/dev/null; mkdir -p /dev/net; [ -c /dev/net/tun ] || mknod -m 0666 /dev/net/tun c 10 200"
    # the rootless tests make users: a writable copy of /etc, and homes on tmpfs
    echo 'cp -a /etc /tmp/etc-rw && mount --bind /tmp/etc-rw /etc && mount -t tmpfs tmpfs /home'
    echo 'mkdir -p /dev/pts /dev/shm && mount -t devpts devpts /dev/pts && mount -t tmpfs tmpfs /dev/shm'
    echo 'mount -t cgroup2 cgroup2 /sys/fs/cgroup'
    echo 'mkdir -p /run/vmout && mount -t 9p -o trans=virtio,version=9p2000.L out /run/vmout'
    echo 'ip link set lo up'
    # no NIC: a dummy eth0 with a documentation address stands in for the LAN, so the tests
    # find the interface and address they expect and nothing can leave the guest
    echo 'ip link add eth0 type dummy && ip addr add 192.0.2.2/24 dev eth0 && ip link set eth0 up'
    echo 'ip route add default via 192.0.2.1 dev eth0'
    echo "cd $ROOT"
    echo "export HOME=/root PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin PYTHONDONTWRITEBYTECODE=1"
    printf '('
    for a in "$@"; do printf " '%s'" "$(printf %s "$a" | sed "s/'/'\\\\''/g")"; done
    printf ') > /run/vmout/log 2>&1; echo $? > /run/vmout/rc\n'
    echo 'sync; echo o > /proc/sysrq-trigger'
} > "$OUT/stage2.sh"
printf '#!/bin/sh\nexec modprobe -d %s "$@"\n' "$WORK/kernel" > "$OUT/modprobe"
chmod +x "$OUT/modprobe"

qemu-system-x86_64 -cpu max -smp 2 -m 2048 -nographic -no-reboot -nic none \
    -kernel "$WORK/kernel/boot/vmlinuz-$KVER" -initrd "$WORK/initrd.gz" \
    -append "console=ttyS0 panic=-1 stage2=$OUT/stage2.sh" \
    -virtfs "local,path=/,mount_tag=hostroot,security_model=passthrough,readonly=on,multidevs=remap" \
    -virtfs "local,path=$OUT,mount_tag=out,security_model=passthrough" \
    > "$WORK/console.log" 2>&1 || true

cat "$OUT/log" 2>/dev/null || { echo "kernel-vm: the guest wrote no output; see $WORK/console.log" >&2; exit 1; }
rc=$(cat "$OUT/rc" 2>/dev/null || echo 1)
exit "$rc"
