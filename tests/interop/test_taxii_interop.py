"""The OASIS taxii2-client and stix2-validator against a running `tripoint serve`."""
import datetime
import uuid
from pathlib import Path

import pytest
import requests
from requests.exceptions import HTTPError
from taxii2client.v21 import Collection, Server, as_pages

MEDIA = "application/taxii+json;version=2.1"
TLP_RED = "marking-definition--e828b379-4e03-4974-9ac4-e53a884c97c1"


def indicator(modified, markings=None, ident=None):
    obj = {
        "type": "indicator",
        "spec_version": "2.1",
        "id": ident or f"indicator--{uuid.uuid4()}",
        "created": "2026-01-01T00:00:00.000Z",
        "modified": modified,
        "name": "Lazarus ETH wallet",
        "pattern": "[cryptocurrency-wallet:value = '0x098b716b8aaf21512996dc57eb0615e2383e2f96']",
        "pattern_type": "stix",
        "valid_from": "2026-01-01T00:00:00Z",
    }
    if markings:
        obj["object_marking_refs"] = markings
    return obj


def collection(server, alias, partner):
    user, password = server.creds(partner)
    return Collection(server.collection_url(alias), user=user, password=password)


def test_discovery_api_root_and_collections(server):
    user, password = server.creds("kr")
    srv = Server(f"{server.base}/taxii2/", user=user, password=password)
    assert srv.title
    assert [r.url for r in srv.api_roots] == [f"{server.base}/trilateral/"]
    root = srv.default
    assert root.versions == [MEDIA]
    assert root.max_content_length > 0
    aliases = {c.alias: c for c in root.collections}
    assert {"actors", "indicators", "incidents", "us-kr", "jp-kr"} <= set(aliases)
    assert "us-jp" not in aliases  # KR is not told the US-JP collection exists
    assert aliases["us-kr"].can_read and aliases["us-kr"].can_write
    # Unauthenticated: 401 with a challenge.
    r = requests.get(f"{server.base}/taxii2/")
    assert r.status_code == 401 and "Basic" in r.headers["WWW-Authenticate"]


def test_add_objects_filters_versions_manifest_delete(server):
    col = collection(server, "incidents", "us")
    ident = f"indicator--{uuid.uuid4()}"
    versions = ["2026-03-01T00:00:00.000Z", "2026-03-02T00:00:00.000Z", "2026-03-03T00:00:00.000Z"]
    status = col.add_objects({"objects": [indicator(v, ident=ident) for v in versions]}, wait_for_completion=True)
    assert status.status == "complete"
    assert status.success_count == 3 and status.failure_count == 0

    latest = col.get_object(ident)["objects"]
    assert [o["modified"] for o in latest] == [versions[-1]]
    assert col.get_object(ident, version="first")["objects"][0]["modified"] == versions[0]
    assert len(col.get_objects(id=ident, version="all")["objects"]) == 3
    stamped = col.get_objects(id=ident, version=[versions[1], "last"])["objects"]
    assert sorted(o["modified"] for o in stamped) == versions[1:]
    assert col.get_objects(type="indicator", id=ident, spec_version="2.1")["objects"][0]["id"] == ident
    assert "objects" not in col.get_objects(type="malware", id=ident)
    assert "objects" not in col.get_objects(id=ident, spec_version="2.0")

    vers = col.object_versions(ident)["versions"]
    assert [v[:19] for v in vers] == [v[:19] for v in versions]
    manifest = col.get_manifest(id=ident, version="all")["objects"]
    assert [m["version"][:19] for m in manifest] == [v[:19] for v in versions]
    assert all(m["media_type"] == "application/stix+json;version=2.1" for m in manifest)
    # added_after: nothing newer than the last manifest entry's date_added.
    last_added = manifest[-1]["date_added"]
    assert "objects" not in col.get_objects(id=ident, added_after=last_added)
    before = datetime.datetime(2000, 1, 1, tzinfo=datetime.timezone.utc)
    assert col.get_objects(id=ident, added_after=before)["objects"]

    col.delete_object(ident)
    with pytest.raises(HTTPError) as e:
        col.get_object(ident)
    assert e.value.response.status_code == 404
    assert e.value.response.json()["http_status"] == "404"


@pytest.mark.parametrize("func", ["get_objects", "get_manifest"])
def test_as_pages_over_attack_loses_nothing(server, func):
    if not server.attack_loaded:
        pytest.skip("skipped: ../shared/data absent")
    col = collection(server, "actors", "jp")
    seen, pages = [], 0
    for envelope in as_pages(getattr(col, func), per_request=100):
        pages += 1
        seen.extend(o["id"] for o in envelope.get("objects", []))
    assert len(seen) == 2165
    assert len(set(seen)) == 2165
    assert pages == 22


