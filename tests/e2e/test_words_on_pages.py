"""No page shows a Chinese reader a login name, a rule's code or the engine's English.

Every role walks every page it can reach from its home page (links followed, measures included),
over a ledger in every state: returned, resubmitted, approved, closed, escalated at each level,
with an extension, a supervision order, public feedback, and the pages people land on after a
refusal (a missing file, a file of the wrong kind, a missing reason, a stale form, a short
password). What a person reads — the text and the hover titles — is checked. Login names are the
administrator's business on the people pages, and there only.
"""
from __future__ import annotations

import datetime as dt
import html
import re

import pytest

from tests.conftest import png_bytes
from tests.e2e.conftest import USERS
from tests.e2e.test_pages import fire, measure_row, post, signed_in
from web import i18n
from workflow import escalation, evidence as ev, spec

LOGINS = set(USERS) | {"system"}
CODES = set(i18n.MESSAGES) | set(spec.TRIGGERS) | set(spec.STATES) | {
    "in_progress", "time_bound", "long_term", "inspection_group", "public_dissatisfaction"}
# words of Latin letters a Chinese page may show: product and file-format names, the language switch
ALLOWED = {"Rectify", "English", "Word", "HTML", "Markdown", "PDF", "Excel", "CSV", "KB", "UTF", "GB",
           "docx", "xlsx", "csv", "txt", "html", "md", "MB"}
FILE_NAME = re.compile(r"[\w\-]+\.(?:png|jpe?g|pdf|docx|xlsx|csv|txt)\b", re.I)
ORDER_NO = re.compile(r"\bDB-\d{4}-\d{4}\b|\b[0-9a-f]*\d[0-9a-f]*\b")  # order numbers, hashes
LATIN = re.compile(r"[A-Za-z][A-Za-z0-9_]+")


def photo(seed: int, name: str):
    return ev.store(png_bytes(seed), name)


@pytest.fixture
def scene(make_site):
    """Every state and a little of everything, the clock a month after the deadlines."""
    site = make_site(measures=10)
    m = site.ids["measures"]
    f = site.fire
    for mid in m[:6]:
        f(mid, "start", "owner1")
    f(m[0], "submit", "owner1", comment="已完成。", evidence=[photo(1, "现场照片.png")])
    f(m[0], "return", "leader1", reason="照片看不清。")
    f(m[1], "submit", "owner1", comment="已完成。", evidence=[photo(2, "整改前.png")])
    f(m[1], "return", "leader1", reason="补充整改后照片。")
    f(m[1], "submit", "owner1", comment="已补充。", evidence=[photo(3, "整改后.png")])
    f(m[2], "submit", "owner1", comment="已完成。", evidence=[photo(4, "会议记录.png")])
    f(m[2], "approve", "leader1", comment="同意。")
    f(m[3], "submit", "owner1", comment="已完成。", evidence=[photo(5, "台账.png")])
    f(m[3], "approve", "leader1")
    f(m[3], "sign_off", "office1")
    f(m[4], "request_extension", "owner1", reason="汛期施工受限。", params={"new_deadline": "2027-03-31"})
    f(m[5], "request_extension", "owner1", reason="资金未到位。", params={"new_deadline": "2027-02-28"})
    f(m[5], "grant_extension", "leader1")
    for day in (dt.datetime(2026, 12, 28, 2), dt.datetime(2027, 1, 5, 2), dt.datetime(2027, 1, 25, 2)):
        escalation.sweep(day, site.engine)
    site.clock.t = dt.datetime(2027, 1, 25, 2)
    f(m[6], "urge", "super1", comment="请加快。")
    site.publish()
    path = f"/public/plans/{site.ids['plan']}"
    post(site.app.test_client(), path + "/feedback", {"problem_id": site.ids["problem"], "text": "河道仍有垃圾。"},
         csrf_from=path)
    return site


def readable(body: str, titles: bool = True) -> str:
    """What a person reads on a page: its text and (``titles``) its hover titles, not scripts, styles
    or the values of form fields."""
    hover = " ".join(re.findall(r'\btitle="([^"]*)"', body)) if titles else ""
    body = re.sub(r"<(script|style)[^>]*>.*?</\1>", " ", body, flags=re.S)
    body = re.sub(r"<code data-raw>.*?</code>", " ", body, flags=re.S)  # a record as it was (a request's path)
    body = re.sub(r"<[^>]+>", " ", body)
    return html.unescape(body + " " + hover)


