"""Report figures aggregated in SQL (GROUP BY over the range's postings, orders and audit rows): the work
and the memory stay bounded by the number of groups, not by the number of rows in the range."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker

from soberpay.adapters.db.identity_tables import AuditRow
from soberpay.adapters.db.payment_tables import EntryRow, OrderRow, PostingRow
from soberpay.domain.ledger import PostingKind
from soberpay.errors import InvalidInput
from soberpay.services.reports import REPORTED_ACTIONS, Line, Report


def build_report(session_factory: sessionmaker[Session], start: datetime, end: datetime) -> Report:
    if start.tzinfo is None or end.tzinfo is None or end <= start:
        raise InvalidInput("the report range needs a start before its end", field="end")
    in_range = (PostingRow.at >= start, PostingRow.at < end)
    with session_factory() as session:
        by_kind = session.execute(
            select(PostingRow.kind, func.count(), func.coalesce(func.sum(PostingRow.amount_fen), 0))
            .where(*in_range)
            .group_by(PostingRow.kind)
            .order_by(PostingRow.kind)
        ).all()
        # Revenue is the purchase postings; each order names its posting, so the breakdowns use the
        # posting's time and amount (an order and its posting are written in one transaction).
        purchases = (
            select(OrderRow.category, OrderRow.room_id, PostingRow.amount_fen)
            .join(PostingRow, PostingRow.id == OrderRow.posting_id)
            .where(*in_range, PostingRow.kind == PostingKind.PURCHASE.value)
            .subquery()
        )
        by_category = session.execute(
            select(purchases.c.category, func.count(), func.sum(purchases.c.amount_fen))
            .group_by(purchases.c.category)
            .order_by(func.sum(purchases.c.amount_fen).desc())
        ).all()
        room = func.coalesce(purchases.c.room_id, "")
        by_room = session.execute(
            select(room, func.count(), func.sum(purchases.c.amount_fen))
            .group_by(room)
            .order_by(func.sum(purchases.c.amount_fen).desc())
        ).all()
        # A top-up debits the account the money came in on (venue:cash today; other channels add their own
        # account or memo): group by both, so a new channel shows up without a change here.
        topups = session.execute(
            select(EntryRow.account_id, PostingRow.memo, func.count(), func.sum(EntryRow.amount_fen))
            .join(PostingRow, PostingRow.id == EntryRow.posting_id)
            .where(*in_range, PostingRow.kind == PostingKind.TOPUP.value, EntryRow.amount_fen > 0)
            .group_by(EntryRow.account_id, PostingRow.memo)
            .order_by(EntryRow.account_id, PostingRow.memo)
        ).all()
        events = session.execute(
            select(AuditRow.action, func.count())
            .where(AuditRow.at >= start, AuditRow.at < end, AuditRow.action.in_(REPORTED_ACTIONS))
            .group_by(AuditRow.action)
        ).all()
    counted = {a: int(n) for a, n in events}
    return Report(
        start=start,
        end=end,
        by_kind=tuple(Line(str(k), int(n), int(s)) for k, n, s in by_kind),
        revenue_by_category=tuple(Line(str(c), int(n), int(s)) for c, n, s in by_category),
        revenue_by_room=tuple(Line(str(r), int(n), int(s)) for r, n, s in by_room),
        topups_by_channel=tuple(Line(f"{a} · {m}" if m else str(a), int(n), int(s)) for a, m, n, s in topups),
        events=tuple(Line(a, counted[a]) for a in REPORTED_ACTIONS if a in counted),
    )
