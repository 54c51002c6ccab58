"""A small ledger for tests: one plan, one problem, people in every role, N measures."""
from __future__ import annotations

import datetime as dt

from workflow import db, planwriter

NOW = dt.datetime(2026, 11, 30, 2, 0, 0)  # 10:00 in China, a Monday


def build(engine, measures: int = 3, deadline: dt.date | None = None, evidence_waived: bool = False,
          kind: str = "time_bound", now: dt.datetime = NOW) -> dict:
    """Create the people and ``measures`` measures; return their ids by name."""
    deadline = deadline or dt.date(2026, 12, 31)
    with db.write_tx(engine) as conn:
        ids = {
            "owner": planwriter.user(conn, "owner1", "水利局责任人", ["owner"], "水利局", password="pw-owner1"),
            "owner2": planwriter.user(conn, "owner2", "水利局科员", ["owner"], "水利局", password="pw-owner2"),
            "other_owner": planwriter.user(conn, "owner3", "住建局责任人", ["owner"], "住建局", password="pw-owner3"),
            "head": planwriter.user(conn, "head1", "水利局局长", ["owner"], "水利局", password="pw-head1", head=True),
            "leader": planwriter.user(conn, "leader1", "分管领导甲", ["leader"], "管委会", password="pw-leader1"),
            "leader2": planwriter.user(conn, "leader2", "分管领导乙", ["leader"], "管委会", password="pw-leader2"),
            "office": planwriter.user(conn, "office1", "整改办工作人员", ["office"], "整改办", password="pw-office1"),
            "supervisor": planwriter.user(conn, "super1", "纪工委监督员", ["supervisor"], "纪工委", password="pw-super1"),
            "inspector": planwriter.user(conn, "insp1", "巡察组联络员", ["inspector"], "市委巡察组", password="pw-insp1"),
            "admin": planwriter.user(conn, "admin1", "系统管理员", ["admin"], "整改办", password="pw-admin1"),
        }
        if conn.exec_driver_sql("SELECT 1 FROM users WHERE username='system'").first() is None:
            planwriter.user(conn, "system", "系统")
        insp = planwriter.inspection(conn, "市委第八巡察组", "东城区", "special", feedback_date=dt.date(2026, 10, 11),
                                 rect_start=dt.date(2026, 10, 11), rect_end=dt.date(2027, 1, 11))
        plan = planwriter.plan(conn, insp, "测试整改方案", evidence_waived=evidence_waived)
        part = planwriter.part(conn, plan, 1, "责任意识不够强方面")
        cat = planwriter.category(conn, part, 1, "学习贯彻不及时")
        prob = planwriter.problem(conn, plan, part, 1, "学习不主动。", category_id=cat)
        unit_id = conn.exec_driver_sql("SELECT id FROM org_units WHERE name='水利局'").scalar()
        ids["unit"] = unit_id
        ids["plan"], ids["problem"] = plan, prob
        ids["measures"] = [
            planwriter.measure(conn, prob, i + 1, f"整改措施 {i + 1}", kind=kind, leader_id=ids["leader"],
                           unit_id=unit_id, owner_id=ids["owner"], deadline=deadline, now=now)
            for i in range(measures)
        ]
    return ids


def docx_file(text: str) -> bytes:
    """A real .docx holding one paragraph (evidence that passes the upload checks)."""
    import io

    import docx

    out = io.BytesIO()
    document = docx.Document()
    document.add_paragraph(text)
    document.save(out)
    return out.getvalue()
