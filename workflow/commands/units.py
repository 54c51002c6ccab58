"""Org units: create, rename, move, aliases, heads, and the org chart imported from a file.

Each public function is one write transaction and raises :class:`workflow.spec.Refused` with rule
``invalid_input`` and a message naming the field (or, for a file, the row and column) when the
input is bad, writing nothing. Units are looked up by name or alias, compared normalised
(:func:`workflow.planwriter.normalize_name`); an alias belongs to one unit and is never another
unit's name.
"""
from __future__ import annotations

import csv
import datetime as dt
import io
import re
from pathlib import Path

from sqlalchemy import delete, insert, select, update

from .. import db, planwriter, spec, vocabulary
from ..models import Membership, OrgUnit, UnitAlias, User
from ..text import decode as decode_text

UNIT_KINDS = tuple(vocabulary.UNIT_KIND_LABELS)
# the words an org chart may use for a kind, besides the codes
_KIND_WORDS = {**{v: k for k, v in vocabulary.UNIT_KIND_LABELS.items()},
               "区": "district", "县": "district", "区县": "district", "街道": "subdistrict", "办事处": "subdistrict",
               "乡镇": "subdistrict", "社区": "community", "村": "community", "部门": "department", "单位": "department",
               "企业": "enterprise", "公司": "enterprise", "巡察组": "inspection_group", "巡视组": "inspection_group"}
_SPLIT = re.compile(r"[、,，;；/|\n]+")
# headers of an org chart: field → the words it may be written as
COLUMNS = {"name": ("name", "名称", "单位名称", "单位", "全称"), "kind": ("kind", "类型", "单位类型", "性质"),
           "parent": ("parent", "上级", "上级单位", "所属单位"), "aliases": ("aliases", "别名", "简称", "其他名称")}
MAX_ROWS = 5000
_EPOCH = dt.datetime(2000, 1, 1)  # PlanWriter's clock; unit lookups and creation write no events


def _bad(field: str, message: str) -> spec.Refused:
    return spec.Refused("invalid_input", f"{field}: {message}")


def _clean(name) -> str:
    return re.sub(r"\s+", "", str(name or ""))


def _writer(conn) -> planwriter.PlanWriter:
    """A PlanWriter for unit lookups and creation: its index of names and aliases is read once."""
    return planwriter.PlanWriter(conn, now=_EPOCH)


def _find(w: planwriter.PlanWriter, name: str | None) -> int | None:
    """The id of the unit called ``name`` or known by that alias."""
    if not name:
        return None
    return w.find_unit(name)


def _require(w: planwriter.PlanWriter, name: str | None, field: str = "unit") -> int:
    uid = _find(w, name)
    if uid is None:
        raise _bad(field, f"no such unit: {name}" if name else "must not be empty")
    return uid


def kind_code(word: str | None) -> str | None:
    """A unit kind from its code or its word (部门, 街道/办事处, 社区 …); None if it is neither."""
    w = _clean(word)
    if w in UNIT_KINDS:
        return w
    return _KIND_WORDS.get(w)


def _add_alias(w: planwriter.PlanWriter, unit_id: int, alias: str, field: str = "alias") -> bool:
    """Record ``alias`` for the unit; False when it already is one of the unit's names."""
    alias = _clean(alias)
    if not alias:
        raise _bad(field, "must not be empty")
    owner = _find(w, alias)
    if owner == unit_id:
        return False
    if owner is not None:
        other = w.conn.execute(select(OrgUnit.name).where(OrgUnit.id == owner)).scalar_one()
        raise _bad(field, f"{alias} already names another unit ({other})")
    w.conn.execute(insert(UnitAlias.__table__), {"unit_id": unit_id, "alias": alias})
    w._unit_index()[planwriter.normalize_name(alias)] = unit_id
    return True


def _check_parent(conn, unit_id: int, parent_id: int | None) -> None:
    seen = set()
    p = parent_id
    while p is not None and p not in seen:
        if p == unit_id:
            raise _bad("parent", "a unit cannot be under itself or one of its own sub-units")
        seen.add(p)
        p = conn.execute(select(OrgUnit.parent_id).where(OrgUnit.id == p)).scalar()


