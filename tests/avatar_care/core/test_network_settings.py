"""The network settings: read from the environment, and a malformed one stops start-up naming it."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
from pydantic import ValidationError

from avatar_care.core.config import Settings, describe_errors


def settings_from(env: dict[str, str], tmp_path: Path) -> Settings:
    """Settings as the server reads them, from these environment variables only."""
    saved = dict(os.environ)
    os.environ.clear()
    os.environ.update(env | {"AVATAR_CARE_DATA_DIR": str(tmp_path)})
    try:
        return Settings(_env_file=None)  # type: ignore[call-arg]
    finally:
        os.environ.clear()
        os.environ.update(saved)


def test_the_ice_settings_come_from_the_environment(tmp_path: Path) -> None:
    s = settings_from(
        {
            "AVATAR_CARE_ICE_SERVERS": "stun:turn.example.com:3478, turn:turn.example.com:3478?transport=tcp,"
            "turns:turn.example.com:5349",
            "AVATAR_CARE_TURN_SECRET": "north-wind",
            "AVATAR_CARE_ICE_TRANSPORT_POLICY": "relay",
            "AVATAR_CARE_PUBLIC_IP": "203.0.113.7",
            "AVATAR_CARE_PUBLIC_URL": "https://care.example.com/",
            "AVATAR_CARE_TRUSTED_PROXIES": "127.0.0.1, 198.51.100.0/24",
        },
        tmp_path,
    )
    assert s.ice_servers == [
        "stun:turn.example.com:3478",
        "turn:turn.example.com:3478?transport=tcp",
        "turns:turn.example.com:5349",
    ]
    assert s.turn_secret is not None and s.turn_secret.get_secret_value() == "north-wind"
    assert "north-wind" not in repr(s)  # the secret stays out of logs
    assert (s.ice_transport_policy, s.public_ip) == ("relay", "203.0.113.7")
    assert s.public_url == "https://care.example.com"
    assert s.trusted_proxies == ["127.0.0.1", "198.51.100.0/24"]
    assert s.origin("0.0.0.0", 8000) == "https://care.example.com"


def test_no_settings_is_the_embedded_default(tmp_path: Path) -> None:
    s = settings_from({}, tmp_path)
    assert (s.ice_servers, s.turn_secret, s.ice_transport_policy, s.public_ip) == ([], None, "all", None)
    assert (s.tls, s.public_url, s.trusted_proxies) == (False, "", [])
    assert s.origin("0.0.0.0", 8000) == "http://127.0.0.1:8000"


@pytest.mark.parametrize(
    ("env", "says"),
    [
        (
            {"AVATAR_CARE_ICE_SERVERS": "https://turn.example.com"},
            "AVATAR_CARE_ICE_SERVERS: 'https://turn.example.com' is not a stun:, turn: or turns: URL",
        ),
        (
            {"AVATAR_CARE_ICE_SERVERS": "stun:turn.example.com?transport=tcp"},
            "AVATAR_CARE_ICE_SERVERS: 'stun:turn.example.com?transport=tcp': a stun: URL takes no transport",
        ),
        (
            {"AVATAR_CARE_ICE_SERVERS": "turn:turn.example.com:99999"},
            "AVATAR_CARE_ICE_SERVERS: 'turn:turn.example.com:99999': the port must be 1 to 65535",
        ),
        (
            {"AVATAR_CARE_ICE_SERVERS": "turns:turn.example.com?transport=udp"},
            "transport=udp is not possible",
        ),
        (
            {"AVATAR_CARE_ICE_SERVERS": "turn:turn.example.com"},
            "AVATAR_CARE_ICE_SERVERS has TURN URLs (turn:turn.example.com) but AVATAR_CARE_TURN_SECRET is not set",
        ),
        (
            {"AVATAR_CARE_ICE_SERVERS": "turn:turn.example.com", "AVATAR_CARE_TURN_SECRET": ""},
            "AVATAR_CARE_TURN_SECRET is not set",
        ),
        (
            {"AVATAR_CARE_ICE_TRANSPORT_POLICY": "none"},
            "AVATAR_CARE_ICE_TRANSPORT_POLICY: Input should be 'all' or 'relay'",
        ),
        (
            {"AVATAR_CARE_ICE_TRANSPORT_POLICY": "relay", "AVATAR_CARE_ICE_SERVERS": "stun:turn.example.com"},
            "AVATAR_CARE_ICE_TRANSPORT_POLICY=relay needs a turn: or turns: URL",
        ),
        (
            {"AVATAR_CARE_PUBLIC_IP": "care.example.com"},
            "AVATAR_CARE_PUBLIC_IP: 'care.example.com' is not an IP address",
        ),
        (
            {"AVATAR_CARE_PUBLIC_IP": "127.0.0.1"},
            "AVATAR_CARE_PUBLIC_IP: 127.0.0.1 cannot be the server's public address",
        ),
        (
            {"AVATAR_CARE_PUBLIC_URL": "care.example.com"},
            "AVATAR_CARE_PUBLIC_URL: 'care.example.com' is not an http(s) origin",
        ),
        (
            {"AVATAR_CARE_PUBLIC_URL": "https://example.com/care"},
            "AVATAR_CARE_PUBLIC_URL: 'https://example.com/care': only an origin",
        ),
        (
            {"AVATAR_CARE_TRUSTED_PROXIES": "proxy.local"},
            "AVATAR_CARE_TRUSTED_PROXIES: 'proxy.local' is not an IP address or network",
        ),
        (
            {"AVATAR_CARE_TLS_CERT": "/nowhere/cert.pem"},
            "AVATAR_CARE_TLS_CERT and AVATAR_CARE_TLS_KEY go together",
        ),
        (
            {"AVATAR_CARE_TLS_CERT": "/nowhere/cert.pem", "AVATAR_CARE_TLS_KEY": "/nowhere/key.pem"},
            "AVATAR_CARE_TLS_CERT: /nowhere/cert.pem is not a readable file",
        ),
        (
            {"AVATAR_CARE_TURN_CREDENTIAL_TTL_S": "5"},
            "AVATAR_CARE_TURN_CREDENTIAL_TTL_S: Input should be greater than or equal to 60",
        ),
    ],
)
def test_a_malformed_setting_is_named(env: dict[str, str], says: str, tmp_path: Path) -> None:
    with pytest.raises(ValidationError) as error:
        settings_from(env, tmp_path)
    assert says in describe_errors(error.value)


@pytest.mark.parametrize("command", ["serve", "demo"])
def test_a_malformed_setting_stops_start_up(command: str, tmp_path: Path) -> None:
    env = os.environ | {
        "AVATAR_CARE_DATA_DIR": str(tmp_path),
        "AVATAR_CARE_ICE_SERVERS": "turn:turn.example.com",
    }
    done = subprocess.run(
        [sys.executable, "-m", "avatar_care.cli", command, "--port", "1"],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert done.returncode == 2, done.stderr
    assert "AVATAR_CARE_TURN_SECRET is not set" in done.stderr
    assert "Traceback" not in done.stderr and done.stdout == ""  # nothing started, nothing printed
