"""Page arithmetic, without a database."""
from __future__ import annotations

from dataclasses import dataclass

import pytest
from hypothesis import given, settings, strategies as st

from workflow.paging import MAX_PAGE, MAX_PER_PAGE, Page, clamp


@pytest.mark.parametrize("page, per_page, expected", [
    (1, 50, (1, 50)),
    (0, 0, (1, 1)),
    (-3, -1, (1, 1)),
    ("2", "10", (2, 10)),
    (None, None, (1, 25)),
    ("x", "y", (1, 25)),
    (10**9, 10**9, (MAX_PAGE, MAX_PER_PAGE)),
])
def test_page_and_size_are_clamped_to_whole_numbers_in_range(page, per_page, expected):
    assert clamp(page, per_page, default_per_page=25) == expected


@settings(derandomize=True)
@given(total=st.integers(0, 10_000), per_page=st.integers(1, MAX_PER_PAGE))
def test_the_pages_hold_every_item_and_an_empty_list_has_one_page(total, per_page):
    pages = Page([], 1, per_page, total).pages
    assert pages >= 1
    assert (pages - 1) * per_page < max(total, 1) <= pages * per_page


@dataclass(frozen=True)
class CountedPage(Page):
    unread: int = 0


def test_a_page_maps_its_items_and_extends_to_a_page_with_more_fields():
    p = Page([1, 2, 3], 2, 3, 8)
    doubled = p.map(lambda n: n * 2)
    assert (doubled.items, doubled.page, doubled.per_page, doubled.total, doubled.pages) == ([2, 4, 6], 2, 3, 8, 3)
    counted = doubled.extend(CountedPage, unread=5)
    assert isinstance(counted, CountedPage) and counted.unread == 5 and counted.items == [2, 4, 6]
    assert counted.to_dict() == {"items": [2, 4, 6], "page": 2, "per_page": 3, "total": 8, "unread": 5, "pages": 3}
    assert p.items == [1, 2, 3]  # pages are values: mapping made a new one
