"""The public notice report (Markdown, HTML, .docx), its statistics, and the shared renderer."""
from __future__ import annotations

import datetime as dt
import io
import re
import shutil
import subprocess
import sys
from decimal import ROUND_HALF_UP, Decimal

import docx
import pytest
from docx.oxml.ns import qn
from sqlalchemy import Date, bindparam, text

from tests.data import ledgers
from workflow import commands, db, importing, planwriter, report, stats
from workflow.importing import notice

SIGNED = dt.datetime(2023, 3, 30, 2, 0)  # the seed's date, 10:00 in China


def seed_expectation() -> list[tuple[str, int, str]]:
    """(part heading, problem no, progress) in order, read from the seed text itself."""
    body = notice.SEED_PATH.read_text(encoding="utf-8")
    body = body[body.index("二、坚持问题导向"):body.index("三、加大工作力度")]
    out, part = [], None
    for line in body.splitlines():
        line = line.strip()
        m = re.match(r"^（([一二三])）(.+)$", line)
        if m:
            part = f"（{m.group(1)}）{m.group(2)}"
        m = re.match(r"^问题\s*(\d+)\s*：", line)
        if m:
            out.append([part, int(m.group(1)), None])
        m = re.match(r"^整改进度：(.+?)。?$", line)
        if m:
            out[-1][2] = m.group(1)
    return [tuple(x) for x in out]


@pytest.fixture
def seeded(sqlite_engine):
    s = notice.import_notice(notice.read(notice.SEED_PATH), SIGNED, engine=sqlite_engine)
    return s["plan_id"]


def sequence_md(md: str) -> list[tuple[str, int, str]]:
    out, part = [], None
    for line in md.splitlines():
        if line.startswith("### "):
            part = line[4:]
        m = re.match(r"^\*\*问题(\d+)：\*\*", line)
        if m:
            out.append([part, int(m.group(1)), None])
        m = re.match(r"^\*\*整改进度：\*\*(.+)。$", line)
        if m:
            out[-1][2] = m.group(1)
    return [tuple(x) for x in out]


def sequence_html(page: str) -> list[tuple[str, int, str]]:
    """The same sequence from the page: its h3 headings and its paragraphs' bold leads, read as Markdown."""
    lines = [f"### {body}" if tag == "h3" else re.sub(r"</?b>", "**", body)
             for tag, body in re.findall(r"<(h3|p)[^>]*>(.*?)</\1>", page)]
    return sequence_md("\n".join(lines))


def sequence_docx(data: bytes) -> list[tuple[str, int, str]]:
    """The same sequence from the document: its level-2 headings and the bold first run of a paragraph."""
    lines = []
    for p in docx.Document(io.BytesIO(data)).paragraphs:
        lead = p.runs[0] if p.runs else None
        if p.style.name == "Heading 2":
            lines.append(f"### {p.text}")
        elif lead is not None and lead.bold:
            lines.append(f"**{lead.text}**{p.text[len(lead.text):]}")
    return sequence_md("\n".join(lines))


def test_the_seed_notice_renders_its_16_problems_with_progress_in_order_under_their_parts(seeded):
    expected = seed_expectation()
    assert [n for _p, n, _g in expected] == list(range(1, 17))
    doc = report.notice_doc(seeded, SIGNED)
    md = report.render(doc, "md").decode("utf-8")
    page = report.render(doc, "html").decode("utf-8")
    data = report.render(doc, "docx")
    assert sequence_md(md) == expected
    assert sequence_html(page) == expected
    assert sequence_docx(data) == expected
    # the layout of the seed: heading, intro, 一 organisation, 二 problems, 三 next steps, contact, signature
    heads = re.findall(r"^## (.+)$", md, flags=re.M)
    # 一 is computed now (the imported organisation section is history); 二 and 三 are the plan's own headings
    assert heads == ["一、整改工作总体情况", "二、坚持问题导向，从严从快抓好整改工作", "三、加大工作力度，抓好下步工作"]
    assert md.index("# 关于巡察整改情况的通报") < md.index("根据市委统一部署") < md.index("## 一、")
    assert "#### 1. 关于学习贯彻习近平总书记关于防灾减灾救灾工作的重要指示批示精神不及时" in md
    assert md.index("## 三、") < md.index("联系方式：电话 2959960") < md.rindex("2023年3月30日")
    assert md.rstrip().endswith("中共许昌市东城区工委  \n2023年3月30日")


