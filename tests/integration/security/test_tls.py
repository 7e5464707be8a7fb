"""The API over TCP with TLS: the docker CLI, docker-py and cove against a coved on loopback.

The test makes two certificate authorities with openssl: A signs the daemon's certificate and
a client's, B signs a second client's.  With ``--tlsverify`` only A's client gets in; a
client without a certificate, or with B's, is refused at the handshake.
"""

from __future__ import annotations

import grp
import os
import shutil
import socket
import subprocess
from collections.abc import Iterator
from dataclasses import dataclass

import pytest

from tests.daemon_fixture import Daemon, running_daemon, tool

pytestmark = pytest.mark.skipif(os.geteuid() != 0, reason="needs root")

DOCKER = shutil.which("docker")
EC = ["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes"]


def _openssl(*args: str, cwd: str) -> None:
    subprocess.run(["openssl", *args], cwd=cwd, check=True, capture_output=True, timeout=60)


def make_pki(base: str, name: str) -> str:
    """A CA, a server certificate for 127.0.0.1 and a client certificate, in ``base/name``:
    ca.pem, server-cert.pem, server-key.pem, and the client's cert.pem, key.pem."""
    d = os.path.join(base, name)
    os.makedirs(d)
    _openssl("req", "-x509", *EC, "-keyout", "ca-key.pem", "-out", "ca.pem", "-days", "2",
             "-subj", f"/CN=cove test CA {name}", cwd=d)  # fmt: skip
    for who, subject, ext in (
        ("server", "/CN=localhost", "subjectAltName = DNS:localhost,IP:127.0.0.1\n"
                                    "extendedKeyUsage = serverAuth\n"),
        ("client", "/CN=client", "extendedKeyUsage = clientAuth\n"),
    ):  # fmt: skip
        with open(os.path.join(d, f"{who}.ext"), "w") as f:
            f.write(ext)
        key, cert = ("key.pem", "cert.pem") if who == "client" else (f"{who}-key.pem",
                                                                     f"{who}-cert.pem")  # fmt: skip
        _openssl("req", "-new", *EC, "-keyout", key, "-out", f"{who}.csr", "-subj", subject,
                 cwd=d)  # fmt: skip
        _openssl("x509", "-req", "-in", f"{who}.csr", "-CA", "ca.pem", "-CAkey", "ca-key.pem",
                 "-CAcreateserial", "-out", cert, "-days", "2", "-extfile", f"{who}.ext",
                 cwd=d)  # fmt: skip
    return d


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@dataclass
class TLSDaemon:
    d: Daemon
    url: str
    a: str  # the daemon's CA (and a good client)
    b: str  # another CA's client

    def docker(
        self, *args: str, certs: str | None = None, input: str | None = None
    ) -> subprocess.CompletedProcess[str]:
        """The docker CLI on the TCP address, with ``certs``' client certificate if given."""
        assert DOCKER
        flags = ["--tlsverify", "--tlscacert", os.path.join(self.a, "ca.pem")]
        if certs:
            flags += ["--tlscert", os.path.join(certs, "cert.pem")]
            flags += ["--tlskey", os.path.join(certs, "key.pem")]
        env = {k: v for k, v in self.d.env.items() if not k.startswith("DOCKER_")}
        env["DOCKER_CONFIG"] = os.path.join(self.d.base, "docker-config")  # no ~/.docker
        return subprocess.run([DOCKER, *flags, "-H", self.url, *args], capture_output=True,
                              text=True, env=env, input=input, timeout=60)  # fmt: skip


def _socket_group() -> str:
    """A group other than root's that every Debian has, for ``-G``."""
    for name in ("daemon", "adm", "nogroup"):
        try:
            grp.getgrnam(name)
            return name
        except KeyError:
            continue
    pytest.skip("no group to give the socket")


@pytest.fixture(scope="module")
def pki(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, str]]:
    if not shutil.which("openssl"):
        pytest.skip("openssl is needed")
    base = str(tmp_path_factory.mktemp("pki"))
    yield make_pki(base, "a"), make_pki(base, "b")
    shutil.rmtree(base, ignore_errors=True)


@pytest.fixture(scope="module")
def tlsd(pki: tuple[str, str]) -> Iterator[TLSDaemon]:
    a, b = pki
    port = free_port()
    args = ["-H", f"tcp://127.0.0.1:{port}", "--tlsverify", "--tlscacert", f"{a}/ca.pem",
            "--tlscert", f"{a}/server-cert.pem", "--tlskey", f"{a}/server-key.pem",
            "-G", _socket_group()]  # fmt: skip
    with running_daemon(args=args) as d:
        yield TLSDaemon(d, f"tcp://127.0.0.1:{port}", a, b)


