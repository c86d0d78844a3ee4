"""A case report as STIX (`tripoint case report --format stix`) checked by the
OASIS stix2-validator, then posted into a running exchange with one command
(`tripoint intel import`) and read back by a partner with taxii2-client."""
import json
import tempfile
from pathlib import Path

from stix2validator import ValidationOptions, validate_instance
from taxii2client.v21 import Collection

from conftest import run

THIEF = "0x098b716b8aaf21512996dc57eb0615e2383e2f96"
MULE = "0x1111111111111111111111111111111111111111"
EXCHANGE = "0x4976a4a02f38326660d17bf34b431dc6e2eb2327"
LAZARUS = "intrusion-set--c93fccb1-e8e8-42cf-ae33-2ad1d183913a"
TLP_AMBER = "marking-definition--55d920b0-5e8b-4f79-9ee9-91f868d9b421"


def case_bundle(tmp: Path) -> dict:
    """A thief who pays a mule who pays an exchange; the thief is labelled Lazarus."""
    store = tmp / "store"
    csv = tmp / "t.csv"
    csv.write_text(
        "block_time,from,to,total_eth\n"
        f"2022-03-23T10:00:00Z,{EXCHANGE},{THIEF},1.5\n"
        f"2022-03-24T10:00:00Z,{THIEF},{MULE},100\n"
        f"2022-03-25T10:00:00Z,{MULE},{EXCHANGE},60\n"
    )
    run("ingest", "--store", str(store), "transfers-csv", str(csv),
        "--map", "from=from,to=to,amount=total_eth,time=block_time")
    labels = tmp / "labels.csv"
    labels.write_text(
        "address,label,category,source\n"
        f"{EXCHANGE},Binance 20,exchange,test\n"
        f"{THIEF},Lazarus Group (test),dprk-attributed,test\n"
    )
    run("labels", "import", "--store", str(store), str(labels))
    case = json.loads(run("case", "new", "--store", str(store), "--name", "interop drill",
                          "--seed", THIEF, "--from", "2022-03-24", "--tlp", "amber", "--json"))
    return json.loads(run("case", "report", "--store", str(store), case["id"], "--format", "stix"))


def test_case_report_bundle_passes_stix2_validator():
    with tempfile.TemporaryDirectory() as tmp:
        bundle = case_bundle(Path(tmp))
    result = validate_instance(bundle, ValidationOptions(version="2.1"))
    errors = [str(e) for e in result.errors]
    assert result.is_valid, errors
    objects = bundle["objects"]
    types = {o["type"] for o in objects}
    assert {"report", "cryptocurrency-wallet", "indicator", "relationship"} <= types
    assert "marking-definition" not in types  # fixed by the standard; the exchange stores no copy
    # Every object the partners' exchange would re-share carries the case's TLP.
    for o in objects:
        if o["type"] in ("report", "indicator", "relationship", "cryptocurrency-wallet"):
            assert o["object_marking_refs"] == [TLP_AMBER], o
    assert any(o["type"] == "relationship" and o["relationship_type"] == "indicates"
               and o["target_ref"] == LAZARUS for o in objects)
    patterns = [o["pattern"] for o in objects if o["type"] == "indicator"]
    assert any(MULE in p for p in patterns) and any(THIEF in p for p in patterns)
    assert not any(EXCHANGE in p for p in patterns)  # the exchange received funds; it is no indicator


def test_case_report_is_posted_into_the_exchange_with_one_command(server):
    with tempfile.TemporaryDirectory() as tmp:
        bundle = case_bundle(Path(tmp))
        path = Path(tmp) / "case.json"
        path.write_text(json.dumps(bundle))
        out = run("intel", "import", "--config", str(server.config), "--collection", "indicators",
                  "--partner", "us", str(path))
    assert ", 0 failed" in out, out
    report = next(o for o in bundle["objects"] if o["type"] == "report")
    user, password = server.creds("us")
    col = Collection(server.collection_url("indicators"), user=user, password=password)
    served = col.get_object(report["id"])["objects"]
    assert [o["id"] for o in served] == [report["id"]]
    assert served[0]["object_marking_refs"] == [TLP_AMBER]
