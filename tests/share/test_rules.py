"""The IDTA-01004 access-rule evaluator against the specification's published JSON examples."""

from __future__ import annotations

import datetime as dt
import json
from typing import Any

import jsonschema_rs
import pytest

from pilotline.share.rules import RuleError, Subject, Target, decide, parse_rules
from tests.share.conftest import SHARED_SPECS

SPECS = SHARED_SPECS / "aas-security"
NAMEPLATE, TECH = "SemanticID-Nameplate", "SemanticID-TechnicalData"
TEN, SIX_PM = dt.datetime(2026, 3, 4, 10, tzinfo=dt.UTC), dt.datetime(2026, 3, 4, 18, tzinfo=dt.UTC)


def example(name: str) -> Any:
    return json.loads((SPECS / f"{name}.json").read_text())


def sm(sid: str, semantic: str, path: tuple[str, ...] = ()) -> Target:
    return Target(
        route=f"/submodels/{sid}", kind="Submodel", id=sid, path=path,
        fields={"$sm#semanticId": semantic, "$sm#id": sid},
    )  # fmt: skip


def allowed(name: str, claims: dict[str, Any], target: Target, right: str = "READ",
            now: dt.datetime = TEN) -> bool:  # fmt: skip
    return bool(decide(parse_rules(example(name)), Subject(claims, now), right, target))


EXAMPLES = sorted(
    p.stem for p in SPECS.glob("*.json") if "AllAccessPermissionRules" in json.loads(p.read_text())
)


@pytest.mark.parametrize("name", EXAMPLES)
def test_every_published_example_is_valid_and_parses(name: str) -> None:
    schema = json.loads((SPECS / "aas-queries-and-access-rules-schema.json").read_text())
    doc = example(name)
    jsonschema_rs.validator_for(
        {**schema, "$ref": "#/definitions/AllAccessPermissionRules"}
    ).validate(doc["AllAccessPermissionRules"])
    assert parse_rules(doc)


def test_company_users_read_nameplate_and_technical_data_only() -> None:
    name = "allow-read-all-users-of-company-for-submodel"
    me = {"email": "anna.b@company.com"}
    assert allowed(name, me, sm("urn:a", NAMEPLATE))
    assert allowed(name, me, sm("urn:a", TECH))
    assert not allowed(name, me, sm("urn:a", "SemanticID-Other"))
    assert not allowed(name, me, sm("urn:a", NAMEPLATE), right="UPDATE")
    assert not allowed(name, {"email": "anna@other.com"}, sm("urn:a", NAMEPLATE))
    assert not allowed(name, {}, sm("urn:a", NAMEPLATE))  # no claim: the rule does not apply
    shell = Target(route="/shells/x", kind="AssetAdministrationShell", id="urn:a")
    assert not allowed(name, me, shell)


def test_read_complete_api_lets_anyone_read_and_nothing_else() -> None:
    name = "allow-read-complete-api"
    assert allowed(name, {}, Target(route="/shells"))
    assert allowed(name, {}, sm("urn:a", "x"))
    assert not allowed(name, {}, sm("urn:a", "x"), right="UPDATE")


def test_read_list_semantic_ids() -> None:
    name = "allow-read-list-semanticids"
    assert allowed(name, {}, sm("urn:a", NAMEPLATE))
    assert allowed(name, {}, sm("urn:b", TECH))
    assert not allowed(name, {}, sm("urn:c", "SemanticID-Other"))
    assert not allowed(name, {}, Target(route="/shells"))  # no submodel: no semantic id


def test_submodel_id_pattern_company_and_office_hours() -> None:
    name = "allow-read-submodels-id-pattern"
    me = {"companyName": "company1-name"}
    assert allowed(name, me, sm("https://company1.com/sm/1", NAMEPLATE))
    assert not allowed(name, me, sm("https://company1.com/sm/1", NAMEPLATE), now=SIX_PM)
    assert not allowed(name, me, sm("https://company2.com/sm/1", NAMEPLATE))
    assert not allowed(name, me, sm("https://company1.com/sm/1", "SemanticID-Other"))
    assert not allowed(name, {"companyName": "company2-name"}, sm("https://company1.com/x", TECH))