def create_unit(name: str, kind: str = "department", parent: str | None = None, aliases=(), engine=None) -> int:
    """A new unit, optionally under ``parent`` and with other names it goes by."""
    name = _clean(name)
    if not name:
        raise _bad("name", "must not be empty")
    if kind not in UNIT_KINDS:
        raise _bad("kind", "one of " + ", ".join(UNIT_KINDS))
    with db.write_tx(engine) as conn:
        w = _writer(conn)
        if _find(w, name) is not None:
            raise _bad("name", f"{name} already exists")
        parent_id = _require(w, parent, "parent") if parent else None
        uid = w.unit(name, kind)
        conn.execute(update(OrgUnit.__table__).where(OrgUnit.id == uid).values(parent_id=parent_id))
        for a in aliases:
            _add_alias(w, uid, a)
        return uid


def rename_unit(unit: str, new_name: str, engine=None) -> None:
    """Give a unit a new name; the old one stays as an alias, so documents using it still map."""
    new_name = _clean(new_name)
    if not new_name:
        raise _bad("name", "must not be empty")
    with db.write_tx(engine) as conn:
        w = _writer(conn)
        uid = _require(w, unit)
        old = conn.execute(select(OrgUnit.name).where(OrgUnit.id == uid)).scalar_one()
        other = _find(w, new_name)
        if other not in (None, uid):
            raise _bad("name", f"{new_name} already names another unit")
        conn.execute(delete(UnitAlias.__table__).where(UnitAlias.unit_id == uid, UnitAlias.alias == new_name))
        conn.execute(update(OrgUnit.__table__).where(OrgUnit.id == uid).values(name=new_name))
        if old != new_name:
            _add_alias(_writer(conn), uid, old)


def set_parent(unit: str, parent: str | None, engine=None) -> None:
    """Put a unit under ``parent`` (None: at the top)."""
    with db.write_tx(engine) as conn:
        w = _writer(conn)
        uid = _require(w, unit)
        parent_id = _require(w, parent, "parent") if parent else None
        _check_parent(conn, uid, parent_id)
        conn.execute(update(OrgUnit.__table__).where(OrgUnit.id == uid).values(parent_id=parent_id))


def add_alias(unit: str, alias: str, engine=None) -> None:
    """Record another name the unit goes by (简称, an old name, how one office writes it)."""
    with db.write_tx(engine) as conn:
        w = _writer(conn)
        if not _add_alias(w, _require(w, unit), alias):
            raise _bad("alias", f"{_clean(alias)} is already a name of {unit}")


def remove_alias(unit: str, alias: str, engine=None) -> None:
    """Forget one alias of a unit."""
    with db.write_tx(engine) as conn:
        uid = _require(_writer(conn), unit)
        gone = conn.execute(delete(UnitAlias.__table__).where(UnitAlias.unit_id == uid,
                                                              UnitAlias.alias == _clean(alias)))
        if gone.rowcount == 0:
            raise _bad("alias", f"{_clean(alias)} is not an alias of {unit}")


def set_unit_head(unit: str, username: str, engine=None) -> None:
    """Make ``username`` the head of ``unit`` (joining it if need be); the previous head steps down."""
    with db.write_tx(engine) as conn:
        unit_id = _require(_writer(conn), unit)
        uid = conn.execute(select(User.id).where(User.username == username, User.active.is_(True))).scalar()
        if uid is None:
            raise _bad("username", f"no such active user: {username}")
        if conn.execute(select(Membership.user_id).where(Membership.user_id == uid,
                                                         Membership.unit_id == unit_id)).first() is None:
            conn.execute(insert(Membership.__table__), {"user_id": uid, "unit_id": unit_id, "is_head": False})
        conn.execute(update(Membership.__table__).where(Membership.unit_id == unit_id, Membership.user_id != uid)
                     .values(is_head=False))
        conn.execute(update(Membership.__table__).where(Membership.unit_id == unit_id, Membership.user_id == uid)
                     .values(is_head=True))


# --- the org chart ----------------------------------------------------------------------

