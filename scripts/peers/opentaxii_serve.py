#!/usr/bin/env python3
"""Peer for `tripoint bench intel`: OpenTAXII 0.9.3 (EclecticIQ's TAXII 2.1
server over SQL) loaded with the benchmark's collections, then served by
gunicorn as OpenTAXII documents for production.

Usage: opentaxii_serve.py --work DIR --port P --password PW --workers N
           --collection UUID:ALIAS:FILE.json [--collection ...]

Writes DIR/opentaxii.yml (TAXII 2.1 only, SQLite under DIR), creates the API
root and the collections with the given UUIDs, account `us` (admin, so it
reads and writes every collection) with password PW, and stores each FILE's
objects (a JSON array) in its collection, in file order, each with its own
increasing `date_added`. Prints one JSON line {"api_root": UUID, "objects":
N, "token": JWT} and then becomes gunicorn on 127.0.0.1:P (exec, so the
caller's child is gunicorn's master: SIGTERM stops it and its workers).
"""
import argparse
import datetime
import json
import os
import secrets
import sys
import uuid

API_ROOT = uuid.UUID("6c1f3b7e-0a2d-4c9e-8f11-bbbbbbbb0000")


def stix_time(value):
    """STIX timestamp -> aware datetime (OpenTAXII's `version` column)."""
    text = value.rstrip("Z")
    if "." in text:
        head, frac = text.split(".", 1)
        text = f"{head}.{frac[:6].ljust(6, '0')}"
    else:
        text += ".000000"
    return datetime.datetime.strptime(text, "%Y-%m-%dT%H:%M:%S.%f").replace(
        tzinfo=datetime.timezone.utc
    )


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--work", required=True)
    ap.add_argument("--port", type=int, required=True)
    ap.add_argument("--password", required=True)
    ap.add_argument("--workers", type=int, default=2)
    ap.add_argument("--threads", type=int, default=4)
    ap.add_argument("--collection", action="append", default=[])
    a = ap.parse_args()

    work = os.path.abspath(a.work)
    config = os.path.join(work, "opentaxii.yml")
    with open(config, "w") as f:
        json.dump(
            {
                "domain": f"127.0.0.1:{a.port}",
                "support_basic_auth": True,
                "return_server_error_details": False,
                "auth_api": {
                    "class": "opentaxii.auth.sqldb.SQLDatabaseAPI",
                    "parameters": {
                        "db_connection": f"sqlite:///{work}/opentaxii-auth.db",
                        "create_tables": True,
                        "secret": secrets.token_hex(32),
                        "token_ttl_secs": 86400,
                    },
                },
                "taxii1": None,
                "taxii2": {
                    "title": "OpenTAXII bench",
                    "max_content_length": 104857600,
                    "public_discovery": False,
                    "allow_custom_properties": True,
                    "persistence_api": {
                        "class": "opentaxii.persistence.sqldb.Taxii2SQLDatabaseAPI",
                        "parameters": {
                            "db_connection": f"sqlite:///{work}/opentaxii-data.db",
                            "create_tables": True,
                        },
                    },
                },
                "logging": {"opentaxii": "error", "root": "error"},
            },
            f,
        )  # JSON is YAML
    os.environ["OPENTAXII_CONFIG"] = config

    from opentaxii.http import app  # reads OPENTAXII_CONFIG
    from opentaxii.persistence.sqldb import taxii2models as m

    loaded = 0
    with app.app_context():
        server = app.taxii_server
        session = server.servers.taxii2.persistence.api.db.session
        session.add(m.ApiRoot(id=API_ROOT, default=True, title="bench", is_public=False))
        for spec in a.collection:
            cid, alias, path = spec.split(":", 2)
            session.add(
                m.Collection(
                    id=uuid.UUID(cid),
                    api_root_id=API_ROOT,
                    title=alias,
                    alias=alias,
                    is_public=False,
                    is_public_write=False,
                )
            )
            session.flush()
            with open(path) as f:
                objects = json.load(f)
            # What OpenTAXII's own add_objects stores (id/type/spec_version
            # as columns, the rest as JSON), written in one transaction; the
            # version falls back to `created` where there is no `modified`
            # (marking definitions), which add_objects would refuse.
            start = datetime.datetime(2026, 1, 1, tzinfo=datetime.timezone.utc)
            rows = []
            for i, o in enumerate(objects):
                rows.append(
                    {
                        "pk": uuid.uuid4(),
                        "id": o["id"],
                        "collection_id": uuid.UUID(cid),
                        "type": o["type"],
                        "spec_version": o.get("spec_version", "2.1"),
                        "date_added": start + datetime.timedelta(microseconds=i),
                        "version": stix_time(o.get("modified") or o.get("created") or "2026-01-01T00:00:00Z"),
                        "serialized_data": {
                            k: v for k, v in o.items() if k not in ("id", "type", "spec_version")
                        },
                    }
                )
            session.execute(m.STIXObject.__table__.insert(), rows)
            loaded += len(rows)
        session.commit()
        server.auth.api.create_account("us", a.password, is_admin=True)
        token = server.auth.authenticate("us", a.password)
    print(json.dumps({"api_root": str(API_ROOT), "objects": loaded, "token": token}), flush=True)
    args = [
        sys.executable, "-m", "gunicorn", "opentaxii.http:app",
        "--bind", f"127.0.0.1:{a.port}",
        "--workers", str(a.workers),
        "--worker-class", "gthread", "--threads", str(a.threads),
        "--config", "python:opentaxii.http",
        "--log-level", "error",
    ]
    os.execv(sys.executable, args)
    return 0


if __name__ == "__main__":
    sys.exit(main())
