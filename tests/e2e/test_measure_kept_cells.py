"""The measure page shows the cells an imported ledger kept (其他信息), in the file's column order."""
from __future__ import annotations

import json

from sqlalchemy import text

from tests.e2e.test_pages import signed_in


def test_the_measure_page_lists_the_kept_cells_under_their_headers(site):
    m = site.ids["measures"][0]
    kept = {"责任领导": "县领导甲、县领导乙", "完成时限": "3月：制定制度\n6月底前：全面落实", "督办意见": "<加快进度>"}
    with site.engine.begin() as conn:
        conn.execute(text("UPDATE measures SET extra = :e WHERE id = :m"),
                     {"e": json.dumps(kept, ensure_ascii=False), "m": m})
    client = signed_in(site, "owner1")
    page = client.get(f"/measures/{m}").get_data(as_text=True)
    section = page[page.index("data-extra"):]
    assert "其他信息" in section
    at = [section.index(f"<dt>{h}</dt>") for h in kept]
    assert at == sorted(at)  # in the file's column order
    assert "6月底前：全面落实" in section and "&lt;加快进度&gt;" in section  # every milestone; escaped
    assert "Other information" in client.get(f"/measures/{m}?lang=en").get_data(as_text=True)
    other = client.get(f"/measures/{site.ids['measures'][1]}?lang=zh")  # nothing kept: no section
    assert other.status_code == 200 and "data-extra" not in other.get_data(as_text=True)
