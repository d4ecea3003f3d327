"""Whatever someone writes into reads.anchors, reading it names the line that is not a signed
head; it never fails otherwise (a seq of 1e400 made 'share audit verify' exit 2, a fault)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from pilotline.share.anchor import AnchorError, anchors_file, read_anchors

_json = st.recursive(
    st.none() | st.booleans() | st.floats() | st.integers() | st.text(max_size=5),
    lambda inner: (
        st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=4), inner, max_size=3)
    ),
    max_leaves=6,
)
_field = _json | st.sampled_from([1e400, -1e400, float("nan"), "1e400", "72"])


@settings(max_examples=150, deadline=None)
@given(fields=st.fixed_dictionaries({k: _field for k in ("seq", "hash", "at", "key", "sig")}))
def test_any_line_is_a_signed_head_or_named(tmp_path_factory: pytest.TempPathFactory,
                                            fields: dict[str, object]) -> None:  # fmt: skip
    home = tmp_path_factory.mktemp("anchors")
    path = anchors_file(home)
    path.parent.mkdir(parents=True)
    path.write_text(json.dumps(fields).replace("Infinity", "1e400") + "\n")
    try:
        (one,) = read_anchors(home)
    except AnchorError as exc:
        assert exc.line == 1
    else:
        assert isinstance(one.seq, int)


def test_a_huge_seq_is_named(tmp_path: Path) -> None:
    path = anchors_file(tmp_path)
    path.parent.mkdir(parents=True)
    path.write_text('{"seq": 1e400, "hash": "x", "at": "x", "key": "x", "sig": "x"}\n')
    with pytest.raises(AnchorError):
        read_anchors(tmp_path)
