"""Fuzzing notice import end to end, on files and a real database.

The parser's own properties are fuzzed in ``tests/unit/test_notice_fuzz.py``; here the inputs go
the way a user's do: bytes in a ``.txt`` (any encoding, or none), a ``.docx`` (real, damaged or
not a document at all) through :func:`workflow.importing.notice.read`, and whatever parses through
:func:`workflow.importing.notice.import_notice` into SQLite. Only :class:`NoticeError` may escape; a refused
import writes nothing; importing the same notice again creates nothing; the audit chains hold.
Each test is bounded to a few seconds.
"""
from __future__ import annotations

import datetime as dt
import io
import os
import tempfile
import zipfile
from pathlib import Path

import pytest
from hypothesis import HealthCheck, currently_in_test_context, event, example, given, settings, strategies as st
from sqlalchemy import func, select

from workflow import audit, db, planwriter, settings as rectify_settings
from workflow.importing import notice as N
from workflow.models import Event, Inspection, Measure, OrgUnit, Plan, Problem

SEED_TEXT = N.SEED_PATH.read_text(encoding="utf-8")
SEED_LINES = SEED_TEXT.split("\n")
NOW = dt.datetime(2026, 11, 30, 2, 0)

BOUNDED = settings(max_examples=60, deadline=None, database=None,
                   suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])


def outcome(name: str) -> None:
    """Count an outcome in Hypothesis' statistics (a no-op in the plain regression tests)."""
    if currently_in_test_context():
        event(name)


JUNK = ["", "\n", "\n\n", "— 3 —", "- 12 -", "第 4 页", "\ufeff", "\u200b", "\xa0", "\u3000", "问题 1：", "落实情况：",
        "整改进度：已完成。", "整改进度：", "（一）", "(二)", "1．", "2、", "一是", "万元", "退还", "2023 年 3 月 30 日",
        "１２３", "，", "。", "\r\n", "\r", "\t", "𠀀", "\x00", "\ud7ff"]


@st.composite
def damaged_seed(draw) -> str:
    """The seed notice with a few page-break style injuries."""
    lines = list(SEED_LINES)
    for _ in range(draw(st.integers(0, 8))):
        if not lines:
            break
        op = draw(st.sampled_from(["delete", "duplicate", "break", "junk", "swap", "fullwidth", "page"]))
        k = draw(st.integers(0, len(lines) - 1))
        t = lines[k]
        j = draw(st.integers(0, len(t)))
        if op == "delete":
            del lines[k]
        elif op == "duplicate":
            lines.insert(k, t)
        elif op == "break":
            lines[k] = t[:j] + "\n\n" + t[max(0, j - draw(st.integers(0, 6))):]
        elif op == "junk":
            lines[k] = t[:j] + draw(st.sampled_from(JUNK)) + t[j:]
        elif op == "swap":
            i = draw(st.integers(0, len(lines) - 1))
            lines[k], lines[i] = lines[i], t
        elif op == "fullwidth":
            lines[k] = t.translate(str.maketrans("0123456789", "０１２３４５６７８９"))
        else:
            lines.insert(k, draw(st.sampled_from(["— 7 —", "- 7 -", "第 7 页", "7"])))
    return "\n".join(lines)


ENCODINGS = ["utf-8", "utf-8-sig", "gb18030", "gbk", "big5", "utf-16", "latin-1", "shift_jis"]


@st.composite
def text_file(draw) -> bytes:
    """Bytes a user might call a notice: damaged seed text in some encoding, or noise."""
    kind = draw(st.sampled_from(["encoded", "bytes", "spliced"]))
    if kind == "bytes":
        return draw(st.binary(max_size=3000))
    text = draw(damaged_seed())
    data = text.encode(draw(st.sampled_from(ENCODINGS)), errors="replace")
    if kind == "spliced":
        at = draw(st.integers(0, len(data)))
        data = data[:at] + draw(st.binary(max_size=64)) + data[at + draw(st.integers(0, 64)):]
    return data


def docx_bytes(text: str) -> bytes:
    import docx

    document = docx.Document()
    for line in text.split("\n"):
        document.add_paragraph(line)
    out = io.BytesIO()
    document.save(out)
    return out.getvalue()


SEED_DOCX = docx_bytes(SEED_TEXT)


@st.composite
def docx_file(draw) -> bytes:
    """A real .docx of a damaged seed, a damaged one, a zip that is not a document, or noise."""
    kind = draw(st.sampled_from(["real", "truncated", "flipped", "other_zip", "bytes", "bad_xml"]))
    if kind == "real":
        return docx_bytes(draw(damaged_seed()))
    if kind == "truncated":
        return SEED_DOCX[:draw(st.integers(0, len(SEED_DOCX)))]
    if kind == "flipped":
        data = bytearray(SEED_DOCX)
        for _ in range(draw(st.integers(1, 8))):
            i = draw(st.integers(0, len(data) - 1))
            data[i] ^= draw(st.integers(1, 255))
        return bytes(data)
    if kind == "bytes":
        return draw(st.binary(max_size=2000))
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w") as z:
        if kind == "other_zip":
            z.writestr(draw(st.sampled_from(["a.txt", "[Content_Types].xml", "word/document.xml"])),
                       draw(st.binary(max_size=200)))
        else:  # a docx whose document part is not well-formed XML
            with zipfile.ZipFile(io.BytesIO(SEED_DOCX)) as src:
                for item in src.infolist():
                    data = src.read(item)
                    if item.filename == "word/document.xml":
                        data = data[:draw(st.integers(0, len(data)))] + draw(st.binary(max_size=20))
                    z.writestr(item, data)
    return out.getvalue()


