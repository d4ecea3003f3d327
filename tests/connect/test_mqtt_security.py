"""MQTT with TLS, a password and QoS 2, against a real Mosquitto; a wrong password says why."""

from __future__ import annotations

import datetime as dt
import ipaddress
import json
import subprocess
from collections.abc import Iterator
from pathlib import Path

import paho.mqtt.client as mqtt
import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID
from paho.mqtt.enums import CallbackAPIVersion

from pilotline.store import EmbeddedStore
from tests.connect.conftest import Mosquitto, start_collector


def _key() -> ec.EllipticCurvePrivateKey:
    return ec.generate_private_key(ec.SECP256R1())


def _write_key(key: ec.EllipticCurvePrivateKey, path: Path) -> None:
    path.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )


def make_pki(directory: Path) -> tuple[Path, Path, Path]:
    """A test CA and a server certificate for 127.0.0.1 signed by it: (ca, cert, key)."""
    now = dt.datetime.now(dt.UTC)
    ca_key, server_key = _key(), _key()
    ca_name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "pilotline test CA")])
    ca = (
        x509.CertificateBuilder()
        .subject_name(ca_name)
        .issuer_name(ca_name)
        .public_key(ca_key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(days=1))
        .not_valid_after(now + dt.timedelta(days=30))
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .sign(ca_key, hashes.SHA256())
    )
    server = (
        x509.CertificateBuilder()
        .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "127.0.0.1")]))
        .issuer_name(ca_name)
        .public_key(server_key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(days=1))
        .not_valid_after(now + dt.timedelta(days=30))
        .add_extension(
            x509.SubjectAlternativeName([x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]),
            critical=False,
        )
        .sign(ca_key, hashes.SHA256())
    )
    paths = directory / "ca.pem", directory / "server.pem", directory / "server.key"
    paths[0].write_bytes(ca.public_bytes(serialization.Encoding.PEM))
    paths[1].write_bytes(server.public_bytes(serialization.Encoding.PEM))
    _write_key(server_key, paths[2])
    return paths


class SecureMosquitto(Mosquitto):
    def __init__(self, workdir: Path) -> None:
        super().__init__(workdir)
        self.ca, cert, key = make_pki(workdir)
        passwords = workdir / "passwords"
        passwords.write_text("")
        subprocess.run(
            ["mosquitto_passwd", "-b", str(passwords), "collector", "s3cret"], check=True
        )
        subprocess.run(["mosquitto_passwd", "-b", str(passwords), "publisher", "pub"], check=True)
        text = self.conf.read_text().replace("allow_anonymous true\n", "allow_anonymous false\n")
        text += f"password_file {passwords}\ncafile {self.ca}\ncertfile {cert}\nkeyfile {key}\n"
        self.conf.write_text(text)


@pytest.fixture
def secure_broker(tmp_path: Path) -> Iterator[SecureMosquitto]:
    (tmp_path / "tls").mkdir()
    broker = SecureMosquitto(tmp_path / "tls")
    broker.start()
    yield broker
    broker.stop()


def config(broker: SecureMosquitto, password: str) -> str:
    return f"""
forward_every_s = 0.2

[[source]]
kind = "mqtt"
name = "secure"
port = {broker.port}
qos = 2
username = "collector"
password = "{password}"
tls = {{ ca_file = "{broker.ca}" }}

[[source.tag]]
name = "parts"
machine = "press-1"
role = "parts"
topic = "plant/press-1/parts"
path = "n"
ts_path = "ts"
"""


def test_tls_password_and_qos2(secure_broker: SecureMosquitto, home: Path) -> None:
    run = start_collector(config(secure_broker, "s3cret"), home)
    status = run.collector.statuses[0]
    run.wait_for(lambda: status.state == "online")
    pub = mqtt.Client(CallbackAPIVersion.VERSION2, client_id="secure-publisher")
    pub.username_pw_set("publisher", "pub")
    pub.tls_set(ca_certs=str(secure_broker.ca))
    pub.connect("127.0.0.1", secure_broker.port)
    pub.loop_start()
    t0 = dt.datetime(2026, 3, 2, 6, 0, tzinfo=dt.UTC)
    for i in range(50):
        body = json.dumps({"ts": (t0 + dt.timedelta(seconds=i)).isoformat(), "n": 2})
        pub.publish("plant/press-1/parts", body, qos=2).wait_for_publish(5)
    run.wait_for(lambda: status.stored >= 50)
    run.wait_for(lambda: run.collector.buffer.backlog() == 0)
    run.stop()
    pub.disconnect()
    pub.loop_stop()
    with EmbeddedStore(home).session() as s:
        assert s.scalar("SELECT sum(total) FROM counts") == 100


def test_a_wrong_password_says_so(secure_broker: SecureMosquitto, home: Path) -> None:
    run = start_collector(config(secure_broker, "wrong"), home)
    status = run.collector.statuses[0]
    run.wait_for(lambda: status.state == "offline")
    run.stop()
    assert "refused the connection" in status.detail
    assert "password" in status.detail.lower() or "authori" in status.detail.lower()