def test_progress_is_derived_from_the_measures_never_typed_in(seeded, sqlite_engine):
    with db.write_tx(sqlite_engine) as conn:
        planwriter.user(conn, "office9", "整改办工作人员", ["office"], "整改办")
        mid = conn.execute(text("SELECT m.id FROM measures m JOIN problems p ON p.id = m.problem_id "
                                "WHERE p.no = 5 ORDER BY m.seq LIMIT 1")).scalar_one()
    commands.fire(mid, "reopen", "office9", reason="群众反映仍有问题", params={"category": "public_dissatisfaction"},
             now=SIGNED, engine=sqlite_engine)
    progress = {n: g for _p, n, g in sequence_md(report.render(report.notice_doc(seeded, SIGNED), "md").decode())}
    assert progress[5] == "未完成"  # past the concentrated rectification period (to 2023-01-11) and open
    assert all(g == "已完成，长期坚持" for n, g in progress.items() if n != 5)
    early = dt.datetime(2023, 1, 5, 2, 0)
    progress = {n: g for _p, n, g in sequence_md(report.render(report.notice_doc(seeded, early), "md").decode())}
    assert progress[5] == "正在整改，预计2023年1月底前完成"  # the open measure's deadline is 2023-01-11


def test_an_account_falls_back_to_the_accounts_of_closed_measures(sqlite_engine, tmp_path):
    s = importing.import_ledger(ledgers.customary(tmp_path / "a.xlsx"), now=SIGNED, engine=sqlite_engine)
    md = report.render(report.notice_doc(s["plan_id"], SIGNED), "md").decode()
    lines = md.splitlines()
    accounts = [ln[len("**落实情况：**"):] for ln in lines if ln.startswith("**落实情况：**")]
    assert accounts == ["已组织专题学习4次。已纳入2023年学习计划。", "已召开专项会议。", "整改工作正在推进。"]
    progress = [ln[len("**整改进度：**"):] for ln in lines if ln.startswith("**整改进度：**")]
    assert progress == ["正在整改。", "已完成。", "正在整改，预计2023年6月底前完成。"]  # 1: no deadline given


def sql_stats(engine, plan_id: int, today: dt.date) -> dict:
    """Every number of the statistics paragraph, recomputed with plain SQL."""
    p = {"plan": plan_id, "today": today}

    def sql(q: str):
        t = text(q)
        return t.bindparams(bindparam("today", type_=Date)) if ":today" in q else t

    with engine.connect() as c:
        def one(q):
            return c.execute(sql(q), p).scalar_one()

        joined = "FROM measures m JOIN problems pr ON pr.id = m.problem_id WHERE pr.plan_id = :plan"
        out = {
            "parts": one("SELECT count(*) FROM parts WHERE plan_id = :plan"),
            "problems": one("SELECT count(*) FROM problems WHERE plan_id = :plan"),
            "measures": one(f"SELECT count(*) {joined}"),
            "completed": one(f"SELECT count(*) {joined} AND m.state = 'closed'"),
            "not_completed": one(f"SELECT count(*) {joined} AND m.state <> 'closed' AND m.deadline < :today"),
            "in_progress": one(f"SELECT count(*) {joined} AND m.state <> 'closed' "
                               f"AND (m.deadline IS NULL OR m.deadline >= :today)"),
            "long_term": one(f"SELECT count(*) {joined} AND m.kind = 'long_term'"),
            "amount_involved": Decimal(str(one("SELECT coalesce(sum(amount_involved), 0) FROM problems "
                                               "WHERE plan_id = :plan"))).quantize(Decimal("0.01")),
            "amount_recovered": Decimal(str(one("SELECT coalesce(sum(amount_recovered), 0) FROM problems "
                                                "WHERE plan_id = :plan"))).quantize(Decimal("0.01")),
            "rules_made": one("SELECT count(*) FROM rules_made r JOIN problems pr ON pr.id = r.problem_id "
                              "WHERE pr.plan_id = :plan"),
        }
        out["by_state"] = dict(c.execute(sql(f"SELECT m.state, count(*) {joined} GROUP BY m.state"), p).all())
        out["accountability"] = dict(c.execute(sql(
            "SELECT a.kind, count(*) FROM accountability a WHERE a.problem_id IN "
            "(SELECT id FROM problems WHERE plan_id = :plan) OR a.measure_id IN "
            "(SELECT m.id FROM measures m JOIN problems pr ON pr.id = m.problem_id WHERE pr.plan_id = :plan) "
            "GROUP BY a.kind"), p).all())
        progress = c.execute(sql("""
            SELECT CASE WHEN n > 0 AND closed = n AND lt > 0 THEN 'done_long_term'
                        WHEN n > 0 AND closed = n THEN 'done'
                        WHEN rect_end IS NOT NULL AND rect_end < :today THEN 'not_done'
                        ELSE 'in_progress' END AS progress, count(*)
            FROM (SELECT pr.id, count(m.id) AS n, sum(CASE WHEN m.state = 'closed' THEN 1 ELSE 0 END) AS closed,
                         sum(CASE WHEN m.kind = 'long_term' THEN 1 ELSE 0 END) AS lt, i.rect_end
                  FROM problems pr JOIN plans pl ON pl.id = pr.plan_id JOIN inspections i ON i.id = pl.inspection_id
                  LEFT JOIN measures m ON m.problem_id = pr.id WHERE pr.plan_id = :plan
                  GROUP BY pr.id, i.rect_end) AS x GROUP BY 1"""), p).all()
        out["progress"] = dict(progress)
    out["completion_rate"] = (Decimal(out["completed"]) * 100 / out["measures"]).quantize(
        Decimal("0.1"), rounding=ROUND_HALF_UP) if out["measures"] else Decimal("0.0")
    return out