def write_org_chart(conn, rows: list[dict], where=None) -> dict:
    """Create or update units from rows ``{name, kind, parent, aliases}`` inside the caller's
    transaction: new units are created, known ones (by name or alias) take the row's kind and
    parent, aliases are added. ``where(i, column)`` names a row's cell in messages.
    Returns ``{"units_created", "units_updated", "aliases_added"}``."""
    where = where or (lambda i, col: f"row {i + 1}, column {col}")
    created, updated, added = [], [], 0
    ids: dict[int, int] = {}
    w = _writer(conn)
    for i, r in enumerate(rows):
        uid = _find(w, r["name"])
        if uid is None:
            uid = w.unit(r["name"], r["kind"] or "department")
            created.append(r["name"])
        else:
            if r["kind"]:
                conn.execute(update(OrgUnit.__table__).where(OrgUnit.id == uid).values(kind=r["kind"]))
            updated.append(r["name"])
        ids[i] = uid
    for i, r in enumerate(rows):
        if r.get("parent"):
            parent_id = _find(w, r["parent"])
            if parent_id is None:
                raise _bad(where(i, "parent"), f"no such unit: {r['parent']}")
            try:
                _check_parent(conn, ids[i], parent_id)
            except spec.Refused as e:
                raise _bad(where(i, "parent"), e.message.split(": ", 1)[-1]) from None
            conn.execute(update(OrgUnit.__table__).where(OrgUnit.id == ids[i]).values(parent_id=parent_id))
        for alias in r.get("aliases") or ():
            try:
                added += _add_alias(w, ids[i], alias)
            except spec.Refused as e:
                raise _bad(where(i, "aliases"), e.message.split(": ", 1)[-1]) from None
    return {"units_created": created, "units_updated": updated, "aliases_added": added}


def read_org_chart(path) -> list[dict]:
    """The rows of an org chart (.xlsx or .csv with columns name, kind, parent, aliases, in English
    or Chinese); a bad cell is a Refused naming the file, row and column."""
    path = Path(path)
    table = _xlsx_rows(path) if path.suffix.lower() in (".xlsx", ".xlsm") else _csv_rows(path)
    if not table:
        raise _bad(path.name, "empty: expected a header row with name, kind, parent, aliases")
    header = [_clean(h).lower() for h in table[0]]
    cols = {f: next((k for k, h in enumerate(header) if h in words), None) for f, words in COLUMNS.items()}
    if cols["name"] is None:
        raise _bad(f"{path.name}: row 1", "expected a column name (名称 / 单位名称)")
    rows, problems = [], []
    seen: dict[str, int] = {}
    for n, raw in enumerate(table[1:MAX_ROWS + 2], 2):
        cell = {f: (str(raw[k]).strip() if k is not None and k < len(raw) and raw[k] is not None else "")
                for f, k in cols.items()}
        if not any(cell.values()):
            continue
        name = _clean(cell["name"])
        kind = kind_code(cell["kind"]) if cell["kind"] else None
        if not name:
            problems.append(f"row {n}, column name: must not be empty")
        elif planwriter.normalize_name(name) in seen:
            problems.append(f"row {n}, column name: {name} repeats row {seen[planwriter.normalize_name(name)]}")
        if cell["kind"] and kind is None:
            problems.append(f"row {n}, column kind: unknown kind {cell['kind']!r} (one of {', '.join(UNIT_KINDS)})")
        seen[planwriter.normalize_name(name)] = n
        aliases = [a for a in (_clean(x) for x in _SPLIT.split(cell["aliases"])) if a and a != name]
        rows.append({"name": name, "kind": kind, "parent": _clean(cell["parent"]) or None, "aliases": aliases,
                     "row": n})
    if len(table) > MAX_ROWS + 1:
        problems.append(f"more than {MAX_ROWS} rows")
    if problems:
        raise _bad(path.name, "; ".join(problems[:10]) + (" …" if len(problems) > 10 else ""))
    return rows


def _csv_rows(path: Path) -> list[list]:
    try:
        content = decode_text(path.read_bytes())
    except UnicodeDecodeError:
        raise _bad(path.name, "not UTF-8 or GB18030 text") from None
    return [row for row in csv.reader(io.StringIO(content))]


def _xlsx_rows(path: Path) -> list[list]:
    from openpyxl import load_workbook

    try:
        wb = load_workbook(path, read_only=True, data_only=True)
    except Exception as e:  # openpyxl raises zipfile, KeyError, lxml errors … on what is not a workbook
        raise _bad(path.name, f"not a readable .xlsx workbook ({type(e).__name__})") from None
    try:
        return [list(r) for r in wb.worksheets[0].iter_rows(values_only=True, max_row=MAX_ROWS + 2)]
    finally:
        wb.close()


def import_org_chart(path, engine=None, dry_run: bool = False) -> dict:
    """Read an org chart file and write it, all or nothing (``dry_run``: roll it back)."""
    rows = read_org_chart(path)
    name = Path(path).name
    by_row = {i: r["row"] for i, r in enumerate(rows)}
    result: dict = {}

    class _Rollback(Exception):
        pass

    try:
        with db.write_tx(engine) as conn:
            result = write_org_chart(conn, rows, where=lambda i, col: f"{name}: row {by_row[i]}, column {col}")
            if dry_run:
                raise _Rollback
    except _Rollback:
        pass
    return {**result, "file": name, "dry_run": dry_run}

