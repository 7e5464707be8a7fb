"""The bpf(2) system call, as far as cove needs it: hash maps, loading a program, attaching
it to a cgroup and finding programs already attached.  No compiler and no libbpf: programs
are a few dozen instructions, assembled by ``Asm`` below.

Every function raises ``OSError`` with the kernel's errno; callers decide what a missing
capability means.
"""

from __future__ import annotations

import ctypes
import os
import struct
from collections.abc import Iterator

_NR_BPF = {"x86_64": 321, "aarch64": 280}.get(os.uname().machine, 321)

# enum bpf_cmd
MAP_CREATE, MAP_LOOKUP, MAP_UPDATE, MAP_DELETE, MAP_NEXT_KEY, PROG_LOAD = 0, 1, 2, 3, 4, 5
PROG_ATTACH, PROG_DETACH, PROG_GET_FD_BY_ID, OBJ_GET_INFO_BY_FD, PROG_QUERY = 8, 9, 13, 15, 16

MAP_TYPE_HASH = 1
PROG_TYPE_SOCK_OPS = 13
ATTACH_CGROUP_SOCK_OPS = 3
F_ALLOW_MULTI = 2
NAME_LEN = 16  # BPF_OBJ_NAME_LEN, the terminating NUL included

_libc = ctypes.CDLL(None, use_errno=True)


def _call(cmd: int, attr: bytearray) -> int:
    buf = (ctypes.c_char * len(attr)).from_buffer(attr)
    r = int(_libc.syscall(_NR_BPF, cmd, buf, len(attr)))
    if r < 0:
        err = ctypes.get_errno()
        raise OSError(err, f"bpf: {os.strerror(err)}")
    return r


def _name(name: str) -> bytes:
    raw = name.encode()
    if len(raw) >= NAME_LEN:
        raise ValueError(f"bpf object name too long: {name!r}")
    return raw.ljust(NAME_LEN, b"\0")


class Asm:
    """eBPF instructions (struct bpf_insn: opcode, dst/src registers, offset, immediate).

    Jumps take a label; ``code()`` resolves them once every label is placed."""

    def __init__(self) -> None:
        self._slots: list[tuple[int, int, int, int | str, int]] = []
        self._labels: dict[str, int] = {}

    def _emit(self, op: int, dst: int = 0, src: int = 0, off: int | str = 0, imm: int = 0) -> None:
        self._slots.append((op, dst, src, off, imm))

    def label(self, name: str) -> None:
        self._labels[name] = len(self._slots)

    def mov(self, dst: int, src: int) -> None:
        self._emit(0xBF, dst, src)  # ALU64 | MOV | X

    def mov_imm(self, dst: int, imm: int) -> None:
        self._emit(0xB7, dst, 0, 0, imm)  # ALU64 | MOV | K

    def mov32_imm(self, dst: int, imm: int) -> None:
        """A 32-bit constant, zero-extended (``mov_imm`` sign-extends it)."""
        self._emit(0xB4, dst, 0, 0, imm)  # ALU | MOV | K

    def add_imm(self, dst: int, imm: int) -> None:
        self._emit(0x07, dst, 0, 0, imm)  # ALU64 | ADD | K

    def and_imm(self, dst: int, imm: int) -> None:
        self._emit(0x57, dst, 0, 0, imm)  # ALU64 | AND | K

    def load32(self, dst: int, src: int, off: int) -> None:
        self._emit(0x61, dst, src, off)  # LDX | MEM | W

    def store32(self, dst: int, off: int, src: int) -> None:
        self._emit(0x63, dst, src, off)  # STX | MEM | W

    def load_imm64(self, dst: int, value: int, src: int = 0) -> None:
        """Two slots; ``src=1`` (BPF_PSEUDO_MAP_FD) makes ``value`` a map's fd."""
        self._emit(0x18, dst, src, 0, value & 0xFFFFFFFF)
        self._emit(0x00, 0, 0, 0, (value >> 32) & 0xFFFFFFFF)

    def jump(self, target: str) -> None:
        self._emit(0x05, 0, 0, target)  # JMP | JA

    def jump_if(self, cond: str, dst: int, imm: int, target: str) -> None:
        self._emit({"==": 0x15, "!=": 0x55}[cond], dst, 0, target, imm)  # JMP | JEQ/JNE | K

    def jump_if_reg(self, cond: str, dst: int, src: int, target: str) -> None:
        self._emit({"==": 0x1D, "!=": 0x5D}[cond], dst, src, target)  # JMP | JEQ/JNE | X

    def call(self, helper: int) -> None:
        self._emit(0x85, 0, 0, 0, helper)

    def exit(self) -> None:
        self._emit(0x95)

    def code(self) -> bytes:
        out = []
        for pc, (op, dst, src, off, imm) in enumerate(self._slots):
            if isinstance(off, str):
                off = self._labels[off] - pc - 1
            out.append(struct.pack("<BBhI", op, dst | (src << 4), off, imm & 0xFFFFFFFF))
        return b"".join(out)


