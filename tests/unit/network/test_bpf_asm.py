"""The eBPF assembler: encodings and jump offsets (the kernel's verifier judges the rest,
in tests/integration/network/test_port_mss.py)."""

from __future__ import annotations

import struct

import pytest

from cove.network.bpf import Asm
from cove.network.names import port_mss_name, table_name


def slots(code: bytes) -> list[tuple[int, int, int, int]]:
    return [struct.unpack_from("<BBhI", code, i) for i in range(0, len(code), 8)]


def test_jumps_resolve_to_labels_forward_and_over_wide_loads() -> None:
    a = Asm()
    a.jump_if("!=", 2, 3, "out")  # slot 0
    a.load_imm64(1, 0x1_0000_0002, src=1)  # slots 1-2
    a.label("out")
    a.mov_imm(0, 1)  # slot 3
    a.exit()
    s = slots(a.code())
    assert s[0] == (0x55, 0x02, 2, 3)  # JNE K, dst r2, skip two slots
    assert s[1] == (0x18, 0x11, 0, 2) and s[2] == (0, 0, 0, 1)  # low word, then high word
    assert s[3] == (0xB7, 0x00, 0, 1) and s[4] == (0x95, 0, 0, 0)


def test_negative_immediates_and_offsets_keep_their_bits() -> None:
    a = Asm()
    a.add_imm(2, -8)
    a.store32(10, -12, 4)
    s = slots(a.code())
    assert s[0] == (0x07, 0x02, 0, 0xFFFFFFF8)
    assert s[1] == (0x63, 0x4A, -12, 0)  # src r4 in the high nibble, dst r10 in the low


def test_unknown_label_is_an_error() -> None:
    a = Asm()
    a.jump_if("==", 0, 0, "nowhere")
    with pytest.raises(KeyError):
        a.code()


@pytest.mark.parametrize("root", ["/run/cove", "/tmp/cove-test-x/run", "/run/cove/"])
def test_program_names_fit_the_kernel_limit(root: str) -> None:
    assert len(port_mss_name(table_name(root))) <= 15


def test_unconditional_jump_and_zero_extended_constant() -> None:
    a = Asm()
    a.jump("end")
    a.mov32_imm(3, 0xFFFF0000)
    a.label("end")
    a.exit()
    s = slots(a.code())
    assert s[0] == (0x05, 0, 1, 0)  # JA over one slot
    assert s[1] == (0xB4, 0x03, 0, 0xFFFF0000)  # 32-bit MOV: no sign extension
