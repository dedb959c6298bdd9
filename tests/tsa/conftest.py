"""A real RFC 3161 time-stamping authority for the tests: OpenSSL's own TSA (``openssl ts
-reply``) with a test CA made here by ``openssl``, behind a tiny HTTP endpoint (``POST /``,
``application/timestamp-query`` in, ``application/timestamp-reply`` out) on a loopback port.

The TSA can be stopped and started again on the same port (an outage), and told to misbehave
the way a faulty TSA would, still answering with OpenSSL's real tokens: answer a query for
other data, or replay an earlier answer (wrong nonce)."""

from __future__ import annotations

import subprocess
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Literal

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

from tests.support import free_port

Mode = Literal["honest", "other_data", "replay", "http_error"]

_TSA_CONFIG = """\
[ tsa ]
default_tsa = tsa_config

[ tsa_config ]
dir = {dir}
serial = $dir/serial
crypto_device = builtin
signer_cert = $dir/tsa.pem
signer_key = $dir/tsa.key
signer_digest = sha256
default_policy = 1.3.6.1.4.1.99999.1
digests = sha256, sha384, sha512
accuracy = secs:1
ordering = yes
tsa_name = yes
ess_cert_id_chain = no
ess_cert_id_alg = sha256
"""


def openssl(*args: str, cwd: Path, data: bytes | None = None) -> subprocess.CompletedProcess[bytes]:
    """Run ``openssl`` in ``cwd``; fail the test (with its stderr) if it fails."""
    run = subprocess.run(["openssl", *args], cwd=cwd, input=data, capture_output=True,
                         timeout=30, check=False)
    assert run.returncode == 0, (args, run.stderr.decode(errors="replace"))
    return run


def make_ca(folder: Path, name: str, common_name: str) -> Path:
    """A self-signed P-256 root CA ``<name>.pem`` / ``<name>.key`` in ``folder``."""
    openssl("req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes",
            "-keyout", f"{name}.key", "-out", f"{name}.pem", "-days", "3650",
            "-subj", f"/O=notary tests/CN={common_name}",
            "-addext", "basicConstraints=critical,CA:TRUE",
            "-addext", "keyUsage=critical,keyCertSign,cRLSign", cwd=folder)
    return folder / f"{name}.pem"


def make_tsa_certificate(folder: Path, ca: str) -> None:
    """``tsa.pem`` / ``tsa.key``: the TSA's signing certificate, issued by ``ca``, with the
    critical extended key usage timeStamping that RFC 3161 §2.3 requires."""
    openssl("req", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes",
            "-keyout", "tsa.key", "-out", "tsa.csr", "-subj", "/O=notary tests/CN=Test TSA",
            cwd=folder)
    (folder / "tsa-ext.cnf").write_text(
        "basicConstraints=critical,CA:FALSE\n"
        "keyUsage=critical,digitalSignature\n"
        "extendedKeyUsage=critical,timeStamping\n")
    openssl("x509", "-req", "-in", "tsa.csr", "-CA", f"{ca}.pem", "-CAkey", f"{ca}.key",
            "-CAcreateserial", "-out", "tsa.pem", "-days", "365", "-extfile", "tsa-ext.cnf",
            cwd=folder)


def issue_tsa_certificate(folder: Path, ca: str, name: str, *, seconds: float) -> None:
    """``<name>.pem`` / ``<name>.key``: a TSA certificate issued by ``ca`` (as
    :func:`make_tsa_certificate`) valid from a minute ago for only ``seconds`` more: a
    certificate that expires while a test runs."""
    ca_cert = x509.load_pem_x509_certificate((folder / f"{ca}.pem").read_bytes())
    ca_key = serialization.load_pem_private_key((folder / f"{ca}.key").read_bytes(), None)
    assert isinstance(ca_key, ec.EllipticCurvePrivateKey)
    key = ec.generate_private_key(ec.SECP256R1())
    now = datetime.now(UTC)
    cert = (x509.CertificateBuilder()
            .subject_name(x509.Name([x509.NameAttribute(NameOID.ORGANIZATION_NAME, "notary tests"),
                                     x509.NameAttribute(NameOID.COMMON_NAME, f"Test TSA {name}")]))
            .issuer_name(ca_cert.subject).public_key(key.public_key())
            .serial_number(x509.random_serial_number())
            .not_valid_before(now - timedelta(minutes=1))
            .not_valid_after(now + timedelta(seconds=seconds))
            .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
            .add_extension(x509.KeyUsage(True, False, False, False, False, False, False, False,
                                         False), critical=True)
            .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.TIME_STAMPING]),
                           critical=True)
            .sign(ca_key, hashes.SHA256()))
    (folder / f"{name}.pem").write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    (folder / f"{name}.key").write_bytes(key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption()))


