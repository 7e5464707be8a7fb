"""Compile an OCI ``linux.seccomp`` section to the BPF program the kernel loads, once.

crun compiles the section with libseccomp at every container start: ~20 ms of a
``run --rm`` for the default profile's 350 calls on three ABIs (measured here).  The
program depends only on the section, so coved compiles it with the same library (through
ctypes), keeps it by the section's text, and hands it to crun in the
``run.oci.seccomp_bpf_data`` annotation (crun then loads those bytes as they are and
ignores the section).  The section stays in config.json for whoever reads it.

Anything this module cannot compile exactly as crun would (a notify listener, filter
flags, an unknown action, architecture or operator, a rule libseccomp refuses) gives
None, and crun compiles the section itself as before.
"""

from __future__ import annotations

import base64
import ctypes
import ctypes.util
import json
import os
from collections import OrderedDict
from collections.abc import Mapping
from typing import Any

ANNOTATION = "run.oci.seccomp_bpf_data"
_CACHE_SIZE = 32
_cache: OrderedDict[str, str | None] = OrderedDict()

_OPS = {"SCMP_CMP_NE": 1, "SCMP_CMP_LT": 2, "SCMP_CMP_LE": 3, "SCMP_CMP_EQ": 4,
        "SCMP_CMP_GE": 5, "SCMP_CMP_GT": 6, "SCMP_CMP_MASKED_EQ": 7}  # fmt: skip
_EPERM = 1


class _Arg(ctypes.Structure):
    _fields_ = [
        ("arg", ctypes.c_uint),
        ("op", ctypes.c_int),
        ("datum_a", ctypes.c_uint64),
        ("datum_b", ctypes.c_uint64),
    ]


class _Lib:
    def __init__(self) -> None:
        name = ctypes.util.find_library("seccomp") or "libseccomp.so.2"
        lib = ctypes.CDLL(name, use_errno=True)
        lib.seccomp_init.restype = ctypes.c_void_p
        lib.seccomp_init.argtypes = [ctypes.c_uint32]
        lib.seccomp_release.argtypes = [ctypes.c_void_p]
        lib.seccomp_arch_resolve_name.restype = ctypes.c_uint32
        lib.seccomp_arch_resolve_name.argtypes = [ctypes.c_char_p]
        lib.seccomp_arch_add.argtypes = [ctypes.c_void_p, ctypes.c_uint32]
        lib.seccomp_syscall_resolve_name.argtypes = [ctypes.c_char_p]
        lib.seccomp_rule_add_array.argtypes = [
            ctypes.c_void_p, ctypes.c_uint32, ctypes.c_int, ctypes.c_uint, ctypes.POINTER(_Arg)
        ]  # fmt: skip
        lib.seccomp_export_bpf.argtypes = [ctypes.c_void_p, ctypes.c_int]
        self.lib = lib


_lib: _Lib | None = None


def _library() -> _Lib | None:
    global _lib
    if _lib is None:
        try:
            _lib = _Lib()
        except (OSError, AttributeError):
            return None
    return _lib


def _action(name: Any, errno: Any) -> int | None:
    """libseccomp's action value (seccomp.h), None for what is not compiled here."""
    code = int(errno) if isinstance(errno, int) and errno >= 0 else _EPERM
    fixed = {"SCMP_ACT_ALLOW": 0x7FFF0000, "SCMP_ACT_KILL": 0, "SCMP_ACT_KILL_THREAD": 0,
             "SCMP_ACT_KILL_PROCESS": 0x80000000, "SCMP_ACT_TRAP": 0x00030000,
             "SCMP_ACT_LOG": 0x7FFC0000}  # fmt: skip
    if name in fixed:
        return fixed[name]
    if name == "SCMP_ACT_ERRNO":
        return 0x00050000 | (code & 0xFFFF)
    if name == "SCMP_ACT_TRACE":
        return 0x7FF00000 | (code & 0xFFFF)
    return None


def _compile(lib: Any, section: Mapping[str, Any]) -> bytes | None:
    if section.get("flags") or section.get("listenerPath"):
        return None
    default = _action(section.get("defaultAction"), section.get("defaultErrnoRet"))
    if default is None:
        return None
    ctx = lib.seccomp_init(default)
    if not ctx:
        return None
    try:
        for arch in section.get("architectures") or []:
            token = lib.seccomp_arch_resolve_name(
                str(arch).removeprefix("SCMP_ARCH_").lower().encode()
            )
            if token == 0:
                return None
            rc = lib.seccomp_arch_add(ctx, token)
            if rc < 0 and rc != -17:  # EEXIST: the native one is there from the start
                return None
        for rule in section.get("syscalls") or []:
            action = _action(rule.get("action"), rule.get("errnoRet"))
            if action is None:
                return None
            args = rule.get("args") or []
            if any(a.get("op") not in _OPS for a in args):
                return None
            arr = (_Arg * max(1, len(args)))(
                *[_Arg(a.get("index", 0), _OPS[a["op"]], a.get("value", 0), a.get("valueTwo", 0))
                  for a in args]
            )  # fmt: skip
            for name in rule.get("names") or []:
                nr = lib.seccomp_syscall_resolve_name(str(name).encode())
                if nr == -1:
                    continue  # newer than this libseccomp: crun skips it too
                if action == default:
                    continue  # libseccomp refuses a rule that changes nothing
                if lib.seccomp_rule_add_array(ctx, action, nr, len(args), arr) < 0:
                    return None
        fd = os.memfd_create("cove-seccomp")
        try:
            if lib.seccomp_export_bpf(ctx, fd) < 0:
                return None
            os.lseek(fd, 0, os.SEEK_SET)
            chunks = []
            while chunk := os.read(fd, 65536):
                chunks.append(chunk)
            return b"".join(chunks)
        finally:
            os.close(fd)
    finally:
        lib.seccomp_release(ctx)


def bpf_annotation(section: Mapping[str, Any]) -> str | None:
    """The annotation's value (base64 of the program) for ``section``, or None."""
    key = json.dumps(section, sort_keys=True)
    if key in _cache:
        _cache.move_to_end(key)
        return _cache[key]
    lib = _library()
    program = _compile(lib.lib, section) if lib is not None else None
    value = base64.b64encode(program).decode() if program else None
    _cache[key] = value
    if len(_cache) > _CACHE_SIZE:
        _cache.popitem(last=False)
    return value
