"""A grant whose objects are a ROUTE such as "/submodels/*" opened every submodel to a partner
by its address while `share grant` said it gave nothing and the preview showed nothing (both
look at the list). Such a rule is refused; ROUTE "*" (every address alike) is taken."""

from __future__ import annotations

from pathlib import Path

import pytest

from pilotline.errors import InputError
from pilotline.share.partners import Partners
from pilotline.store import EmbeddedStore
from tests.conftest import WORKED_EXAMPLE_PLANT


def _rule(route: str) -> dict[str, object]:
    return {"ACL": {"ATTRIBUTES": [{"CLAIM": "partner"}], "RIGHTS": ["READ"], "ACCESS": "ALLOW"},
            "OBJECTS": [{"ROUTE": route}], "FORMULA": {"$boolean": True}}  # fmt: skip


def test_a_route_rule_is_refused_unless_it_is_every_route(tmp_path: Path) -> None:
    (tmp_path / "plant.toml").write_text(WORKED_EXAMPLE_PLANT)
    partners = Partners(EmbeddedStore(tmp_path), tmp_path)
    partners.add("initech")
    for route in ("/submodels/*", "/shells/*/submodels/*", "/submodels*"):
        with pytest.raises(InputError, match=r"ROUTE .* cannot be granted here"):
            partners.add_rule("initech", _rule(route), by="test")
    assert not partners.grants("initech")
    partners.add_rule("initech", _rule("*"), by="test")
    assert len(partners.grants("initech")) == 1