def test_unix_socket_group_and_mode(tlsd: TLSDaemon) -> None:
    st = os.stat(tlsd.d.socket)
    assert st.st_mode & 0o777 == 0o660
    assert (st.st_uid, st.st_gid) == (0, grp.getgrnam(_socket_group()).gr_gid)


@pytest.mark.skipif(DOCKER is None, reason="no docker CLI")
def test_docker_cli_with_client_certificate(tlsd: TLSDaemon) -> None:
    a = tlsd.a
    r = tlsd.docker("version", "--format", "{{.Server.APIVersion}}", certs=a)
    assert r.returncode == 0 and r.stdout.strip() == "1.44", r.stderr
    r = tlsd.docker("run", "--rm", "busybox", "echo", "hi", certs=a)
    assert (r.returncode, r.stdout) == (0, "hi\n"), r.stderr
    assert tlsd.docker("run", "--rm", "busybox", "sh", "-c", "exit 3", certs=a).returncode == 3
    # stdin through the hijacked stream, and its EOF (the CLI half-closes under TLS)
    r = tlsd.docker("run", "--rm", "-i", "busybox", "cat", certs=a, input="piped\n")
    assert r.stdout == "piped\n", r.stderr
    r = tlsd.docker("run", "-d", "--name", "tlsexec", "busybox", "sleep", "60", certs=a)
    assert r.returncode == 0, r.stderr
    try:
        r = tlsd.docker("exec", "tlsexec", "sh", "-c", "echo out; echo err >&2", certs=a)
        assert (r.stdout, r.stderr) == ("out\n", "err\n")
        r = tlsd.docker("exec", "-i", "tlsexec", "wc", "-c", certs=a, input="x" * 100000)
        assert r.stdout.strip() == "100000", r.stderr
        r = tlsd.docker("exec", "tlsexec", "sh", "-c", "head -c 300000 /dev/zero", certs=a)
        assert len(r.stdout) == 300000
    finally:
        tlsd.docker("rm", "-f", "tlsexec", certs=a)


@pytest.mark.skipif(DOCKER is None, reason="no docker CLI")
def test_docker_cli_refused_without_a_valid_certificate(tlsd: TLSDaemon) -> None:
    r = tlsd.docker("version")  # no client certificate
    assert r.returncode != 0 and "tls:" in r.stderr and "1.44" not in r.stdout
    r = tlsd.docker("version", certs=tlsd.b)  # signed by another CA
    assert r.returncode != 0 and "tls:" in r.stderr and "1.44" not in r.stdout
    # plain HTTP to the TLS port gets Go's answer, not a hang
    env = {**tlsd.d.env, "DOCKER_HOST": tlsd.url}
    env.pop("DOCKER_TLS_VERIFY", None)
    assert DOCKER
    r = subprocess.run([DOCKER, "version"], capture_output=True, text=True, env=env, timeout=60)
    assert r.returncode != 0 and "HTTP request to an HTTPS server" in r.stderr


@pytest.mark.skipif(DOCKER is None, reason="no docker CLI")
def test_docker_environment_variables(tlsd: TLSDaemon) -> None:
    env = {**tlsd.d.env, "DOCKER_HOST": tlsd.url, "DOCKER_TLS_VERIFY": "1",
           "DOCKER_CERT_PATH": tlsd.a}  # fmt: skip
    assert DOCKER
    r = subprocess.run([DOCKER, "ps", "-q"], capture_output=True, text=True, env=env, timeout=60)
    assert r.returncode == 0, r.stderr


def test_docker_py_tls_config(tlsd: TLSDaemon, monkeypatch: pytest.MonkeyPatch) -> None:
    docker = pytest.importorskip("docker")
    from docker.tls import TLSConfig

    # requests prefers these to the CA docker-py hands it
    monkeypatch.delenv("REQUESTS_CA_BUNDLE", raising=False)
    monkeypatch.delenv("CURL_CA_BUNDLE", raising=False)
    a, b = tlsd.a, tlsd.b

    def client(certs: str | None) -> object:
        cert = (f"{certs}/cert.pem", f"{certs}/key.pem") if certs else None
        tls = TLSConfig(client_cert=cert, ca_cert=f"{a}/ca.pem", verify=True)
        return docker.DockerClient(base_url=tlsd.url, tls=tls, version="1.44")

    c = client(a)
    try:
        assert c.version()["ApiVersion"] == "1.44"  # type: ignore[attr-defined]
        out = c.containers.run("busybox", "echo hi", remove=True)  # type: ignore[attr-defined]
        assert out == b"hi\n"
        ct = c.containers.run("busybox", "sleep 60", detach=True)  # type: ignore[attr-defined]
        try:
            res = ct.exec_run("sh -c 'echo out; echo err >&2'", demux=True)
            assert res.exit_code == 0 and res.output == (b"out\n", b"err\n")
        finally:
            ct.remove(force=True)
    finally:
        c.close()  # type: ignore[attr-defined]
    import requests

    for certs in (None, b):
        with pytest.raises((docker.errors.DockerException, requests.RequestException)):
            client(certs).ping()  # type: ignore[attr-defined]


