"""No secrets in the repository or in what it generates: cloud keys, private-key blocks, tokens,
hard-coded public addresses, paths of key files. The patterns are tested on planted examples first,
so a scan that finds nothing means something."""

from __future__ import annotations

import ipaddress
import re
import subprocess

import pytest

from conftest import ROOT

SECRET_PATTERNS = {
    "AWS access key id": re.compile(r"\b(AKIA|ASIA)[0-9A-Z]{16}\b"),
    "AWS secret access key": re.compile(r"aws_secret_access_key\s*[=:]\s*['\"]?[A-Za-z0-9/+=]{40}\b", re.I),
    "private key block": re.compile(r"-----BEGIN (RSA |EC |OPENSSH |DSA |ENCRYPTED )?PRIVATE KEY-----"),
    "GitHub token": re.compile(r"\bgh[pousr]_[A-Za-z0-9]{36}\b"),
    "Slack token": re.compile(r"\bxox[abpr]-[A-Za-z0-9-]{10,}\b"),
    "key file path": re.compile(r"(~|/home/\w+|/root|/Users/\w+)/\.(ssh|aws)/[\w.-]+|[\w/.-]+\.pem\b"),
    # user:password@ in a URI, except redacted (***) and placeholders (PASSWORD, $VAR, <password>)
    "password in a URI": re.compile(r"\b[a-z+]+://[^\s:/@'\"]+:(?!\*\*\*|[A-Z_]+@|\$|<)[^\s@/'\"]{3,}@"),
}
IPV4 = re.compile(r"(?<![\w.])(\d{1,3}\.\d{1,3}\.\d{1,3}\.\d{1,3})(?![\w.])")
# Text that names these on purpose: the scanner's own patterns, and tests that plant or reject examples.
# these plant a password to test that it is redacted (test_tune) or never shown (the tracking server's store URI)
ALLOWED_FILES = {"tests/test_secrets.py", "tests/test_tune.py", "tests/services.py", "tests/test_tracking_server.py"}


def public_addresses(text: str) -> list[str]:
    """IPv4 literals that are routable: not loopback, private, link-local, documentation or 0.0.0.0."""
    found = []
    for literal in IPV4.findall(text):
        try:
            address = ipaddress.IPv4Address(literal)
        except ValueError:
            continue  # a version number like 10.0.300.1
        if address.is_global and not literal.startswith(("192.0.2.", "198.51.100.", "203.0.113.")):
            found.append(literal)
    return found


ALLOW_MARKER = "secrets-scan: ok"  # at the end of a line that names such a thing on purpose, with why


def findings(text: str) -> list[str]:
    text = "\n".join(line for line in text.splitlines() if ALLOW_MARKER not in line)
    hits = [f"{name}: {m.group(0)[:40]}" for name, pattern in SECRET_PATTERNS.items() for m in pattern.finditer(text)]
    return hits + [f"public address: {a}" for a in public_addresses(text)]


def test_the_patterns_catch_planted_secrets_and_pass_clean_text():
    fake_key = "AKIA" + "ABCDEFGHIJKLMNOP"  # built here, so this file does not itself hold a key-shaped literal
    planted = {
        fake_key: "AWS access key id",
        "-----BEGIN RSA " + "PRIVATE KEY-----": "private key block",
        "ssh -i ~/.ssh/id_ed25519 ubuntu@host": "key file path",
        "key_path = '/root/.aws/credentials'": "key file path",
        "postgresql://mlflow:" + "hunter22@db:5432/mlflow": "password in a URI",
        "endpoint = 'http://" + "54.210.3.7:5000'": "public address",
    }
    for text, kind in planted.items():
        assert any(hit.startswith(kind) for hit in findings(text)), text
    clean = (
        "http://127.0.0.1:5000 10.0.0.5 192.168.1.2 0.0.0.0 version 3.17.2 postgresql://postgres@127.0.0.1:5432/x ***"
    )
    assert findings(clean) == []


def _repository_files() -> list[str]:
    listed = subprocess.run(
        ["git", "ls-files", "--cached", "--others", "--exclude-standard"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=True,
    ).stdout.split()
    return [f for f in listed if f not in ALLOWED_FILES and (ROOT / f).is_file()]


def test_the_repository_holds_no_secrets():
    files = _repository_files()
    assert len(files) > 50  # the scan really looked at the project
    problems = []
    for name in files:
        text = (ROOT / name).read_bytes().decode("utf-8", errors="ignore")
        problems += [f"{name}: {hit}" for hit in findings(text)]
    assert problems == []


@pytest.mark.parametrize("region", ["us-east-1", "eu-west-1"])
def test_generated_user_data_holds_no_secrets(region):
    from emotion.cloud.userdata import render

    user_data = render("emotion-launches-123456789012", "20261121-abcdef", region, 12)
    assert findings(user_data) == []
    assert "MLFLOW_TRACKING_URI" not in user_data and "password" not in user_data.lower()
