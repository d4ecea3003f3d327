"""AASX files and partners' submodels: what a partner receives as a package, and what partners
give us — an AASX file, or a submodel pulled from their AAS API — kept in ``<home>/share/imported``
and added to the firm's own model (served only where granted, like everything else).

basyx writes and reads the packages; whatever it writes, it reads back equal (tested).
"""

from __future__ import annotations

import base64
import hashlib
import io
import json
import logging
import urllib.error
import urllib.request
import zipfile
from pathlib import Path
from typing import Any

from basyx.aas import model
from basyx.aas.adapter import aasx
from basyx.aas.adapter.json import AASToJsonEncoder, read_aas_json_file_into
from basyx.aas.adapter.json import json_serialization as _json_ser
from basyx.aas.adapter.xml import xml_serialization as _xml_ser

from pilotline.errors import InputError, SourceUnavailable

log = logging.getLogger(__name__)


# basyx 2.x writes an Extension's value only when it is truthy (``if obj.value:``), so an
# ``OnwardSharing`` extension whose value is false reached an AASX, or a stored import, without
# its value: the file no longer said that the partner may not pass it on. Write a false (or
# zero) value too, in both of basyx's serialisations.
_xml_extension = _xml_ser.extension_to_xml


def _dropped(value: object) -> bool:
    """A value basyx leaves out though it is one: false or zero (an empty string stays out)."""
    return value is not None and not value and not isinstance(value, str)


def _extension_to_xml(obj: model.Extension, tag: str = _xml_ser.NS_AAS + "extension") -> Any:
    out = _xml_extension(obj, tag)
    if _dropped(obj.value) and out.find(_xml_ser.NS_AAS + "value") is None:
        value = _xml_ser._value_to_xml(obj.value, obj.value_type)  # type: ignore[arg-type]
        refers = out.find(_xml_ser.NS_AAS + "refersTo")
        if refers is None:
            out.append(value)
        else:
            refers.addprevious(value)
    return out


_xml_ser.extension_to_xml = _extension_to_xml
_json_extension = _json_ser.AASToJsonEncoder._extension_to_json.__func__  # type: ignore[attr-defined]


def _extension_to_json(cls: type, obj: model.Extension) -> dict[str, object]:
    data: dict[str, object] = _json_extension(cls, obj)
    if _dropped(obj.value) and "value" not in data:
        data["value"] = model.datatypes.xsd_repr(obj.value)
    return data


_json_ser.AASToJsonEncoder._extension_to_json = classmethod(_extension_to_json)  # type: ignore[assignment,method-assign]
MAX_AASX_BYTES = 50 * 1024 * 1024
MAX_JSON_BYTES = 20 * 1024 * 1024
#: The parts of an AASX, unpacked, at most (a small zip can unpack to gigabytes).
MAX_UNPACKED_BYTES = 200 * 1024 * 1024


def from_json(shells: list[dict[str, Any]], submodels: list[dict[str, Any]]
              ) -> model.DictIdentifiableStore[model.Identifiable]:  # fmt: skip
    """basyx objects from API JSON (strict: anything basyx cannot read is an error)."""
    out: model.DictIdentifiableStore[model.Identifiable] = model.DictIdentifiableStore()
    doc = json.dumps({"assetAdministrationShells": shells, "submodels": submodels})
    try:
        read_aas_json_file_into(out, io.StringIO(doc), failsafe=False)
    except (KeyError, TypeError, ValueError, AttributeError) as exc:
        raise InputError(f"not a valid AAS model: {exc}") from None
    return out


def write_aasx(path: Path, objects: model.DictIdentifiableStore[model.Identifiable]) -> int:
    """Write the shells (and the submodels they refer to) as an AASX package; returns the number
    of shells. Submodels without a shell are written too."""
    shells = [o.id for o in objects if isinstance(o, model.AssetAdministrationShell)]
    files = aasx.DictSupplementaryFileContainer()  # type: ignore[no-untyped-call]
    with aasx.AASXWriter(str(path), failsafe=False) as writer:
        writer.write_aas(shells, objects, files)
        referred = {
            next(iter(r.key)).value
            for o in objects
            if isinstance(o, model.AssetAdministrationShell)
            for r in o.submodel
        }
        loose = [o for o in objects if isinstance(o, model.Submodel) and o.id not in referred]
        if loose:
            writer.write_all_aas_objects(
                "/aasx/data/loose.json", as_store(loose), files, write_json=True
            )
    return len(shells)


def as_store(objs: list[Any]) -> model.DictIdentifiableStore[model.Identifiable]:
    out: model.DictIdentifiableStore[model.Identifiable] = model.DictIdentifiableStore()
    for o in objs:
        out.add(o)
    return out