def varied_ledger(engine, tmp_path) -> int:
    """The customary ledger plus money, accountability records and rules."""
    s = importing.import_ledger(ledgers.customary(tmp_path / "a.xlsx"), now=SIGNED, engine=engine)
    with db.write_tx(engine) as conn:
        ids = dict(conn.execute(text("SELECT no, id FROM problems WHERE plan_id = :p"), {"p": s["plan_id"]}).all())
        conn.execute(text("UPDATE problems SET amount_involved = 90000, amount_recovered = 90000 WHERE id = :i"),
                     {"i": ids[1]})
        conn.execute(text("UPDATE problems SET amount_involved = 38200.5 WHERE id = :i"), {"i": ids[3]})
        mid = conn.execute(text("SELECT min(id) FROM measures WHERE problem_id = :i"), {"i": ids[3]}).scalar_one()
        planwriter.accountability(conn, "reminder_talk", "水利局相关人员", problem_id=ids[1])
        planwriter.accountability(conn, "reminder_talk", "街道办事处相关人员", problem_id=ids[3])
        planwriter.accountability(conn, "veto", "某责任单位", measure_id=mid)
        planwriter.rule_made(conn, "救灾专项资金管理办法", problem_id=ids[3], doc_no="东财〔2022〕1号")
    return s["plan_id"]


@pytest.mark.parametrize("when", [dt.datetime(2023, 1, 20, 2), dt.datetime(2023, 3, 20, 2), dt.datetime(2023, 8, 1, 2)])
def test_every_statistic_agrees_with_the_ledger_by_plain_sql(engine, tmp_path, when):
    plan_id = varied_ledger(engine, tmp_path)
    today = dt.date(when.year, when.month, when.day)
    st = stats.compute(plan_id, when, engine=engine)
    want = sql_stats(engine, plan_id, today)
    assert st.as_of == today
    for key in ("parts", "problems", "measures", "completed", "not_completed", "in_progress", "long_term",
                "amount_involved", "amount_recovered", "rules_made", "accountability", "completion_rate"):
        assert getattr(st, key) == want[key], key
    assert {k: v for k, v in st.by_state.items() if v} == want["by_state"]
    assert {k: v for k, v in {"done": st.problems_done, "done_long_term": st.problems_done_long_term,
                              "in_progress": st.problems_in_progress, "not_done": st.problems_not_done}.items()
            if v} == want["progress"]
    assert st.accountability_total == sum(want["accountability"].values())


