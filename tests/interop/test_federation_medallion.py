"""Federation with a foreign TAXII 2.1 server: `tripoint intel sync` pulls from
and pushes to medallion 3.0.0 (OASIS's reference server, memory backend),
started here on a loopback port the OS picked. Markings hold on the way out:
a TLP:RED object the peer's partner is not cleared for is never pushed.
"""
import json
import os
import re
import socket
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path

import pytest
import requests

from conftest import run, tripoint_bin

MEDIA = "application/taxii+json;version=2.1"
TLP_RED = "marking-definition--e828b379-4e03-4974-9ac4-e53a884c97c1"
SAMPLE = Path(__file__).resolve().parents[2] / "crates/stix/tests/fixtures/intel/mitre-attack-dprk-sample.stix21.json"
ADDED = "2026-01-01T00:00:00.000000Z"


def indicator(name, markings=None):
    obj = {
        "type": "indicator",
        "spec_version": "2.1",
        "id": f"indicator--{uuid.uuid4()}",
        "created": "2026-01-01T00:00:00.000Z",
        "modified": "2026-01-01T00:00:00.000Z",
        "name": name,
        "pattern": "[cryptocurrency-wallet:value = '0x098b716b8aaf21512996dc57eb0615e2383e2f96']",
        "pattern_type": "stix",
        "valid_from": "2026-01-01T00:00:00Z",
    }
    if markings:
        obj["object_marking_refs"] = markings
    return obj


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Medallion:
    """medallion on a free loopback port; killed by `close` (also on failure)."""

    def __init__(self, tmp, collections):
        self.password = uuid.uuid4().hex
        self.auth = ("tripoint", self.password)
        last = None
        # The port is the OS's; another process may take it before medallion
        # binds it, so a start that does not come up is retried on a new one.
        for _ in range(3):
            port = free_port()
            self.base = f"http://127.0.0.1:{port}"
            data = {
                "/discovery": {"title": "medallion peer", "default": f"{self.base}/fed/",
                               "api_roots": [f"{self.base}/fed/"]},
                "fed": {
                    "information": {"title": "foreign CERT", "versions": [MEDIA],
                                    "max_content_length": 104857600},
                    "status": [],
                    "collections": [
                        {"id": cid, "title": cid, "can_read": True, "can_write": True,
                         "media_types": ["application/stix+json;version=2.1"], "objects": objs,
                         "manifest": [{"id": o["id"], "date_added": ADDED,
                                       "version": o.get("modified", o.get("created", ADDED)),
                                       "media_type": "application/stix+json;version=2.1"} for o in objs]}
                        for cid, objs in collections.items()
                    ],
                },
            }
            (tmp / "medallion-data.json").write_text(json.dumps(data))
            (tmp / "medallion.json").write_text(json.dumps({
                "backend": {"module_class": "MemoryBackend", "module": "medallion.backends.memory_backend",
                            "filename": str(tmp / "medallion-data.json")},
                "users": {"tripoint": self.password},
                "taxii": {"max_page_size": 100},
            }))
            self.proc = subprocess.Popen(
                [sys.executable, "-m", "medallion.scripts.run", "--host", "127.0.0.1", "--port", str(port),
                 "--log-level", "ERROR", str(tmp / "medallion.json")],
                stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
            deadline = time.monotonic() + 60
            while time.monotonic() < deadline and self.proc.poll() is None:
                try:
                    r = requests.get(f"{self.base}/taxii2/", auth=self.auth, headers={"Accept": MEDIA}, timeout=5)
                    if r.status_code == 200:
                        return
                except requests.ConnectionError as e:
                    last = e
                time.sleep(0.1)
            self.close()
            last = self.proc.stderr.read() if self.proc.stderr else last
        raise RuntimeError(f"medallion did not start: {last}")

    def objects(self, cid):
        r = requests.get(f"{self.base}/fed/collections/{cid}/objects/", auth=self.auth,
                         headers={"Accept": MEDIA}, timeout=60)
        r.raise_for_status()
        return r.json().get("objects", [])

    def close(self):
        if self.proc.poll() is None:
            self.proc.kill()
        self.proc.wait(timeout=10)


@pytest.fixture
def site():
    """A fresh tripoint configuration (no server needed: `intel sync` works on the database)."""
    tmp = tempfile.TemporaryDirectory()
    config = Path(tmp.name) / "intel.toml"
    run("intel", "init", "--config", str(config))
    # The foreign CERT is a partner here: what is pushed is what it may read.
    run("intel", "partner", "add", "--config", str(config), "--id", "cert", "--name", "Foreign CERT")
    run("intel", "collection", "grant", "--config", str(config), "actors", "cert", "--read")
    yield Path(tmp.name), config
    tmp.cleanup()


def sync(config, *extra):
    out = subprocess.run([tripoint_bin(), "intel", "sync", "--config", str(config), "--format", "json", *extra],
                         capture_output=True, text=True)
    lines = [json.loads(l) for l in out.stdout.splitlines() if l.strip()]
    return out.returncode, lines, out.stderr


def test_sync_pulls_from_and_pushes_to_medallion(site):
    tmp, config = site
    attack = json.loads(SAMPLE.read_text())["objects"]
    foreign_red = indicator("foreign RED", [TLP_RED])
    pull_id, push_id = str(uuid.uuid4()), str(uuid.uuid4())
    peer = Medallion(tmp, {pull_id: attack + [foreign_red], push_id: []})
    try:
        # Local content for the push: two open indicators and a RED one.
        mine = [indicator("open 1"), indicator("open 2")]
        red = indicator("ours, RED", [TLP_RED])
        bundle = tmp / "local.json"
        bundle.write_text(json.dumps({"type": "bundle", "id": f"bundle--{uuid.uuid4()}", "objects": mine + [red]}))
        run("intel", "import", "--config", str(config), "--collection", "actors", str(bundle))

        secret = tmp / "peer-cert.secret"
        fd = os.open(secret, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        os.write(fd, (peer.password + "\n").encode())
        os.close(fd)
        with open(config, "a") as f:
            f.write(f"""
[[federation]]
peer = "cert"
url = "{peer.base}/fed/"
username = "tripoint"
secret_file = "peer-cert.secret"
page_size = 10

[[federation.collection]]
remote = "{pull_id}"
local = "indicators"

[[federation.collection]]
remote = "{push_id}"
local = "actors"
direction = "push"
""")

        code, lines, err = sync(config)
        assert code == 0, err
        pull = next(l for l in lines if l["direction"] == "pull")
        push = next(l for l in lines if l["direction"] == "push")
        # Pull: every object medallion holds, through its `next` pages of 10.
        assert pull["objects"] == len(attack) + 1, lines
        assert pull["failed"] == 0 and pull["stored"] == pull["objects"] - pull["skipped"], lines
        assert pull["requests"] >= 3, lines
        # Push: only what partner `cert` may read here; the RED object stays.
        assert (push["objects"], push["stored"], push["failed"]) == (2, 2, 0), lines
        pushed = {o["id"] for o in peer.objects(push_id)}
        assert pushed == {o["id"] for o in mine}
        assert red["id"] not in pushed

        # Provenance names the peer; what went out is in the audit.
        audit = run("intel", "audit", "--config", str(config), "--object", attack[1]["id"], "--format", "json")
        posted = [json.loads(l) for l in audit.splitlines() if '"posted"' in l]
        assert [p["partner"] for p in posted] == ["sync:cert"], audit
        audit = run("intel", "audit", "--config", str(config), "--object", mine[0]["id"], "--format", "json")
        assert '"sync-push"' in audit and '"cert"' in audit, audit

        # A re-sync is a no-op both ways.
        code, lines, err = sync(config)
        assert code == 0, err
        assert sum(l["objects"] for l in lines) == 0, lines
        assert len(peer.objects(push_id)) == 2

        # What was pulled is served to partners as the exchange's rules say:
        # the foreign RED object is invisible to partners not cleared for it.
        proc = subprocess.Popen([tripoint_bin(), "serve", "--config", str(config), "--listen", "127.0.0.1:0"],
                                stdout=subprocess.PIPE, text=True)
        try:
            line = proc.stdout.readline().strip()
            m = re.match(r"listening on (http://[\d.:]+)/taxii2/", line)
            assert m, line
            # A reader partner, added while the server runs.
            out = run("intel", "partner", "add", "--config", str(config), "--id", "reader", "--name", "Reader")
            user, password = re.search(r"basic (\w+):(\w+)", out).groups()
            run("intel", "collection", "grant", "--config", str(config), "indicators", "reader", "--read")
            deadline = time.monotonic() + 30
            ids = None
            while time.monotonic() < deadline:
                r = requests.get(f"{m.group(1)}/trilateral/collections/indicators/objects/?limit=1000",
                                 auth=(user, password), headers={"Accept": MEDIA}, timeout=30)
                if r.status_code == 200:
                    ids = {o["id"] for o in r.json().get("objects", [])}
                    break
                time.sleep(0.2)  # the configuration reload takes up to a second
            assert ids is not None, "the new partner was not accepted within 30 s"
            assert {o["id"] for o in attack} <= ids
            assert foreign_red["id"] not in ids
        finally:
            proc.terminate()
            proc.wait(timeout=10)
    finally:
        peer.close()


def test_sync_against_a_stopped_medallion_fails_clearly(site):
    tmp, config = site
    peer = Medallion(tmp, {"9d6c3c25-8c5a-4c57-9a1e-3c9f1e0b7a11": [indicator("x")]})
    base = peer.base
    peer.close()
    secret = tmp / "peer-cert.secret"
    fd = os.open(secret, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    os.write(fd, b"whatever\n")
    os.close(fd)
    with open(config, "a") as f:
        f.write(f"""
[[federation]]
peer = "cert"
url = "{base}/fed/"
username = "tripoint"
secret_file = "peer-cert.secret"

[[federation.collection]]
remote = "9d6c3c25-8c5a-4c57-9a1e-3c9f1e0b7a11"
local = "indicators"
""")
    code, lines, err = sync(config)
    assert code != 0
    assert "peer `cert`" in err and "unreachable" in err, err
    assert all(l["stored"] == 0 for l in lines), lines
