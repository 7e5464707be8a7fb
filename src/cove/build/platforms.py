"""Build platforms: the predefined platform ARGs and which target platforms can be built.

BuildKit predefines ``TARGETPLATFORM``/``TARGETOS``/``TARGETARCH``/``TARGETVARIANT`` and
the ``BUILD*`` four in the global scope (usable in ``FROM``, and inside a stage after a
bare ``ARG TARGETARCH``).  cove builds by running containers on this host, so a target
other than the host's own platform can only be built when the kernel can run its binaries
through an emulator registered with binfmt_misc (qemu-user); otherwise it is refused
clearly rather than producing an image of the wrong architecture.
"""

from __future__ import annotations

import os

from cove.errors import InvalidArgument
from cove.image.config import goarch

PLATFORM_ARGS = (
    "TARGETPLATFORM", "TARGETOS", "TARGETARCH", "TARGETVARIANT",
    "BUILDPLATFORM", "BUILDOS", "BUILDARCH", "BUILDVARIANT",
)  # fmt: skip
_ARCH = {
    "x86_64": "amd64", "x86-64": "amd64", "amd64": "amd64", "aarch64": "arm64",
    "arm64": "arm64", "armhf": "arm", "armel": "arm", "arm": "arm", "i386": "386",
    "i686": "386", "386": "386", "ppc64le": "ppc64le", "s390x": "s390x",
    "riscv64": "riscv64",
}  # fmt: skip
_QEMU = {"arm64": "aarch64", "arm": "arm", "386": "i386", "amd64": "x86_64",
         "ppc64le": "ppc64le", "s390x": "s390x", "riscv64": "riscv64"}  # fmt: skip
BINFMT = "/proc/sys/fs/binfmt_misc"

Platform = tuple[str, str, str]  # os, architecture, variant ("" when none)


def host() -> Platform:
    arch = goarch()
    return "linux", arch, "v8" if arch == "arm64" else ""


def parse(text: str) -> Platform:
    """``os[/arch[/variant]]`` normalised as containerd does (``x86_64`` is ``amd64``,
    ``armhf`` is ``arm/v7``, arm64's variant is ``v8``)."""
    parts = [p.strip().lower() for p in text.split("/")]
    if not parts[0] or len(parts) > 3 or any(not p for p in parts):
        raise InvalidArgument(f'"{text}": unknown operating system or architecture: '
                              "invalid argument")  # fmt: skip
    os_ = parts[0]
    if len(parts) == 1:
        return (os_, *host()[1:]) if os_ == "linux" else (os_, "", "")
    arch = _ARCH.get(parts[1], parts[1])
    variant = parts[2] if len(parts) == 3 else ""
    if parts[1] == "armhf" and not variant:
        variant = "v7"
    if parts[1] == "armel" and not variant:
        variant = "v6"
    if arch == "arm64" and variant in ("", "8"):
        variant = "v8"
    if arch == "arm" and not variant:
        variant = "v7"
    return os_, arch, variant


def text(p: Platform) -> str:
    """The ``os/arch[/variant]`` string (arm64's default v8 left out, as BuildKit does)."""
    os_, arch, variant = p
    if arch == "arm64" and variant == "v8":
        variant = ""
    return "/".join(x for x in (os_, arch, variant) if x)


def emulated(arch: str) -> bool:
    """Whether binfmt_misc has an enabled qemu handler for ``arch``."""
    name = _QEMU.get(arch, arch)
    path = os.path.join(BINFMT, f"qemu-{name}")
    try:
        with open(path, encoding="ascii", errors="replace") as f:
            return f.readline().strip() == "enabled"
    except OSError:
        return False


def check(text_: str | None) -> Platform:
    """The platform to build for: the host's unless ``text_`` names another one that can
    run here; refused with a message that says why otherwise."""
    me = host()
    if not text_:
        return me
    if "," in text_:
        raise InvalidArgument(
            f"cove builds one platform at a time; {text_!r} names several (run one build "
            "per platform)"
        )
    want = parse(text_)
    if want[0] != "linux":
        raise InvalidArgument(f"platform {text(want)!r} is not supported: cove builds Linux "
                              "images only")  # fmt: skip
    if want[1] == me[1] and (want[2] or me[2]) == (me[2] or want[2]):
        return want
    if emulated(want[1]):
        return want
    raise InvalidArgument(
        f"cannot build for platform {text(want)!r}: this host is {text(me)} and no emulator "
        f"for {want[1]} is registered with binfmt_misc (install qemu-user-static and "
        "binfmt-support to run its binaries)"
    )


def args(target: Platform) -> dict[str, str]:
    """The eight predefined platform ARGs for a build to ``target`` on this host."""
    me = host()
    return {
        "TARGETPLATFORM": text(target),
        "TARGETOS": target[0],
        "TARGETARCH": target[1],
        "TARGETVARIANT": "" if target[1] == "arm64" and target[2] == "v8" else target[2],
        "BUILDPLATFORM": text(me),
        "BUILDOS": me[0],
        "BUILDARCH": me[1],
        "BUILDVARIANT": "" if me[1] == "arm64" and me[2] == "v8" else me[2],
    }