def test_the_statistics_paragraph_states_exactly_the_ledger_numbers(sqlite_engine, tmp_path):
    plan_id = varied_ledger(sqlite_engine, tmp_path)
    when = dt.datetime(2023, 3, 20, 2)
    want = sql_stats(sqlite_engine, plan_id, dt.date(2023, 3, 20))
    md = report.render(report.notice_doc(plan_id, when), "md").decode()
    para = next(ln for ln in md.splitlines() if ln.startswith("截至"))
    m = re.search(r"截至(\d+)年(\d+)月(\d+)日，巡察反馈的(\d+)个方面(\d+)个问题，已整改完成(\d+)个，"
                  r"整改完成率([\d.]+)%.*?；细化整改措施(\d+)项，已完成(\d+)项，完成率([\d.]+)%，"
                  r"正在整改(\d+)项，逾期未完成(\d+)项；其中长期坚持事项(\d+)项。", para)
    assert m, para
    done = sum(n for k, n in want["progress"].items() if k.startswith("done"))
    got = [int(x) for x in m.groups()[:6]] + [Decimal(m.group(7)), int(m.group(8)), int(m.group(9)),
                                              Decimal(m.group(10))] + [int(x) for x in m.groups()[10:]]
    problem_rate = (Decimal(done * 100) / want["problems"]).quantize(Decimal("0.1"), rounding=ROUND_HALF_UP)
    assert got == [2023, 3, 20, want["parts"], want["problems"], done, problem_rate, want["measures"],
                   want["completed"], want["completion_rate"], want["in_progress"], want["not_completed"],
                   want["long_term"]]
    money = re.search(r"涉及金额([\d.]+)万元，已退还或追缴([\d.]+)万元", para)
    assert Decimal(money.group(1)) * 10000 == want["amount_involved"]
    assert Decimal(money.group(2)) * 10000 == want["amount_recovered"]
    assert f"谈话提醒{want['accountability']['reminder_talk']}次" in para
    assert f"一票否决{want['accountability']['veto']}次" in para
    assert f"建立完善制度{want['rules_made']}项" in para


def test_the_seed_statistics_match_the_ledger(seeded, sqlite_engine):
    st = stats.compute(seeded, SIGNED, engine=sqlite_engine)
    want = sql_stats(sqlite_engine, seeded, dt.date(2023, 3, 30))
    assert (st.problems, st.measures, st.completed, st.problems_done_long_term) == (16, 45, 45, 16)
    assert (st.amount_involved, st.amount_recovered) == (want["amount_involved"], want["amount_recovered"])
    assert st.accountability == want["accountability"] and st.rules_made == want["rules_made"]
    assert st.completion_rate == Decimal("100.0")


def test_the_docx_uses_real_heading_styles_with_the_customary_east_asian_fonts(seeded):
    d = docx.Document(io.BytesIO(report.render(report.notice_doc(seeded, SIGNED), "docx")))

    def east_asia(style_name):
        rfonts = d.styles[style_name].element.rPr.find(qn("w:rFonts"))
        assert rfonts.get(qn("w:eastAsiaTheme")) is None  # a theme font would override the declared one
        return rfonts.get(qn("w:eastAsia"))

    assert east_asia("Title") == "方正小标宋简体"
    assert east_asia("Heading 1") == "黑体"
    assert east_asia("Heading 2") == "楷体"
    assert east_asia("Normal") == "仿宋_GB2312"
    styles = [p.style.name for p in d.paragraphs]
    assert styles.count("Title") == 1 and styles.count("Heading 1") == 3 and styles.count("Heading 2") == 3
    assert styles.count("Heading 3") == 7
    title = next(p for p in d.paragraphs if p.style.name == "Title")
    assert title.text == "关于巡察整改情况的通报"
    sec = d.sections[0]
    assert (round(sec.page_width.mm), round(sec.page_height.mm)) == (210, 297)


def test_the_html_is_print_ready_and_self_contained(seeded):
    page = report.render(report.notice_doc(seeded, SIGNED), "html").decode()
    assert "@page { size: A4;" in page and '<meta charset="utf-8">' in page
    assert not re.search(r"<(link|script|img|iframe)\b", page)
    assert not re.search(r"(src|href)=|url\(|@import", page)
    assert "方正小标宋简体" in page and "仿宋_GB2312" in page and "黑体" in page
    assert page.count("<h2>") == 3 and page.count("<h3>") == 3