class HashMap:
    """A BPF_MAP_TYPE_HASH owned by this process (closed with ``close``)."""

    def __init__(self, name: str, key_size: int, value_size: int, max_entries: int) -> None:
        attr = bytearray(72)
        struct.pack_into("<IIIII", attr, 0, MAP_TYPE_HASH, key_size, value_size, max_entries, 0)
        attr[28 : 28 + NAME_LEN] = _name(name)
        self.fd = _call(MAP_CREATE, attr)

    def _elem(self, cmd: int, key: bytes, value: bytes | None = None) -> None:
        k = ctypes.create_string_buffer(key, len(key))
        v = ctypes.create_string_buffer(value, len(value)) if value is not None else None
        attr = bytearray(32)
        struct.pack_into(
            "<IIQQQ", attr, 0, self.fd, 0, ctypes.addressof(k), ctypes.addressof(v) if v else 0, 0
        )
        _call(cmd, attr)

    def put(self, key: bytes, value: bytes) -> None:
        self._elem(MAP_UPDATE, key, value)

    def delete(self, key: bytes) -> None:
        self._elem(MAP_DELETE, key)

    def close(self) -> None:
        os.close(self.fd)


def load_program(prog_type: int, code: bytes, name: str) -> int:
    """The program's fd; the verifier's log is the error's message when it refuses."""
    insns = ctypes.create_string_buffer(code, len(code))
    lic = ctypes.create_string_buffer(b"GPL")  # bpf_setsockopt and friends are GPL-only
    log = ctypes.create_string_buffer(16384)
    attr = bytearray(128)
    struct.pack_into(
        "<IIQQIIQ", attr, 0, prog_type, len(code) // 8, ctypes.addressof(insns),
        ctypes.addressof(lic), 1, len(log), ctypes.addressof(log),
    )  # fmt: skip
    attr[48 : 48 + NAME_LEN] = _name(name)
    try:
        return _call(PROG_LOAD, attr)
    except OSError as e:
        detail = log.value.decode(errors="replace").strip().splitlines()[-3:]
        raise OSError(e.errno, f"{e.strerror}: {' / '.join(detail)}") from None


def attach(cgroup_fd: int, prog_fd: int, attach_type: int) -> None:
    """Added to the cgroup's list (BPF_F_ALLOW_MULTI), beside other owners' programs."""
    attr = bytearray(32)
    struct.pack_into("<IIII", attr, 0, cgroup_fd, prog_fd, attach_type, F_ALLOW_MULTI)
    _call(PROG_ATTACH, attr)


def detach(cgroup_fd: int, prog_fd: int, attach_type: int) -> None:
    attr = bytearray(32)
    struct.pack_into("<IIII", attr, 0, cgroup_fd, prog_fd, attach_type, 0)
    _call(PROG_DETACH, attr)


def attached(cgroup_fd: int, attach_type: int) -> list[int]:
    """IDs of the programs attached to this cgroup itself (not inherited ones)."""
    ids = (ctypes.c_uint32 * 64)()
    attr = bytearray(40)
    struct.pack_into("<IIIIQI", attr, 0, cgroup_fd, attach_type, 0, 0, ctypes.addressof(ids), 64)
    _call(PROG_QUERY, attr)
    (count,) = struct.unpack_from("<I", attr, 24)
    return list(ids[: min(count, 64)])


def program_name(prog_fd: int) -> str:
    info = ctypes.create_string_buffer(256)
    attr = bytearray(16)
    struct.pack_into("<IIQ", attr, 0, prog_fd, len(info), ctypes.addressof(info))
    _call(OBJ_GET_INFO_BY_FD, attr)
    return info.raw[64 : 64 + NAME_LEN].split(b"\0", 1)[0].decode(errors="replace")


def programs_named(cgroup_fd: int, attach_type: int, name: str) -> Iterator[int]:
    """Open fds of this cgroup's programs called ``name`` (the caller closes them)."""
    for prog_id in attached(cgroup_fd, attach_type):
        attr = bytearray(16)
        struct.pack_into("<I", attr, 0, prog_id)
        try:
            fd = _call(PROG_GET_FD_BY_ID, attr)
        except OSError:  # detached meanwhile
            continue
        if program_name(fd) == name:
            yield fd
        else:
            os.close(fd)


def cgroup2_root() -> str:
    """Where the unified (v2) hierarchy is mounted, "" when it is not (pure v1 hosts)."""
    try:
        with open("/proc/self/mountinfo") as f:
            for line in f:
                pre, _, post = line.partition(" - ")
                if post.split(" ", 1)[0] == "cgroup2":
                    return pre.split(" ")[4]
    except OSError:
        pass
    return ""
