"""Seccomp profiles in Docker's JSON format, checked and turned into OCI ``linux.seccomp``.

Pure.  A profile (cove's default from ``seccomp_default`` or a user's
``--security-opt seccomp=<json>``) may carry rules that apply only on some architectures,
only to containers holding (``includes.caps``) or lacking (``excludes.caps``) some
capabilities, or only from a kernel version on.  ``oci_section`` resolves those against
one container and one host, leaving the plain list the runtime's libseccomp compiles.

``check_profile`` refuses what dockerd or runc would refuse, with their words, so a bad
profile is turned down at create instead of at the first start.
"""

from __future__ import annotations

import json
from collections.abc import Collection, Mapping
from typing import Any

from cove.errors import InvalidArgument
from cove.oci import seccomp_default
from cove.util.jsontypes import Json

ACTIONS = frozenset(
    ("SCMP_ACT_KILL", "SCMP_ACT_KILL_PROCESS", "SCMP_ACT_KILL_THREAD", "SCMP_ACT_TRAP",
     "SCMP_ACT_ERRNO", "SCMP_ACT_TRACE", "SCMP_ACT_ALLOW", "SCMP_ACT_LOG", "SCMP_ACT_NOTIFY")
)  # fmt: skip
OPERATORS = frozenset(
    ("SCMP_CMP_NE", "SCMP_CMP_LT", "SCMP_CMP_LE", "SCMP_CMP_EQ", "SCMP_CMP_GE", "SCMP_CMP_GT",
     "SCMP_CMP_MASKED_EQ")
)  # fmt: skip
ARCHITECTURES = frozenset(
    "SCMP_ARCH_" + a
    for a in ("X86", "X86_64", "X32", "ARM", "AARCH64", "MIPS", "MIPS64", "MIPS64N32", "MIPSEL",
              "MIPSEL64", "MIPSEL64N32", "PPC", "PPC64", "PPC64LE", "S390", "S390X", "PARISC",
              "PARISC64", "RISCV64")
)  # fmt: skip
FLAGS = frozenset(
    ("SECCOMP_FILTER_FLAG_TSYNC", "SECCOMP_FILTER_FLAG_LOG", "SECCOMP_FILTER_FLAG_SPEC_ALLOW",
     "SECCOMP_FILTER_FLAG_WAIT_KILLABLE_RECV")
)  # fmt: skip

# uname -m -> the short names profiles use in includes/excludes.arches (Go's GOARCH names).
GOARCH = {"x86_64": "amd64", "aarch64": "arm64", "i686": "386", "armv7l": "arm"}
# The short names that a filter for a host architecture also covers.
_ALSO = {"amd64": ("amd64", "x32", "x86"), "arm64": ("arm64", "arm")}


def _fail(msg: str) -> InvalidArgument:
    return InvalidArgument(msg)


def load(text: str) -> Json:
    """Parse a profile's JSON and check it; dockerd's words on failure."""
    try:
        profile = json.loads(text)
    except ValueError as e:
        raise _fail(f"Decoding seccomp profile failed: {e}") from None
    if not isinstance(profile, dict):
        kind = "array" if isinstance(profile, list) else type(profile).__name__
        raise _fail(
            f"Decoding seccomp profile failed: json: cannot unmarshal {kind} into Go value of "
            "type seccomp.Seccomp"
        )
    check_profile(profile)
    return profile


def _strings(v: Any, what: str) -> list[str]:
    if v is None:
        return []
    if not isinstance(v, list) or not all(isinstance(x, str) for x in v):
        raise _fail(f"Decoding seccomp profile failed: {what} must be a list of strings")
    return v


def _check_action(action: Any) -> None:
    if action not in ACTIONS:
        raise _fail(f"string {action} is not a valid action for seccomp")


def _check_call(call: Any) -> None:
    if not isinstance(call, dict):
        raise _fail("Decoding seccomp profile failed: each syscall rule must be an object")
    if call.get("name") and call.get("names"):
        raise _fail(
            "'name' and 'names' were specified in the seccomp profile, use either 'name' or 'names'"
        )
    _strings(call.get("names"), "names")
    _check_action(call.get("action"))
    errno = call.get("errnoRet")
    if errno is not None and (not isinstance(errno, int) or isinstance(errno, bool) or errno < 0):
        raise _fail("Decoding seccomp profile failed: errnoRet must be a positive number")
    args = call.get("args") or []
    if not isinstance(args, list):
        raise _fail("Decoding seccomp profile failed: args must be a list")
    for arg in args:
        if not isinstance(arg, dict):
            raise _fail("Decoding seccomp profile failed: each arg must be an object")
        if arg.get("op") not in OPERATORS:
            raise _fail(f"string {arg.get('op')} is not a valid operator for seccomp")
        index = arg.get("index", 0)
        if not isinstance(index, int) or not 0 <= index < 6:
            raise _fail(f"invalid syscall argument index {index}: a syscall has 6 arguments")
        for key in ("value", "valueTwo"):
            v = arg.get(key, 0)
            if not isinstance(v, int) or isinstance(v, bool) or not 0 <= v < 2**64:
                raise _fail(f"Decoding seccomp profile failed: {key} must be an unsigned number")
    for part in ("includes", "excludes"):
        f = call.get(part) or {}
        if not isinstance(f, dict):
            raise _fail(f"Decoding seccomp profile failed: {part} must be an object")
        _strings(f.get("caps"), f"{part}.caps")
        _strings(f.get("arches"), f"{part}.arches")