def crawl(client, start="/", limit=60) -> dict[str, str]:
    """Pages by the address they were drawn at (after redirects), following links from ``start``."""
    seen: dict[str, str] = {}
    asked: set[str] = set()
    queue = [start]
    while queue and len(seen) < limit:
        path = queue.pop(0)
        if path in asked:
            continue
        asked.add(path)
        r = client.get(path, follow_redirects=True)
        if r.mimetype != "text/html":
            continue
        body = r.get_data(as_text=True)
        seen[r.request.full_path.rstrip("?")] = body
        for link in re.findall(r'href="(/[^"#]*)"', body):
            link = html.unescape(link)
            if link.startswith(("/static", "/evidence", "/api", "/ledger/export")) or "lang=" in link:
                continue
            if link not in asked and link not in queue:
                queue.append(link)
    return seen


def problems(pages: dict[str, str], *, admin: bool = False) -> list[str]:
    """Login names, rule codes and English words on the pages. For an administrator, login names may
    show on hover anywhere and as text on the people pages."""
    found = []
    for path, body in pages.items():
        text = ORDER_NO.sub(" ", FILE_NAME.sub(" ", readable(body)))
        words = set(LATIN.findall(text))
        if not admin:
            found += [f"{path}: login name {w}" for w in words & LOGINS]
        elif not path.startswith(("/admin/people", "/admin/security")):  # pages about accounts
            shown = set(LATIN.findall(FILE_NAME.sub(" ", readable(body, titles=False))))
            found += [f"{path}: login name {w}" for w in shown & LOGINS]
        found += [f"{path}: rule code {w}" for w in words & CODES]
        found += [f"{path}: English {w}" for w in words - ALLOWED - LOGINS - CODES]
    return found


def refusals(site) -> list[tuple[str, str, str]]:
    """The pages people are sent back to after a refused form: (who, address, page)."""
    m = site.ids["measures"]
    out = []
    owner, leader, admin = (signed_in(site, u) for u in ("owner1", "leader1", "admin1"))
    site.fire(m[7], "start", "owner1")
    v = measure_row(site, m[7]).version
    for said, client, send in (
        ("请至少上传一份佐证材料", owner, lambda: fire(owner, m[7], "submit", v, comment="完成")),
        ("「x.png」未能上传", owner, lambda: fire(owner, m[7], "submit", v, comment="完成",
                                                files=[("x.png", b"not a picture")])),
        ("请填写理由", leader, lambda: fire(leader, m[1], "return", measure_row(site, m[1]).version, next="/review")),
        ("冲突", leader, lambda: fire(leader, m[1], "approve", 1)),
        ("密码至少需要 10 个字符", admin, lambda: post(admin, "/admin/people", {
            "username": "owner9", "name": "测试县发改局责任人", "password": "short"}, csrf_from="/admin/people")),
    ):
        r = send()
        assert r.status_code == 303, said
        who = {id(owner): "owner1", id(leader): "leader1", id(admin): "admin1"}[id(client)]
        page = client.get(r.headers["Location"]).get_data(as_text=True)
        assert said in page, said
        out.append((who, r.headers["Location"], page))
    return out


def test_no_page_shows_a_chinese_reader_a_login_name_a_rule_code_or_english(scene):
    site = scene
    found = []
    for user in USERS:
        pages = crawl(signed_in(site, user))
        assert len(pages) > 3, user
        found += [f"{user} {p}" for p in problems(pages, admin=user == "admin1")]
    found += [f"anonymous {p}" for p in problems(crawl(site.app.test_client(), "/public/"))]
    found += [f"anonymous {p}" for p in problems({"/login": site.app.test_client().get("/login").get_data(as_text=True)})]
    for who, path, body in refusals(site):
        found += [f"{who} after a refusal {p}" for p in problems({path: body}, admin=who == "admin1")]
    assert not found, "\n".join(sorted(set(found)))


def test_the_check_itself_catches_what_it_looks_for():
    page = '<p>退回 by leader1（规则：reason_required）</p><span title="owner1">甲</span> Not found'
    got = problems({"/x": page})
    assert {"/x: login name leader1", "/x: login name owner1", "/x: rule code reason_required",
            "/x: English by", "/x: English Not", "/x: English found"} <= set(got)
    assert problems({"/x": "<p>现场照片.png 督办单 DB-2027-0001 English</p>"}) == []
