"""Evidence in the store: no orphan from a failed command, names that match the bytes, checked reads
(issue 12, cases 5 and 14), on SQLite and PostgreSQL."""
from __future__ import annotations


import pytest
from sqlalchemy import func, select

from tests import factory
from tests.conftest import png_bytes
from workflow import commands, db, evidence as ev, spec
from workflow.errors import Conflict
from workflow.models import Event, Evidence


@pytest.fixture
def world(engine):
    return factory.build(engine, measures=2)


def files(root=None) -> list[str]:
    root = root or db.evidence_dir()
    return sorted(p.name for p in root.rglob("*") if p.is_file())


def events(engine) -> int:
    with db.read_tx(engine) as conn:
        return conn.execute(select(func.count()).select_from(Event)).scalar_one()


def test_a_refused_command_takes_back_the_files_it_brought_in(engine, world):
    mid = world["measures"][0]
    commands.fire(mid, "start", "owner1", engine=engine)
    before = events(engine)
    with pytest.raises(spec.Refused) as info:  # owner2 is not the owner: refused inside the transaction
        commands.fire_with_files(mid, "submit", "owner2", [(png_bytes(1), "a.png"), (png_bytes(2), "b.png")],
                                 comment="已完成", engine=engine)
    assert info.value.rule == "not_permitted"
    assert files() == [] and events(engine) == before


def test_a_conflicting_command_takes_back_its_files_too(engine, world):
    mid = world["measures"][0]
    commands.fire(mid, "start", "owner1", engine=engine)
    with pytest.raises(Conflict):
        commands.fire_with_files(mid, "submit", "owner1", [(png_bytes(3), "a.png")], comment="已完成",
                                 expected_version=1, engine=engine)
    assert files() == []


def test_a_file_given_twice_is_linked_once_and_every_name_not_linked_is_said(engine, world):
    mid = world["measures"][0]
    commands.fire(mid, "start", "owner1", engine=engine)
    commands.fire_with_files(mid, "progress_update", "owner1", [(png_bytes(6), "现场.png")], comment="开工",
                             engine=engine)
    r = commands.fire_with_files(mid, "progress_update", "owner1", [(png_bytes(6), "现场照片.png"),
                                                                    (png_bytes(7), "新.png"), (png_bytes(7), "新副本.png")],
                                 comment="继续推进", engine=engine)
    assert len(r.evidence) == 1 and r.repeated == ["现场照片.png", "新副本.png"]


def test_a_file_another_measure_holds_is_never_taken_back(engine, world):
    first, second = world["measures"]
    for mid in (first, second):
        commands.fire(mid, "start", "owner1", engine=engine)
    commands.fire_with_files(first, "submit", "owner1", [(png_bytes(4), "a.png")], comment="已完成", engine=engine)
    held = files()
    with pytest.raises(spec.Refused):
        commands.fire_with_files(second, "submit", "owner2", [(png_bytes(4), "a.png"), (png_bytes(5), "b.png")],
                                 comment="已完成", engine=engine)
    assert files() == held  # the shared file stays, the new one is gone


def test_a_command_linking_a_file_a_cleanup_removed_meanwhile_is_refused_and_writes_nothing(engine, world):
    mid = world["measures"][0]
    commands.fire(mid, "start", "owner1", engine=engine)
    stored = ev.store(png_bytes(6), "a.png")
    assert stored.fresh
    assert ev.discard([stored], engine) == 1  # another request's cleanup of the same bytes
    before = events(engine)
    with pytest.raises(spec.Refused) as info:
        commands.fire(mid, "submit", "owner1", comment="已完成", evidence=[stored], engine=engine)
    assert info.value.rule == "evidence_missing"
    assert events(engine) == before
    with db.read_tx(engine) as conn:
        assert conn.execute(select(func.count()).select_from(Evidence)).scalar_one() == 0


@pytest.mark.parametrize("data,name,kept,mime", [
    (b"GIF89a\x01\x00\x01\x00\x00\x00\x00;<html><script>alert(1)</script></html>", "evil.html", "evil.gif",
     "image/gif"),
    (None, "setup.exe", "setup.docx", "application/vnd.openxmlformats-officedocument.wordprocessingml.document"),
    (png_bytes(7), "现场照片.PNG", "现场照片.PNG", "image/png"),
    (png_bytes(8), "photo.jpg", "photo.png", "image/png"),
    (png_bytes(9), "no-extension", "no-extension.png", "image/png"),
])
def test_a_file_is_kept_under_a_name_whose_extension_is_its_type(sqlite_engine, data, name, kept, mime):
    stored = ev.store(data if data is not None else factory.docx_file("整改报告"), name)
    assert (stored.name, stored.mime) == (kept, mime)


def test_a_file_whose_bytes_changed_is_not_read_back(sqlite_engine):
    stored = ev.store(png_bytes(10), "a.png")
    assert ev.read_verified(stored.sha256) == png_bytes(10)
    ev.path_of(stored.sha256).write_bytes(png_bytes(11))
    with pytest.raises(ev.EvidenceUnavailable) as info:
        ev.read_verified(stored.sha256)
    assert info.value.rule == "evidence_damaged"


def test_an_evidence_store_that_cannot_be_written_is_a_clear_refusal_not_a_crash(sqlite_engine, tmp_path, monkeypatch):
    blocker = tmp_path / "not-a-folder"
    blocker.write_text("a file where the store should be")
    monkeypatch.setenv("RECTIFY_EVIDENCE_DIR", str(blocker / "evidence"))
    with pytest.raises(ev.EvidenceUnavailable) as info:
        ev.store(png_bytes(12), "a.png")
    assert info.value.rule == "evidence_store_unavailable" and "cannot be written" in info.value.message