def test_stix2_validator_finds_no_errors_in_served_attack_objects(server):
    if not server.attack_loaded:
        pytest.skip("skipped: ../shared/data absent")
    from stix2validator import ValidationOptions, validate_instance

    col = collection(server, "actors", "kr")
    options = ValidationOptions(version="2.1")
    checked, errors = 0, []
    for envelope in as_pages(col.get_objects, per_request=1000):
        for obj in envelope.get("objects", []):
            result = validate_instance(obj, options)
            checked += 1
            if not result.is_valid:
                errors.append((obj["id"], [str(e) for e in result.errors]))
    assert checked == 2165
    assert errors == []


def test_partner_cannot_read_anothers_tlp_red_anywhere(server):
    us = collection(server, "indicators", "us")
    ident = f"indicator--{uuid.uuid4()}"
    status = us.add_objects({"objects": [indicator("2026-04-01T00:00:00.000Z", [TLP_RED], ident)]},
                            wait_for_completion=True)
    assert status.success_count == 1
    assert us.get_object(ident)["objects"][0]["id"] == ident  # the creator sees it

    jp = collection(server, "indicators", "jp")
    for call in (lambda: jp.get_object(ident), lambda: jp.object_versions(ident)):
        with pytest.raises(HTTPError) as e:
            call()
        assert e.value.response.status_code == 404
    for func in (jp.get_objects, jp.get_manifest):
        for envelope in as_pages(func, per_request=50):
            assert ident not in str(envelope)
    assert ident not in str(jp.get_objects(id=ident))


def test_write_without_permission_is_refused(server):
    user, password = server.creds("jp")
    col = collection(server, "us-readout", "jp")
    assert col.can_read and not col.can_write
    r = requests.post(col.url + "objects/", auth=(user, password),
                      headers={"Content-Type": MEDIA, "Accept": MEDIA},
                      json={"objects": [indicator("2026-05-01T00:00:00.000Z")]})
    assert r.status_code == 403
    assert r.json()["http_status"] == "403"
    # An API key works like Basic, and the same refusal holds.
    key = server.secrets["jp"]["api_key"]
    r = requests.post(col.url + "objects/", headers={"Authorization": f"Bearer {key}", "Content-Type": MEDIA},
                      json={"objects": []})
    assert r.status_code == 403


def test_next_token_from_one_partner_gives_another_nothing(server):
    us = collection(server, "indicators", "us")
    us.add_objects({"objects": [indicator("2026-06-01T00:00:00.000Z") for _ in range(3)]}, wait_for_completion=True)
    page = us.get_objects(limit=1)
    assert page["more"] is True
    token = page["next"]
    user, password = server.creds("kr")
    r = requests.get(us.url + "objects/", params={"limit": 1, "next": token}, auth=(user, password),
                     headers={"Accept": MEDIA})
    assert r.status_code == 400
    assert "objects" not in r.json()
    # The owner can still follow it.
    assert us.get_objects(limit=1, next=token)["objects"]


# 25 real ATT&CK objects (MITRE identity and marking, Lazarus Group, every
# 101st object), committed with their licence; used when ../shared is absent.
ATTACK_SAMPLE = Path(__file__).resolve().parents[2] / "crates/stix/tests/fixtures/intel/mitre-attack-dprk-sample.stix21.json"


def test_taxii2_client_reshares_attack_as_a_partner(server):
    """Third-party intelligence (created_by_ref MITRE) posted by a partner is accepted whole."""
    import json

    if server.attack_loaded:
        objects = json.loads(server.attack.read_text())["objects"]
    else:
        print("skipped: ../shared/data absent; posting the committed 25-object ATT&CK sample")
        objects = json.loads(ATTACK_SAMPLE.read_text())["objects"]
    jp = collection(server, "incidents", "jp")
    status = jp.add_objects({"objects": objects}, wait_for_completion=True)
    assert status.status == "complete"
    assert status.failure_count == 0, status.failures[:3]
    assert status.success_count == len(objects)
    # Served with MITRE as creator, to the other partners too.
    kr = collection(server, "incidents", "kr")
    served = [o for env in as_pages(kr.get_objects, per_request=1000) for o in env.get("objects", [])]
    by_id = {o["id"]: o for o in served}
    assert all(by_id[o["id"]].get("created_by_ref") == o.get("created_by_ref") for o in objects)
    # What the exchange serves after the partner's POST is still valid STIX 2.1.
    from stix2validator import ValidationOptions, validate_instance

    options = ValidationOptions(version="2.1")
    invalid = []
    for o in objects:
        result = validate_instance(by_id[o["id"]], options)
        if not result.is_valid:
            invalid.append((o["id"], [str(e) for e in result.errors]))
    assert invalid == [], invalid[:3]
    # A second partner re-sharing the same release confirms it: no failures.
    again = kr.add_objects({"objects": objects}, wait_for_completion=True)
    assert again.failure_count == 0, again.failures[:3]