@dataclass
class OpenSslTsa:
    """OpenSSL's TSA served over HTTP. ``ca`` is its root (what a relying party trusts),
    ``other_ca`` an unrelated root; ``answered`` counts the tokens it issued."""

    folder: Path
    ca: Path
    other_ca: Path
    port: int = field(default_factory=free_port)
    mode: Mode = "honest"
    answered: int = 0
    _lock: threading.Lock = field(default_factory=threading.Lock)
    _last: bytes | None = None
    _server: ThreadingHTTPServer | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/"

    def reply(self, query: bytes) -> bytes:
        """``openssl ts -reply`` for ``query`` (or, when misbehaving, for another one)."""
        with self._lock:
            if self.mode == "replay" and self._last is not None:
                return self._last
            if self.mode == "other_data":
                query = openssl("ts", "-query", "-digest", "ab" * 32, "-sha256", "-cert",
                                cwd=self.folder).stdout
            (self.folder / "query.tsq").write_bytes(query)
            openssl("ts", "-reply", "-config", "tsa.cnf", "-queryfile", "query.tsq",
                    "-out", "reply.tsr", cwd=self.folder)
            self._last = (self.folder / "reply.tsr").read_bytes()
            self.answered += 1
            return self._last

    def use_certificate(self, name: str) -> None:
        """Sign from now on with ``<name>.pem`` / ``<name>.key`` of the TSA's folder (a TSA
        that replaced its certificate)."""
        with self._lock:
            for ext in ("pem", "key"):
                source = self.folder / f"{name}.{ext}"
                (self.folder / f"tsa.{ext}").write_bytes(source.read_bytes())

    def start(self) -> None:
        tsa = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                query = self.rfile.read(int(self.headers.get("Content-Length", "0")))
                if tsa.mode == "http_error":
                    self.send_error(500, "TSA misconfigured")
                    return
                if self.headers.get("Content-Type") != "application/timestamp-query":
                    self.send_error(415)
                    return
                body = tsa.reply(query)
                self.send_response(200)
                self.send_header("Content-Type", "application/timestamp-reply")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, format: str, *args: object) -> None:
                pass

        self._server = ThreadingHTTPServer(("127.0.0.1", self.port), Handler)
        threading.Thread(target=self._server.serve_forever, daemon=True).start()

    def stop(self) -> None:
        """Down: nothing listens on the port any more (connection refused)."""
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None


def start_tsa(folder: Path) -> OpenSslTsa:
    """An OpenSSL TSA in ``folder`` with its own test CA (and an unrelated CA), running."""
    ca = make_ca(folder, "tsa-root", "Test TSA Root")
    other = make_ca(folder, "other-root", "Unrelated Root")
    make_tsa_certificate(folder, "tsa-root")
    (folder / "serial").write_text("01\n")
    (folder / "tsa.cnf").write_text(_TSA_CONFIG.format(dir=folder))
    server = OpenSslTsa(folder, ca, other)
    server.start()
    return server


@pytest.fixture(scope="module")
def tsa(tmp_path_factory: pytest.TempPathFactory) -> Iterator[OpenSslTsa]:
    """A running OpenSSL TSA with its own test CA (and an unrelated CA), for one module."""
    server = start_tsa(tmp_path_factory.mktemp("tsa"))
    yield server
    server.stop()