def test_read_update_one_submodel_for_one_user() -> None:
    name = "allow-read-update-submodel"
    me, it = {"email": "user1@company1.com"}, sm("https://submodel1.company1.com", "x")
    assert allowed(name, me, it) and allowed(name, me, it, right="UPDATE")
    assert not allowed(name, me, it, right="DELETE")
    assert not allowed(name, me, sm("https://submodel2.company1.com", "x"))
    assert not allowed(name, {"email": "user2@company1.com"}, it)


def test_read_update_for_listed_users() -> None:
    name = "allow-read-update-users"
    for who in ("user1@company1.com", "user2@company2.com"):
        assert allowed(name, {"email": who}, sm("urn:a", NAMEPLATE), right="UPDATE")
    assert not allowed(name, {"email": "user3@company3.com"}, sm("urn:a", NAMEPLATE))
    assert not allowed(name, {"email": "user1@company1.com"}, sm("urn:a", "SemanticID-Other"))


def test_business_partner_number() -> None:
    assert allowed("bpn", {"BusinessPartnerNumber": "BPN1234"}, Target(route="/shells"))
    assert not allowed("bpn", {"BusinessPartnerNumber": "BPN9999"}, Target(route="/shells"))


def test_reused_acl_objects_and_formula() -> None:
    """The JSON says UTCNOW $eq 15:00 (the .bnf beside it says $gt): the JSON is evaluated."""
    name, me = "reuse-acl-object-formula", {"email": "user2@company2.com"}
    three = dt.datetime(2026, 3, 4, 15, tzinfo=dt.UTC)
    assert allowed(name, me, sm("https://s1.com", "x", ("p1",)), now=three)
    assert allowed(name, me, sm("https://s1.com", "x", ("p2",)), right="UPDATE", now=three)
    assert not allowed(name, me, sm("https://s1.com", "x", ("p3",)), now=three)
    assert not allowed(name, me, sm("https://s1.com", "x", ("p1",)), now=TEN)
    assert not allowed(name, {"email": "x@y.com"}, sm("https://s1.com", "x", ("p1",)), now=three)


def test_match_needs_one_and_the_same_item() -> None:
    name, me = "filter", {"BusinessPartnerNumber": "BPNL00000000000A"}

    def desc(items: list[tuple[str, str, str]]) -> Target:
        return Target(route="/shell-descriptors", kind="aasDesc", id="urn:d", fields={
            "$aasdesc#specificAssetIds[].name": [i[0] for i in items],
            "$aasdesc#specificAssetIds[].value": [i[1] for i in items],
            "$aasdesc#specificAssetIds[].externalSubjectId": [i[2] for i in items],
        })  # fmt: skip

    good = [("manufacturerPartId", "99991", "PUBLIC_READABLE"), ("customerPartId", "ACME001", "")]
    assert allowed(name, me, desc(good))
    mixed = [("manufacturerPartId", "1", "PUBLIC_READABLE"), ("customerPartId", "99991", "")]
    assert not allowed(name, me, desc(mixed))
    assert not allowed(name, {"BusinessPartnerNumber": "other"}, desc(good))


