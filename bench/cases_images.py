"""Image cases: save, load and commit of the same 100 MB image on every engine.

The image is made once per engine by importing a rootfs of busybox plus 100 files of 1 MiB
of random bytes (the same bytes everywhere: a fixed seed).  ``save`` writes it to a file,
``load`` reads that file back after the image was removed (so every layer is really
stored), ``commit`` snapshots a stopped container with one changed file.  Images a case
makes are removed before it returns (untimed).
"""

from __future__ import annotations

import io
import os
import random
import subprocess
import tarfile
import tempfile

from peers import IMAGE, ROOT, Engine

BIG = "bench-big:latest"
FILES, FILE_SIZE = 100, 1 << 20
_TAR: bytes | None = None


def big_rootfs_tar() -> bytes:
    global _TAR
    if _TAR is None:
        script = os.path.join(ROOT, "scripts", "mkbusybox.py")
        r = subprocess.run(["/usr/bin/python3", script, "-"], capture_output=True, timeout=120)
        base = r.stdout
        rnd = random.Random(4)
        out = io.BytesIO()
        with (
            tarfile.open(fileobj=io.BytesIO(base)) as src,
            tarfile.open(fileobj=out, mode="w") as dst,
        ):
            for m in src:
                dst.addfile(m, src.extractfile(m) if m.isreg() else None)
            d = tarfile.TarInfo("data")
            d.type, d.mode = tarfile.DIRTYPE, 0o755
            dst.addfile(d)
            for i in range(FILES):
                ti = tarfile.TarInfo(f"data/f{i:03d}")
                ti.size, ti.mode = FILE_SIZE, 0o644
                dst.addfile(ti, io.BytesIO(rnd.randbytes(FILE_SIZE)))
        _TAR = out.getvalue()
    return _TAR


def ensure_big(eng: Engine) -> None:
    if eng.call("image", "inspect", BIG, check=False).rc != 0:
        eng.call("import", "-", BIG, input=big_rootfs_tar(), timeout=300)


def _ms(s: float) -> float:
    return s * 1000.0


def case_save(eng: Engine, runs: int, warmup: int) -> dict[str, list[float]]:
    ensure_big(eng)
    out = []
    with tempfile.TemporaryDirectory(dir=eng.base or None) as d:
        for i in range(warmup + runs):
            path = os.path.join(d, f"s{i}.tar")
            r = eng.call("save", "-o", path, BIG, timeout=300)
            os.unlink(path)
            if i >= warmup:
                out.append(_ms(r.seconds))
    return {"save": out}


def case_load(eng: Engine, runs: int, warmup: int) -> dict[str, list[float]]:
    ensure_big(eng)
    out = []
    with tempfile.TemporaryDirectory(dir=eng.base or None) as d:
        path = os.path.join(d, "big.tar")
        eng.call("save", "-o", path, BIG, timeout=300)
        for i in range(warmup + runs):
            eng.call("rmi", BIG, timeout=120)
            r = eng.call("load", "-i", path, timeout=300)
            if i >= warmup:
                out.append(_ms(r.seconds))
    return {"load": out}


def case_commit(eng: Engine, runs: int, warmup: int) -> dict[str, list[float]]:
    name = "bench-commit-src"
    eng.call("rm", "-f", name, check=False)
    eng.call("run", "--name", name, "--network", "none", IMAGE, "sh", "-c", "echo x > /f")
    out = []
    try:
        for i in range(warmup + runs):
            r = eng.call("commit", name, f"bench-commit:{i}")
            eng.call("rmi", f"bench-commit:{i}")
            if i >= warmup:
                out.append(_ms(r.seconds))
    finally:
        eng.call("rm", "-f", name, check=False)
    return {"commit": out}


METRICS = (("save", "save 100 MB image", "ms"), ("load", "load 100 MB image", "ms"),
           ("commit", "commit (1 file)", "ms"))  # fmt: skip
CASES = {"save": case_save, "load": case_load, "commit": case_commit}
