"""Fixtures for the TAXII interop tests: a real `tripoint serve` on a free
loopback port, with a temporary trilateral configuration, on SQLite and (when
TRIPOINT_TEST_PG_URL is set) on PostgreSQL in a fresh schema. The MITRE ATT&CK
DPRK bundle is imported into the `actors` collection when ../shared/data exists.
"""
import glob
import os
import re
import subprocess
import tempfile
import uuid
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
# ../shared/data as the Rust tests see it (crates/shared-data): the folder named
# by TRIPOINT_SHARED_DATA, else ../shared/data; absent when TRIPOINT_HIDE_SHARED=1.
SHARED = None if os.environ.get("TRIPOINT_HIDE_SHARED", "") not in ("", "0") else Path(
    os.environ.get("TRIPOINT_SHARED_DATA") or ROOT.parent / "shared/data"
)
ATTACK = (SHARED or Path("/nonexistent")) / "intel/mitre-attack-dprk/dprk-attack-v18.1.stix21.json"


def tripoint_bin():
    return os.environ.get("TRIPOINT_BIN") or str(ROOT / "target/debug/tripoint")


def run(*args):
    out = subprocess.run([tripoint_bin(), *args], capture_output=True, text=True)
    assert out.returncode == 0, f"tripoint {args} failed:\n{out.stdout}\n{out.stderr}"
    return out.stdout


def pg_fresh_schema(base):
    psql = sorted(glob.glob("/usr/lib/postgresql/*/bin/psql")) or ["psql"]
    schema = "interop_" + uuid.uuid4().hex
    subprocess.run([psql[-1], base, "-q", "-c", f"CREATE SCHEMA {schema}"], check=True)
    sep = "&" if "?" in base else "?"
    return f"{base}{sep}options=-csearch_path%3D{schema}"


class Running:
    def __init__(self, backend, base, secrets, config, proc):
        self.backend = backend
        self.base = base
        self.secrets = secrets
        self.config = config
        self.proc = proc
        self.attack = ATTACK
        self.attack_loaded = ATTACK.exists()

    def creds(self, partner):
        return self.secrets[partner]["user"], self.secrets[partner]["password"]

    def collection_url(self, alias):
        import requests

        r = requests.get(f"{self.base}/trilateral/collections/", auth=self.creds("us"))
        r.raise_for_status()
        for c in r.json()["collections"]:
            if c.get("alias") == alias:
                return f"{self.base}/trilateral/collections/{c['id']}/"
        raise KeyError(alias)


def backends():
    out = ["sqlite"]
    if os.environ.get("TRIPOINT_TEST_PG_URL"):
        out.append("postgres")
    return out


@pytest.fixture(scope="session", params=backends())
def server(request):
    tmp = tempfile.TemporaryDirectory()
    config = Path(tmp.name) / "intel.toml"
    storage = "intel.db"
    if request.param == "postgres":
        storage = pg_fresh_schema(os.environ["TRIPOINT_TEST_PG_URL"])
    text = run("intel", "init", "--config", str(config), "--storage", storage)
    secrets = {}
    for m in re.finditer(r"partner (\w+): basic (\w+):(\w+)\s+api-key (\S+)", text):
        secrets[m.group(1)] = {"user": m.group(2), "password": m.group(3), "api_key": m.group(4)}
    assert set(secrets) == {"us", "jp", "kr"}, text
    # A collection JP may read but not write.
    run("intel", "collection", "add", "--config", str(config), "--title", "US read-out",
        "--alias", "us-readout", "--read", "us,jp", "--write", "us")
    if ATTACK.exists():
        run("intel", "import", "--config", str(config), "--collection", "actors", str(ATTACK))
    proc = subprocess.Popen([tripoint_bin(), "serve", "--config", str(config), "--listen", "127.0.0.1:0"],
                            stdout=subprocess.PIPE, text=True)
    line = proc.stdout.readline().strip()
    m = re.match(r"listening on (http://[\d.:]+)/taxii2/", line)
    assert m, f"unexpected first line from tripoint serve: {line!r}"
    yield Running(request.param, m.group(1), secrets, config, proc)
    proc.terminate()
    proc.wait(timeout=10)
    tmp.cleanup()
