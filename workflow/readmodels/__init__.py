"""Read models: what each page, the API and the command line show, scoped by who asks.

Every function that returns measures takes the asking :class:`workflow.spec.Actor` and goes
through :func:`scope`, the one rule of who sees what. Nothing here writes (writes are
:mod:`workflow.commands`). Lists that page answer a :class:`workflow.paging.Page`.

- :mod:`.scope` who sees what; :mod:`.measures` the one scoped measure selectable, lists, one
  measure, its events and evidence; :mod:`.queues` to-do, waiting, review and sign-off;
  :mod:`.ledger` the ledger page and the rows the CLI streams; :mod:`.supervision` escalations;
  :mod:`.dashboard` counts, parts, timeline, problems; :mod:`.inbox` notifications;
  :mod:`.people` people, units, profiles; :mod:`.public` the published notice and feedback;
  :mod:`.plans` plans as the office reviews and publishes them; :mod:`.documents` supervision orders;
  :mod:`.security` the security event log.
"""
from __future__ import annotations

from ..paging import MAX_PER_PAGE, Page
from .dashboard import by_part, list_problems, stats, timeline
from .inbox import InboxPage, list_notifications, notifications, unread_count
from .ledger import SORTS, export_size, filter_choices, items_query, iter_items, ledger, ledger_condition, ledger_ids
from .measures import (
    LIGHTS, allowed_triggers, evidence_file, light_condition, list_measures, measure_detail, measure_events, preflight,
    selectable, version_of, visible_measure_ids,
)
from .people import Identity, identity, list_users, people, units, user_profile
from .documents import supervision_order, supervision_orders
from .plans import imported_notice, plan_review, plans
from .public import feedback_list, public_plans, published_notice
from .queues import review_queue, signoff_queue, todo, waiting
from .scope import GLOBAL_ROLES, load_actor, may_see, scope
from .search import terms as search_terms
from .security import security_events
from .supervision import EscalationPage, escalations

__all__ = [
    "GLOBAL_ROLES", "LIGHTS", "MAX_PER_PAGE", "SORTS", "EscalationPage", "Identity", "InboxPage", "Page",
    "allowed_triggers", "by_part", "escalations", "evidence_file", "export_size", "feedback_list", "filter_choices",
    "identity", "items_query", "iter_items", "ledger", "ledger_condition", "ledger_ids", "light_condition", "list_measures",
    "list_notifications", "list_problems", "list_users", "load_actor", "may_see", "measure_detail",
    "measure_events", "notifications", "people", "plan_review", "plans", "preflight", "public_plans",
    "published_notice", "imported_notice", "review_queue", "scope", "search_terms", "security_events", "selectable",
    "signoff_queue", "stats", "supervision_order", "supervision_orders", "timeline", "todo", "units", "unread_count",
    "user_profile",
    "version_of", "visible_measure_ids", "waiting",
]