def test_the_renderer_api_renders_any_document_with_tables(tmp_path):
    doc = report.Doc("东城区巡察整改周报告", [
        report.Heading("一、总体情况", 1),
        report.Para("本周新增销号 3 项 <b>不转义则错</b>。"),
        report.Table(["责任单位", "措施数", "红灯"], [["水利局", 3, 1], ["住建局|二", 2, None]], caption="各单位进度"),
        report.Signature(["区整改办", "2026年12月7日"]),
    ], issuer="区整改办")
    md = report.render(doc, "md").decode()
    assert "| 责任单位 | 措施数 | 红灯 |" in md and "| 住建局\\|二 | 2 |  |" in md
    page = report.render(doc, "html").decode()
    assert "<th>责任单位</th>" in page and "<td>水利局</td><td>3</td><td>1</td>" in page
    assert "&lt;b&gt;不转义则错&lt;/b&gt;" in page
    d = docx.Document(io.BytesIO(report.render(doc, "docx")))
    assert len(d.tables) == 1 and d.tables[0].cell(1, 0).text == "水利局" and d.tables[0].cell(2, 2).text == ""
    out = report.write(doc, tmp_path / "weekly.docx")
    assert out.read_bytes()[:2] == b"PK"
    with pytest.raises(ValueError):
        report.render(doc, "pdf")


def test_markdown_digests_render_through_the_same_renderer():
    body = ("# 整改月总结（2026年11月）\n\n截至 2026-11-30：整改措施 45 项，已销号 10 项。\n\n"
            "| 责任单位 | 措施 | 已销号 |\n|---|---|---|\n| 水利局 | 5 | 2 |\n| 合计 | 45 | 10 |\n\n"
            "## 水利局\n\n### 已逾期（1 项）\n- 措施 3（问题1）制定计划\n- 措施 4（问题1）学习\n")
    doc = report.from_markdown(body)
    assert doc.title == "整改月总结（2026年11月）"
    assert [type(b).__name__ for b in doc.blocks] == ["Para", "Table", "Heading", "Heading", "Items"]
    assert doc.blocks[1].rows == [["水利局", "5", "2"], ["合计", "45", "10"]]
    assert (doc.blocks[2].level, doc.blocks[3].level) == (1, 2)
    page = report.render(doc, "html").decode()
    assert "<li>措施 3（问题1）制定计划</li>" in page and "<h1>整改月总结（2026年11月）</h1>" in page
    d = docx.Document(io.BytesIO(report.render(doc, "docx")))
    assert [p.text for p in d.paragraphs if p.style.name == "List Bullet"] == ["措施 3（问题1）制定计划",
                                                                               "措施 4（问题1）学习"]
    assert d.tables[0].cell(2, 2).text == "10"
    assert report.from_markdown(report.render(doc, "md").decode()) == doc


def test_cli_report_writes_each_format(seeded, tmp_path, capfd):
    from workflow.cli import main

    for fmt in ("md", "html", "docx"):
        out = tmp_path / f"notice.{fmt}"
        assert main(["report", "--format", fmt, "-o", str(out), "--now", "2023-03-30T10:00"]) == 0
        assert out.stat().st_size > 1000
    assert "问题16：" in (tmp_path / "notice.md").read_text(encoding="utf-8")
    capfd.readouterr()
    assert main(["report", "--format", "docx"]) == 3
    assert "-o FILE" in capfd.readouterr().err
    assert main(["report", "--format", "md", "--plan", "42"]) == 5
    # the console script itself, once: Markdown on stdout
    r = subprocess.run([sys.executable, "-m", "workflow.cli", "report", "--format", "md", "--now",
                        "2023-03-30T10:00"], capture_output=True, timeout=120)
    assert r.returncode == 0 and r.stdout.decode("utf-8").startswith("**中共许昌市东城区工作委员会**")
    assert r.stdout.decode("utf-8") == (tmp_path / "notice.md").read_text(encoding="utf-8")


@pytest.mark.browser
def test_chromium_prints_the_html_report_on_a4_pages(seeded, tmp_path):
    chromium = shutil.which("chromium") or shutil.which("chromium-browser")
    if chromium is None:
        pytest.skip("chromium is not installed")
    page = tmp_path / "notice.html"
    report.write(report.notice_doc(seeded, SIGNED), page)
    pdf = tmp_path / "notice.pdf"
    subprocess.run([chromium, "--headless", "--no-sandbox", "--disable-gpu", "--no-pdf-header-footer",
                    f"--print-to-pdf={pdf}", page.as_uri()], capture_output=True, timeout=120, check=True)
    data = pdf.read_bytes()
    boxes = re.findall(rb"/MediaBox\s*\[\s*0 0 ([\d.]+) ([\d.]+)\s*\]", data)
    assert boxes and all(abs(float(w) - 595.3) < 1.5 and abs(float(h) - 841.9) < 1.5 for w, h in boxes)
    assert len(boxes) >= 5  # the seed notice runs to several pages