@pytest.mark.parametrize(
    ("mangle", "place"),
    [
        (lambda d: d["rules"][0]["ACL"].update(RIGHTS=["READ", "PEEK"]), "rules[0].ACL.RIGHTS[1]"),
        (lambda d: d["rules"][0].update(FORMULA={"$and": [{"$boolean": True}]}),
         "rules[0].FORMULA.$and"),
        (lambda d: d["rules"][0]["FORMULA"]["$and"][1].update(
            {"$regex": [{"$attribute": {"CLAIM": "email"}}, {"$strVal": "(["}]}),
         "rules[0].FORMULA.$and[1].$regex[1]"),
        (lambda d: d["rules"][0].pop("OBJECTS"), "rules[0]: expected exactly one of OBJECTS"),
        (lambda d: d["rules"][0]["OBJECTS"].append({"THING": "x"}), "rules[0].OBJECTS[1]"),
    ],
)  # fmt: skip
def test_a_malformed_rule_is_refused_with_its_place(mangle: Any, place: str) -> None:
    doc = example("allow-read-all-users-of-company-for-submodel")
    mangle(doc["AllAccessPermissionRules"])
    with pytest.raises(RuleError, match=place.replace("[", r"\[").replace("$", r"\$")):
        parse_rules(doc)


BPN = "BPNL00000000000A"


@pytest.mark.parametrize(
    ("name", "value", "subject_id", "kept"),
    [
        ("manufacturerPartId", "99991", "PUBLIC_READABLE", True),  # the first $match
        ("manufacturerPartId", "12345", "someone", False),
        ("customerPartId", "ACME001", "", True),  # the second $match
        ("customerPartId", "OTHER", "", False),
        ("partInstanceId", "anything", "", True),
        ("serialNo", "1", BPN, True),  # meant for the reader (its claim)
        ("serialNo", "1", "BPNL000000000OTHER", False),
        ("digitalTwinType", "PartType", "PUBLIC_READABLE", True),
    ],
)  # fmt: skip
def test_the_published_filter_keeps_the_documented_asset_ids(name: str, value: str,
                                                             subject_id: str, kept: bool) -> None:  # fmt: skip
    """filter.json: of a descriptor's specificAssetIds, the reader sees the two part ids it
    matched on, instance ids, and the ids meant for it or for everyone."""
    from pilotline.share.rules import keeps

    (rule,) = parse_rules(example("filter"))
    item = Target(route="/shell-descriptors", kind="AssetAdministrationShellDescriptor", fields={
        "$aasdesc#specificAssetIds[].name": name, "$aasdesc#specificAssetIds[].value": value,
        "$aasdesc#specificAssetIds[].externalSubjectId": subject_id,
    })  # fmt: skip
    assert keeps(rule, Subject({"BusinessPartnerNumber": BPN}, TEN), item) is kept


@pytest.mark.parametrize(
    ("fragment", "objects", "place"),
    [
        ("$aasdesc#specificAssetIds[]", [{"IDENTIFIABLE": "(Submodel)*"}], "cannot be applied"),
        ("$sm#idShort", [{"IDENTIFIABLE": "(Submodel)*"}], "cannot be applied"),
        ("$sme.A..B", [{"IDENTIFIABLE": "(Submodel)*"}], "cannot be applied"),
        ("$sme", [{"DESCRIPTOR": "(aasdesc)*"}], "cannot be applied"),
        ("", [{"IDENTIFIABLE": "(Submodel)*"}], "expected a fragment"),
    ],
)  # fmt: skip
def test_a_filter_that_cannot_be_applied_is_refused_with_its_place(
    fragment: str, objects: list[dict[str, str]], place: str
) -> None:
    rule = {"ACL": {"ATTRIBUTES": [{"CLAIM": "partner"}], "RIGHTS": ["READ"], "ACCESS": "ALLOW"},
            "OBJECTS": objects, "FORMULA": {"$boolean": True},
            "FILTER": {"FRAGMENT": fragment, "CONDITION": {"$boolean": True}}}  # fmt: skip
    with pytest.raises(RuleError, match=r"rules\[0\]\.FILTER\.FRAGMENT: .*" + place):
        parse_rules({"AllAccessPermissionRules": {"rules": [rule]}})
    rule["FILTER"] = {"FRAGMENT": "$sme"}
    with pytest.raises(RuleError, match=r"rules\[0\]\.FILTER: expected exactly one of CONDITION"):
        parse_rules({"AllAccessPermissionRules": {"rules": [rule]}})