def test_cove_cli_over_tls(tlsd: TLSDaemon) -> None:
    a = tlsd.a
    env = {k: v for k, v in tlsd.d.env.items() if k not in ("COVE_HOST", "DOCKER_HOST")}

    def cove(*args: str, input: str | None = None) -> subprocess.CompletedProcess[str]:
        return subprocess.run([tool("cove"), *args], capture_output=True, text=True,
                              env=env, input=input, timeout=60)  # fmt: skip

    good = ["--tlsverify", "--tlscacert", f"{a}/ca.pem", "--tlscert", f"{a}/cert.pem",
            "--tlskey", f"{a}/key.pem", "-H", tlsd.url]  # fmt: skip
    r = cove(*good, "run", "--rm", "busybox", "echo", "hi")
    assert (r.returncode, r.stdout) == (0, "hi\n"), r.stderr
    r = cove(*good, "run", "--rm", "-i", "busybox", "cat", input="piped\n")
    assert r.stdout == "piped\n", r.stderr
    env.update(DOCKER_HOST=tlsd.url, DOCKER_TLS_VERIFY="1", DOCKER_CERT_PATH=a)
    assert cove("ps").returncode == 0
    env.update(DOCKER_CERT_PATH=tlsd.b)  # another CA's client (and CA)
    r = cove("--tlscacert", f"{a}/ca.pem", "ps")
    assert r.returncode == 1 and "tls" in r.stderr and "Traceback" not in r.stderr


def test_tls_without_client_certificates(pki: tuple[str, str]) -> None:
    """``--tls``: encrypted, no client certificate asked; the warning of plain TCP."""
    a, _ = pki
    port = free_port()
    args = ["-H", f"tcp://127.0.0.1:{port}", "--tls", "--tlscert", f"{a}/server-cert.pem",
            "--tlskey", f"{a}/server-key.pem"]  # fmt: skip
    with running_daemon(busybox=False, args=args) as d:
        certless = os.path.join(d.base, "certless")
        os.makedirs(certless)
        shutil.copy(os.path.join(a, "ca.pem"), certless)  # the CA only: no client cert
        env = {**d.env, "DOCKER_HOST": f"tcp://127.0.0.1:{port}", "DOCKER_TLS_VERIFY": "1",
               "DOCKER_CERT_PATH": certless}  # fmt: skip
        r = subprocess.run([tool("cove"), "version"], capture_output=True, text=True,
                           env={**env, "COVE_HOST": ""}, timeout=60)  # fmt: skip
        assert r.returncode == 0 and "1.44" in r.stdout, r.stderr
        if DOCKER:
            r = subprocess.run([DOCKER, "version", "--format", "{{.Server.APIVersion}}"],
                               capture_output=True, text=True, env=env, timeout=60)  # fmt: skip
            assert r.stdout.strip() == "1.44", r.stderr
        assert "without --tlsverify is insecure" in d.log_tail()
        # the default group "cove": root:cove when it exists, else root:root; 0660 either way
        st = os.stat(d.socket)
        try:
            gid = grp.getgrnam("cove").gr_gid
        except KeyError:
            gid = 0
        assert (st.st_mode & 0o777, st.st_uid, st.st_gid) == (0o660, 0, gid)


def test_plain_tcp_only_when_asked(tmp_path: object) -> None:
    base = str(tmp_path)
    port = free_port()
    r = subprocess.run(
        [tool("coved"), "--data-root", f"{base}/data", "--exec-root", f"{base}/run",
         "-H", f"unix://{base}/s.sock", "-H", f"tcp://127.0.0.1:{port}"],
        capture_output=True, text=True, timeout=60,
    )  # fmt: skip
    assert r.returncode == 1 and "without TLS" in r.stderr and "--tls=false" in r.stderr
    args = ["-H", f"tcp://127.0.0.1:{port}", "--tls=false"]
    with running_daemon(busybox=False, args=args) as d:
        assert "Binding to IP address without --tlsverify is insecure" in d.log_tail()
        env = {**d.env, "COVE_HOST": f"tcp://127.0.0.1:{port}"}
        r = subprocess.run([tool("cove"), "version"], capture_output=True, text=True, env=env,
                           timeout=60)  # fmt: skip
        assert r.returncode == 0 and "1.44" in r.stdout, r.stderr
