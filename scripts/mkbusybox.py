#!/usr/bin/env python3
"""Write a busybox root filesystem tar built from Debian's busybox-static.

Usage: mkbusybox.py OUT.tar [BUSYBOX]   (OUT "-" writes to stdout)

The result is what ``cove import`` (or ``docker import``) turns into ``busybox:latest``: the
static binary, a symlink per applet, and the small /etc (passwd, group) of Docker Hub's
busybox.  That image also has ``CMD ["sh"]``, which a rootfs tar cannot carry: import it with
the change ``-c 'CMD ["sh"]'`` (``CMD_CHANGE`` below), as ``make image`` and the test suite do.
"""

from __future__ import annotations

import io
import os
import subprocess
import sys
import tarfile

PASSWD = """root:x:0:0:root:/root:/bin/sh
daemon:x:1:1:daemon:/usr/sbin:/bin/false
bin:x:2:2:bin:/bin:/bin/false
sys:x:3:3:sys:/dev:/bin/false
sync:x:4:100:sync:/bin:/bin/sync
mail:x:8:8:mail:/var/spool/mail:/bin/false
www-data:x:33:33:www-data:/var/www:/bin/false
operator:x:37:37:Operator:/var:/bin/false
nobody:x:65534:65534:nobody:/home:/bin/false
"""
GROUP = """root:x:0:
daemon:x:1:
bin:x:2:
sys:x:3:
adm:x:4:
tty:x:5:
disk:x:6:
wheel:x:10:root
mail:x:12:
www-data:x:33:
users:x:100:
nogroup:x:65534:
"""
CMD_CHANGE = 'CMD ["sh"]'  # the image config's Cmd, as Docker Hub's busybox has it
MTIME = 1_700_000_000  # fixed, so the same busybox gives the same layer digest


def main() -> None:
    out = sys.argv[1] if len(sys.argv) > 1 else "-"
    busybox = sys.argv[2] if len(sys.argv) > 2 else "/bin/busybox"
    applets = subprocess.run([busybox, "--list-full"], capture_output=True, text=True, check=True)
    with open(busybox, "rb") as f:
        binary = f.read()
    fobj = sys.stdout.buffer if out == "-" else open(out, "wb")  # noqa: SIM115
    with tarfile.open(fileobj=fobj, mode="w|", format=tarfile.PAX_FORMAT) as tar:

        def add_dir(name: str, mode: int = 0o755) -> None:
            ti = tarfile.TarInfo(name)
            ti.type, ti.mode, ti.mtime = tarfile.DIRTYPE, mode, MTIME
            tar.addfile(ti)

        def add_file(name: str, data: bytes, mode: int = 0o644) -> None:
            ti = tarfile.TarInfo(name)
            ti.size, ti.mode, ti.mtime = len(data), mode, MTIME
            tar.addfile(ti, io.BytesIO(data))

        for d in (
            "bin",
            "dev",
            "etc",
            "home",
            "proc",
            "root",
            "sys",
            "usr",
            "usr/bin",
            "usr/sbin",
            "sbin",
            "var",
            "var/spool",
            "var/spool/mail",
            "var/www",
        ):
            add_dir(d, 0o700 if d == "root" else 0o755)
        add_dir("tmp", 0o1777)
        add_file("bin/busybox", binary, 0o755)
        seen = {"bin/busybox"}
        for path in sorted(applets.stdout.split()):
            path = path.lstrip("/")
            if path in seen or "/" not in path:
                continue
            seen.add(path)
            ti = tarfile.TarInfo(path)
            ti.type, ti.mtime, ti.mode = tarfile.SYMTYPE, MTIME, 0o777
            # relative links keep the tree self-contained when viewed from the host
            ti.linkname = os.path.relpath("bin/busybox", os.path.dirname(path))
            tar.addfile(ti)
        add_file("etc/passwd", PASSWD.encode())
        add_file("etc/group", GROUP.encode())
        add_file("etc/shadow", b"root:*:10933:0:99999:7:::\nnobody:*:10933:0:99999:7:::\n", 0o640)
    if out != "-":
        fobj.close()


if __name__ == "__main__":
    main()