def read_or_notice_error(data: bytes, suffix: str):
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / f"通报{suffix}"
        path.write_bytes(data)
        try:
            found = N.read(path)
            outcome("a notice")
            return found
        except N.NoticeError as e:
            outcome("NoticeError")
            assert str(e).strip() and "\n" not in e.message.strip(), repr(e.message)
            return None


@BOUNDED
@given(text_file())
@example(b"")
@example(SEED_TEXT.encode("gb18030"))
@example(b"\xff\xfe" + SEED_TEXT.encode("utf-16-le"))
def test_any_text_file_reads_as_a_notice_or_a_notice_error(data):
    read_or_notice_error(data, ".txt")


@settings(BOUNDED, max_examples=40)
@given(docx_file())
@example(b"PK\x03\x04")
@example(SEED_DOCX)
def test_any_docx_file_reads_as_a_notice_or_a_notice_error(data):
    read_or_notice_error(data, ".docx")


# --- into the database -----------------------------------------------------------------

@pytest.fixture(scope="module")
def notice_db(tmp_path_factory):
    """One SQLite database for the whole module: imports pile up, as they do in real use."""
    folder = tmp_path_factory.mktemp("fuzz-notice")
    saved = {k: os.environ.get(k) for k in ("RECTIFY_INSTANCE", "RECTIFY_DATABASE_URL")}
    os.environ["RECTIFY_INSTANCE"] = str(folder)
    os.environ["RECTIFY_DATABASE_URL"] = url = f"sqlite:///{folder / 'rectify.db'}"
    rectify_settings.reset()
    db.init_db(url)
    engine = db.get_engine(url)


    with db.write_tx(engine) as conn:
        planwriter.user(conn, "system", "系统")
        planwriter.user(conn, "office1", "整改办工作人员", ["office"], "整改办")
    yield engine
    db.reset_engines()
    for k, v in saved.items():
        if v is None:
            os.environ.pop(k, None)
        else:
            os.environ[k] = v
    rectify_settings.reset()


def counts(engine) -> dict:
    with db.read_tx(engine) as conn:
        return {m.__name__: conn.execute(select(func.count()).select_from(m)).scalar_one()
                for m in (Inspection, Plan, Problem, Measure, Event, OrgUnit)}


@settings(BOUNDED, max_examples=40)
@given(damaged_seed(), st.sampled_from([None, "assigned", "in_progress", "closed", "bogus"]),
       st.sampled_from([None, "office1", "nobody"]))
def test_a_damaged_notice_imports_once_or_is_refused_without_a_trace(notice_db, text, state, owner):
    try:
        parsed = N.parse(text)
    except N.NoticeError:
        outcome("not a notice")
        return
    units = {m.unit for p in parsed.problems for m in p.measures}
    owner_map = {u: (owner, None) for u in units} if owner else None
    before = counts(notice_db)
    try:
        N.import_notice(parsed, NOW, engine=notice_db, owner_map=owner_map, initial_state=state)
    except N.NoticeError as e:
        outcome("import refused")
        assert counts(notice_db) == before, f"a refused import wrote rows: {e}"
        return
    outcome("imported")
    after = counts(notice_db)
    again = N.import_notice(parsed, NOW, engine=notice_db, owner_map=owner_map, initial_state=state)
    assert not any(again["created"].values()), again
    assert counts(notice_db) == after
    broken = audit.verify(notice_db)
    assert broken is None, str(broken)


# --- regressions found by the fuzzers above --------------------------------------------

def docx_with_document_xml(data: bytes) -> bytes:
    """The seed .docx with its ``word/document.xml`` replaced by ``data``."""
    out = io.BytesIO()
    with zipfile.ZipFile(io.BytesIO(SEED_DOCX)) as src, zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as z:
        for item in src.infolist():
            z.writestr(item.filename, data if item.filename == "word/document.xml" else src.read(item))
    return out.getvalue()


def docx_with_corrupt_deflate_stream() -> bytes:
    """The seed .docx with one byte of ``word/document.xml``'s compressed data damaged so that
    inflating it fails (zlib.error), found by trying offsets in order: deterministic."""
    data = docx_with_document_xml(zipfile.ZipFile(io.BytesIO(SEED_DOCX)).read("word/document.xml"))
    with zipfile.ZipFile(io.BytesIO(data)) as z:
        info = z.getinfo("word/document.xml")
    start = info.header_offset + 30 + len(info.filename.encode()) + len(info.extra)
    import zlib

    for offset in range(start + 2, start + info.compress_size):
        damaged = bytearray(data)
        damaged[offset] ^= 0xFF
        try:
            zipfile.ZipFile(io.BytesIO(bytes(damaged))).read("word/document.xml")
        except zlib.error:
            return bytes(damaged)
        except Exception:
            continue
    raise AssertionError("no offset gives a zlib error")


def test_a_docx_whose_document_part_is_not_xml_is_a_notice_error():
    for broken in (b"", b"<w:document", b"\x00\x01 not xml"):
        assert read_or_notice_error(docx_with_document_xml(broken), ".docx") is None


def test_a_docx_whose_compressed_data_is_damaged_is_a_notice_error():
    assert read_or_notice_error(docx_with_corrupt_deflate_stream(), ".docx") is None