def check_profile(profile: Mapping[str, Any]) -> None:
    """Raise InvalidArgument for anything dockerd or the runtime would refuse."""
    if profile.get("architectures") and profile.get("archMap"):
        raise _fail(
            "'architectures' and 'archMap' were specified in the seccomp profile, use either "
            "'architectures' or 'archMap'"
        )
    default = profile.get("defaultAction", "")
    calls = profile.get("syscalls") or []
    if not isinstance(calls, list):
        raise _fail("Decoding seccomp profile failed: syscalls must be a list")
    if default or calls:
        _check_action(default)
    for arch in _strings(profile.get("architectures"), "architectures"):
        if arch not in ARCHITECTURES:
            raise _fail(f"string {arch} is not a valid arch for seccomp")
    arch_map = profile.get("archMap") or []
    if not isinstance(arch_map, list):
        raise _fail("Decoding seccomp profile failed: archMap must be a list")
    for entry in arch_map:
        if not isinstance(entry, dict):
            raise _fail("Decoding seccomp profile failed: each archMap entry must be an object")
        subs = _strings(entry.get("subArchitectures"), "subArchitectures")
        for name in [entry.get("architecture"), *subs]:
            if name not in ARCHITECTURES:
                raise _fail(f"string {name} is not a valid arch for seccomp")
    for flag in _strings(profile.get("flags"), "flags"):
        if flag not in FLAGS:
            raise _fail(f"string {flag} is not a valid flag for seccomp")
    for call in calls:
        _check_call(call)


def _kernel_at_least(kernel: tuple[int, int], wanted: str) -> bool:
    try:
        major, _, minor = wanted.partition(".")
        return kernel >= (int(major), int(minor or 0))
    except ValueError:
        raise _fail(f"invalid kernel version in seccomp profile: {wanted}") from None


def _applies(
    call: Mapping[str, Any], caps: Collection[str], arch: str, kernel: tuple[int, int]
) -> bool:
    inc = call.get("includes") or {}
    exc = call.get("excludes") or {}
    arches = _ALSO.get(arch, (arch,))
    if inc.get("arches") and not set(inc["arches"]) & set(arches):
        return False
    if exc.get("arches") and set(exc["arches"]) & set(arches):
        return False
    # every capability named in includes is needed; any one named in excludes rules it out
    if inc.get("caps") and not all(c in caps for c in inc["caps"]):
        return False
    if exc.get("caps") and any(c in caps for c in exc["caps"]):
        return False
    if inc.get("minKernel") and not _kernel_at_least(kernel, inc["minKernel"]):
        return False
    return not (exc.get("minKernel") and _kernel_at_least(kernel, exc["minKernel"]))


def _architectures(profile: Mapping[str, Any], machine: str) -> list[str]:
    if profile.get("architectures"):
        return list(profile["architectures"])
    native = seccomp_default.ARCHES.get(machine, ())
    for entry in profile.get("archMap") or []:
        if native and entry.get("architecture") == native[0]:
            return [entry["architecture"], *(entry.get("subArchitectures") or [])]
    return []


def oci_section(
    profile: Mapping[str, Any],
    caps: Collection[str],
    machine: str = "x86_64",
    kernel: tuple[int, int] = (6, 0),
) -> Json | None:
    """``linux.seccomp`` for a container holding ``caps`` (its bounding set) on a host of
    architecture ``machine`` (uname -m) running ``kernel`` (major, minor).  None when the
    profile asks for nothing (no default action and no rules: seccomp off, as dockerd)."""
    calls = profile.get("syscalls") or []
    if not profile.get("defaultAction") and not calls:
        return None
    arch = GOARCH.get(machine, machine)
    out: Json = {"defaultAction": profile["defaultAction"]}
    if profile.get("defaultErrnoRet") is not None:
        out["defaultErrnoRet"] = profile["defaultErrnoRet"]
    arches = _architectures(profile, machine)
    if arches:
        out["architectures"] = arches
    for key in ("flags", "listenerPath", "listenerMetadata"):
        if profile.get(key):
            out[key] = profile[key]
    rules: list[Json] = []
    for call in calls:
        if not _applies(call, caps, arch, kernel):
            continue
        names = list(call.get("names") or ([call["name"]] if call.get("name") else []))
        if not names:
            continue
        rule: Json = {"names": names, "action": call["action"]}
        if call.get("args"):
            rule["args"] = [
                {"index": a.get("index", 0), "value": a.get("value", 0),
                 "valueTwo": a.get("valueTwo", 0), "op": a["op"]}
                for a in call["args"]
            ]  # fmt: skip
        if call.get("errnoRet") is not None:
            rule["errnoRet"] = call["errnoRet"]
        rules.append(rule)
    out["syscalls"] = rules
    return out


def default_section(
    caps: Collection[str], machine: str = "x86_64", kernel: tuple[int, int] = (6, 0)
) -> Json | None:
    return oci_section(seccomp_default.default_profile(), caps, machine, kernel)
