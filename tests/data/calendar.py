"""A made-up 2027 holiday schedule in the State Council notice's format, for tests.

It is invented (not the published schedule): plausible breaks with correct weekdays, written for
these tests only. By hand: 29 days off and 6 make-up working days (2月14日, 2月20日, 4月25日,
5月8日, 9月26日, 10月9日).
"""
from __future__ import annotations

NOTICE_2027 = """国务院办公厅关于2027年部分节假日安排的通知
（测试用的虚构安排，并非真实通知）
各有关单位：
现将虚构的2027年放假和调休日期通知如下，仅供测试。
一、元旦：1月1日（周五）至3日（周日）放假，共3天。
二、春节：2月5日（农历除夕、周五）至13日（周六）放假调休，共9天。2月14日（周日）、2月20日（周六）上班。
三、清明节：4月3日（周六）至5日（周一）放假，共3天。
四、劳动节：5月1日（周六）至5日（周三）放假调休，共5天。4月25日（周日）、5月8日（周六）上班。
五、端午节：6月9日（周三）放假，共1天。
六、中秋节：9月15日（周三）放假，共1天。
七、国庆节：10月1日（周五）至7日（周四）放假调休，共7天。9月26日（周日）、10月9日（周六）上班。
请各单位据此安排工作。
测试办公室
2026年11月20日
"""

HOLIDAYS_2027 = 29
MAKE_UP_2027 = ["2027-02-14", "2027-02-20", "2027-04-25", "2027-05-08", "2027-09-26", "2027-10-09"]

CSV_2027 = """date,kind
# 虚构的2027年安排（测试用）
2027-01-01,holiday
2027-01-02,holiday
2027-01-03,holiday
2027-02-05,holiday
2027-02-06,holiday
2027-02-07,holiday
2027-02-08,holiday
2027-02-09,holiday
2027-02-10,holiday
2027-02-11,holiday
2027-02-12,holiday
2027-02-13,holiday
2027-02-14,workday
2027-02-20,workday
"""
