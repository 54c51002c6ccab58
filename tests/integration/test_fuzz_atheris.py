"""Coverage-guided fuzzing with atheris (libFuzzer for Python), short and bounded.

Each target runs in its own process for a fixed wall time, starting from a seed corpus (the
seed notice and pieces of it). A crash is an exception other than the module's documented
error; atheris then writes the input to ``crash-*`` under the test's folder and exits non-zero,
and the test fails showing the traceback. ``RECTIFY_ATHERIS_SECONDS`` sets the time per target
(default 15). Run a target by hand::

    python -m tests.integration.test_fuzz_atheris notice -max_total_time=600 CORPUS_DIR

atheris ships wheels for Linux x86-64 only; elsewhere these tests are skipped.
"""
from __future__ import annotations

import io
import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


# --- targets (run in the fuzzing process) ---------------------------------------------

def notice_target(data: bytes) -> None:
    from workflow.importing import notice as N

    try:
        N.parse(data.decode("utf-8", errors="replace"))
    except N.NoticeError:
        pass


def _file_target(data: bytes, suffix: str, read, refused: type[Exception]) -> None:
    """Write the bytes to a file of that suffix and read it; only the importer's own refusal is expected."""
    import tempfile

    with tempfile.NamedTemporaryFile(suffix=suffix) as fh:
        fh.write(data)
        fh.flush()
        try:
            read(fh.name)
        except refused:
            pass


def notice_docx_target(data: bytes) -> None:
    from workflow.importing import notice as N

    _file_target(data, ".docx", N.read, N.NoticeError)


def excel_target(data: bytes) -> None:
    from workflow import importing

    _file_target(data, ".xlsx", importing.read_ledger, importing.LedgerImportError)


TARGETS = {"notice": notice_target, "notice_docx": notice_docx_target, "excel": excel_target}
# what each target imports under instrumentation: our module and the parser library beneath it
NOTICE_MODULES = [f"workflow.importing.notice_{m}" for m in ("text", "layout", "extract", "measures")]
MODULES = {"notice": NOTICE_MODULES, "notice_docx": [*NOTICE_MODULES, "docx"],
           "excel": ["workflow.importing", "openpyxl", "openpyxl.reader.excel"]}


def seed_corpus(target: str, folder: Path) -> None:
    """A few valid inputs to start from."""
    folder.mkdir(parents=True, exist_ok=True)
    from workflow.importing import notice as N

    text = N.SEED_PATH.read_text(encoding="utf-8")
    if target == "notice":
        (folder / "seed.txt").write_bytes(text.encode())
        lines = text.split("\n")
        for i in range(0, len(lines), 40):
            (folder / f"part{i}.txt").write_bytes("\n".join(lines[:3] + lines[i:i + 40]).encode())
    elif target == "notice_docx":
        import docx

        document = docx.Document()
        for line in text.split("\n")[:60]:
            document.add_paragraph(line)
        document.save(folder / "seed.docx")
    elif target == "excel":
        from openpyxl import Workbook

        wb = Workbook()
        ws = wb.active
        ws.title = "整改台账"
        ws.append(["某区巡察整改台账"])
        ws.merge_cells("A1:H1")
        ws.append(["序号", "方面", "问题", "整改措施", "责任单位", "责任人", "完成时限", "整改进度"])
        ws.append([1, "一、责任意识不够强方面", "学习贯彻不及时", "建立学习制度", "水利局", "张三", "2023年3月底前", "已完成"])
        ws.append([None, None, None, "开展专题学习", "水利局", "张三", "长期坚持", "正在整改"])
        ws.merge_cells("A3:A4")
        ws.merge_cells("C3:C4")
        out = io.BytesIO()
        wb.save(out)
        (folder / "ledger.xlsx").write_bytes(out.getvalue())


def fuzz_main(argv: list[str]) -> None:
    import atheris

    target = argv[1]
    with atheris.instrument_imports(include=["workflow", "docx", "openpyxl"]):
        for name in MODULES[target]:
            __import__(name)
    atheris.Setup([argv[0], *argv[2:]], TARGETS[target])
    atheris.Fuzz()


# --- the tests ------------------------------------------------------------------------

def run_atheris(target: str, tmp_path: Path) -> subprocess.CompletedProcess:
    pytest.importorskip("atheris")
    seconds = int(os.environ.get("RECTIFY_ATHERIS_SECONDS", "15"))
    corpus = tmp_path / "corpus"
    seed_corpus(target, corpus)
    cmd = [sys.executable, "-m", "tests.integration.test_fuzz_atheris", target,
           f"-max_total_time={seconds}", "-timeout=20", "-rss_limit_mb=2048", "-max_len=40000",
           f"-artifact_prefix={tmp_path}/", "-print_final_stats=1", str(corpus)]
    return subprocess.run(cmd, cwd=ROOT, capture_output=True, text=True, timeout=seconds + 120,
                          env={**os.environ, "RECTIFY_INSTANCE": str(tmp_path)})


def replay(target: str, path: Path) -> str:
    """Run one saved input through the target here; return the traceback it raises."""
    import traceback

    try:
        TARGETS[target](path.read_bytes())
    except Exception:
        return traceback.format_exc()
    return "(no exception when replayed)"


def assert_no_crash(target: str, proc: subprocess.CompletedProcess, tmp_path: Path) -> None:
    crashes = sorted(tmp_path.glob("crash-*")) + sorted(tmp_path.glob("timeout-*"))
    if proc.returncode != 0 or crashes:
        found = "\n".join(f"{p}:\n{replay(target, p)}" for p in crashes)
        pytest.fail(f"atheris found a crash in {target}:\n{found}\n{proc.stderr[-3000:]}")
    assert "Done" in proc.stderr or "stat::number_of_executed_units" in proc.stderr, proc.stderr[-2000:]


@pytest.mark.slow
def test_atheris_finds_no_crash_in_the_notice_parser(tmp_path):
    proc = run_atheris("notice", tmp_path)
    assert_no_crash("notice", proc, tmp_path)


@pytest.mark.slow
def test_atheris_finds_no_crash_in_reading_a_docx_notice(tmp_path):
    proc = run_atheris("notice_docx", tmp_path)
    assert_no_crash("notice_docx", proc, tmp_path)


@pytest.mark.slow
def test_atheris_finds_no_crash_in_reading_an_excel_ledger(tmp_path):
    proc = run_atheris("excel", tmp_path)
    assert_no_crash("excel", proc, tmp_path)


if __name__ == "__main__":
    fuzz_main(sys.argv)
