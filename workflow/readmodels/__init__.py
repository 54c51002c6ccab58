"""Read models: what each page, the API and the command line show, scoped by who asks.

Every function that returns measures takes the asking :class:`workflow.spec.Actor` and goes
through :func:`scope`, the one rule of who sees what. Nothing here writes.
"""
from __future__ import annotations

from .measures import (
    GLOBAL_ROLES, LIGHTS, MAX_PER_PAGE, allowed_triggers, evidence_file, light_condition, list_measures, list_problems,
    load_actor, mark_read, may_see, measure_detail, measure_events, notifications, page_of, preflight, scope, stats,
    user_profile, visible_measure_ids,
)
from .pages import (
    SORTS, by_part, escalations, feedback_list, filter_choices, ledger, ledger_ids, people, public_notice, public_plans,
    review_queue, signoff_queue, timeline, todo, units, unread_count, version_of, waiting,
)
from .rows import items_query, iter_items, list_notifications, list_users

__all__ = [
    "GLOBAL_ROLES", "LIGHTS", "MAX_PER_PAGE", "SORTS", "allowed_triggers", "by_part", "escalations",
    "evidence_file", "feedback_list", "filter_choices", "items_query", "iter_items", "ledger", "ledger_ids",
    "light_condition", "list_measures", "list_notifications", "list_problems", "list_users", "load_actor",
    "mark_read", "may_see", "measure_detail", "measure_events", "notifications", "page_of", "people",
    "preflight", "public_notice", "public_plans", "review_queue", "scope", "signoff_queue", "stats", "timeline",
    "todo", "units", "unread_count", "user_profile", "version_of", "visible_measure_ids", "waiting",
]