def read_aasx(path: Path) -> model.DictIdentifiableStore[model.Identifiable]:
    """Read an AASX package strictly: a file that is not one, or holds an invalid model, is
    refused with what is wrong."""
    if not path.exists():
        raise InputError(f"{path}: no such file")
    size = path.stat().st_size
    if size > MAX_AASX_BYTES:
        raise InputError(f"{path}: {size:,} bytes; an AASX of at most {MAX_AASX_BYTES:,} is read")
    if not zipfile.is_zipfile(path):
        raise InputError(f"{path}: not an AASX package (an AASX is a zip file; this is not one)")
    try:  # the sizes the zip declares bound what reading its parts can unpack
        with zipfile.ZipFile(path) as z:
            unpacked = sum(i.file_size for i in z.infolist())
    except (zipfile.BadZipFile, OSError, ValueError) as exc:
        raise InputError(f"{path}: not a valid AASX package: {exc}") from None
    if unpacked > MAX_UNPACKED_BYTES:
        raise InputError(f"{path}: unpacks to {unpacked:,} bytes; an AASX of at most "
                         f"{MAX_UNPACKED_BYTES:,} unpacked is read")  # fmt: skip
    out: model.DictIdentifiableStore[model.Identifiable] = model.DictIdentifiableStore()
    files = aasx.DictSupplementaryFileContainer()  # type: ignore[no-untyped-call]
    try:
        with aasx.AASXReader(str(path), failsafe=False) as reader:
            reader.read_into(out, files)
    except (KeyError, TypeError, ValueError, AttributeError, zipfile.BadZipFile, OSError) as exc:
        raise InputError(f"{path}: not a valid AASX package: {exc}") from None
    except Exception as exc:  # basyx and its parsers raise their own kinds
        raise InputError(f"{path}: not a valid AASX package: {type(exc).__name__}: {exc}") from None
    if not any(isinstance(o, model.Submodel | model.AssetAdministrationShell) for o in out):
        raise InputError(f"{path}: the package holds no shell and no submodel")
    return out


def to_json(objects: model.DictIdentifiableStore[model.Identifiable]) -> dict[str, Any]:
    enc = AASToJsonEncoder
    return {
        "assetAdministrationShells": [
            json.loads(json.dumps(o, cls=enc)) for o in objects
            if isinstance(o, model.AssetAdministrationShell)
        ],
        "submodels": [
            json.loads(json.dumps(o, cls=enc)) for o in objects if isinstance(o, model.Submodel)
        ],
    }  # fmt: skip


def imported_dir(home: Path) -> Path:
    return home / "share" / "imported"


def keep(home: Path, objects: model.DictIdentifiableStore[model.Identifiable], source: str,
         *, own: str | None = None) -> Path:  # fmt: skip
    """Keep imported objects (as AAS JSON) for the firm's model; returns the file written.
    With ``own`` (the firm's identifier base, ``urn:pilotline:<site>``), objects named as the
    firm's own are refused: they would be shadowed by ours, or pass for ours in grants."""
    if own is not None:
        ours = sorted(o.id for o in objects if o.id == own or o.id.startswith(own + ":"))
        if ours:
            shown = ", ".join(ours[:3]) + (f" and {len(ours) - 3} more" if len(ours) > 3 else "")
            raise InputError(f"{source}: {len(ours)} object(s) are named as this firm's own "
                             f"({shown}); nothing imported")  # fmt: skip
    doc = to_json(objects)
    doc["source"] = source
    text = json.dumps(doc, ensure_ascii=False, indent=1)
    folder = imported_dir(home)
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"{hashlib.sha256(text.encode()).hexdigest()[:16]}.json"
    tmp = path.with_suffix(".tmp")
    tmp.write_text(text, encoding="utf-8")
    tmp.replace(path)
    return path


def imported(home: Path) -> model.DictIdentifiableStore[model.Identifiable]:
    """Everything imported so far (a later import of the same id wins)."""
    by_id: dict[str, model.Identifiable] = {}
    folder = imported_dir(home)
    if folder.exists():
        for path in sorted(folder.glob("*.json"), key=lambda p: p.stat().st_mtime):
            doc = json.loads(path.read_text(encoding="utf-8"))
            for o in from_json(doc.get("assetAdministrationShells", []), doc.get("submodels", [])):
                by_id[o.id] = o
    return as_store(list(by_id.values()))


def pull(url: str, *, key: str, submodel_id: str, timeout_s: float = 30.0) -> model.Submodel:
    """Fetch one submodel from another party's AAS API (``url`` is its base, such as
    ``https://partner.example/aas``) with an API key or access token."""
    if not url.startswith(("https://", "http://")):
        raise InputError(f"{url!r} is not an http(s) address of an AAS API")
    ident = base64.urlsafe_b64encode(submodel_id.encode()).decode().rstrip("=")
    target = f"{url.rstrip('/')}/submodels/{ident}"
    request = urllib.request.Request(target, headers={"Authorization": f"Bearer {key}"})
    try:
        with urllib.request.urlopen(request, timeout=timeout_s) as r:
            content = r.read(MAX_JSON_BYTES + 1)
    except urllib.error.HTTPError as exc:
        try:
            why = "; ".join(m.get("text", "") for m in json.loads(exc.read()).get("messages", []))
        except (ValueError, AttributeError):
            why = ""
        raise InputError(f"{target} answered {exc.code}: {why or exc.reason}") from None
    except (urllib.error.URLError, OSError) as exc:
        raise SourceUnavailable(f"cannot reach {target}: {exc}") from None
    if len(content) > MAX_JSON_BYTES:
        raise InputError(f"{target}: the submodel is larger than {MAX_JSON_BYTES:,} bytes")
    try:
        body = json.loads(content)
    except ValueError:
        raise InputError(f"{target} did not answer with JSON") from None
    objects = from_json([], [body])
    subs = [o for o in objects if isinstance(o, model.Submodel)]
    if len(subs) != 1 or subs[0].id != submodel_id:
        raise InputError(f"{target} did not answer with the submodel {submodel_id!r}")
    return subs[0]
