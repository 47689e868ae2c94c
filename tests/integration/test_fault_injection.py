"""Fail the database at every statement N of a purchase, a pending confirmation, a top-up, a void and an erasure.

Each operation first runs once without faults on a copy of a prepared database (counting its T
statements, COMMIT included). Then, for every N in 1..T, a fresh copy runs it with statement N failing:
the call must end in a clean ``Unavailable`` with nothing written (the snapshot equals the one before),
and the same call retried once the fault clears must be done exactly once (the snapshot equals the
fault-free run's). The books must balance in every snapshot. Parameters come from a seed printed on
failure; ``SOBERPAY_FAULT_SEED=<seed>`` replays it.
"""

from __future__ import annotations

import random
import shutil
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from soberpay.adapters.clock import ManualClock
from soberpay.adapters.db.migrate import upgrade
from soberpay.bootstrap import Container
from soberpay.config import Settings
from soberpay.errors import NotFound, Unavailable
from tests.fakes import FakeAnalyser
from tests.support.faults import StatementFaults, seed_for, snapshot

PASSWORD = "246810"


@dataclass(frozen=True)
class Scenario:
    name: str
    prepare: Callable[[Container, random.Random], dict[str, Any]]
    run: Callable[[Container, dict[str, Any]], object]
    # A retry after success must replay (payments) or say the work is already done (erasure).
    done_again: tuple[type[Exception], ...] = ()


def _guest(c: Container, rnd: random.Random, balance_fen: int) -> str:
    phone = f"139{rnd.randrange(10**8):08d}"
    g = c.identity.register(name="Fault Guest", phone=phone, national_id="11010519491231002X", password=PASSWORD)
    c.payments.topup(g.id, balance_fen, f"prep-topup-{rnd.randrange(10**9)}")
    return g.id


def _prep_purchase(c: Container, rnd: random.Random) -> dict[str, Any]:
    return {"guest": _guest(c, rnd, rnd.randrange(5_000, 50_000)), "sku": rnd.choice(["cola", "beer-tsingtao"])}


def _prep_pending(c: Container, rnd: random.Random) -> dict[str, Any]:
    gid = _guest(c, rnd, 100_000)
    c.payments.staff_tag(gid, "staff judgement", "amy")
    pending = c.payments.purchase(gid, rnd.choice(["whisky-jw-red", "fruit-large"]), 1, "prep-suspend-01").pending_id
    c.payments.staff_untag(gid, "recovered, checked in person", "amy")
    return {"guest": gid, "pending": pending}


def _prep_erasure(c: Container, rnd: random.Random) -> dict[str, Any]:
    gid = _guest(c, rnd, 10_000)
    c.identity.grant_consent(gid, "sobriety_monitoring")
    c.payments.purchase(gid, "cola", rnd.randint(1, 3), "prep-buy-0001")
    return {"guest": gid}


def _prep_void(c: Container, rnd: random.Random) -> dict[str, Any]:
    gid = _guest(c, rnd, 10_000)
    order = c.payments.purchase(gid, rnd.choice(["cola", "popcorn"]), rnd.randint(1, 3), "prep-buy-0002").order_id
    return {"order": order}


SCENARIOS = [
    Scenario("purchase", _prep_purchase, lambda c, x: c.payments.purchase(x["guest"], x["sku"], 2, "fault-buy-0001")),
    Scenario(
        "pending confirmation",
        _prep_pending,
        lambda c, x: c.payments.confirm_pending(x["pending"], "fault-confirm-01", password=PASSWORD),
    ),
    Scenario(
        "top-up", lambda c, rnd: {"guest": _guest(c, rnd, 1_000), "fen": rnd.randrange(100, 100_000)},
        lambda c, x: c.payments.topup(x["guest"], x["fen"], "fault-topup-001"),
    ),
    Scenario(  # refund posting, order total and the cancelled delivery: together or not at all
        "void", _prep_void, lambda c, x: c.payments.void(x["order"], "guest changed mind", "boss", "fault-void-001")
    ),
    Scenario("erasure", _prep_erasure, lambda c, x: c.identity.erase(x["guest"]), done_again=(NotFound,)),
]


def _open(tmp: Path, db: Path) -> Container:
    settings = Settings(data_dir=tmp / "var", env="test", database_url=f"sqlite:///{db}")
    settings.payment.use_behaviour_model = False  # the fake-free LSTM adds nothing to the statement sequence
    return Container(settings, clock=ManualClock(), analyser=FakeAnalyser()).open(migrate=False)


def _copy(template: Path, to: Path) -> Path:
    shutil.copyfile(template, to)
    return to


def sweep(scenario: Scenario, tmp: Path, seed: int) -> int:
    """Runs the scenario with a fault at every statement; returns the number of statements swept."""
    rnd = random.Random(seed)
    template = tmp / "template.db"
    upgrade(f"sqlite:///{template}")
    c = _open(tmp, template)
    ctx = scenario.prepare(c, rnd)
    c.close()  # the last connection closing checkpoints the WAL into the file copied below
    before = snapshot(_open(tmp, template).engine)

    c = _open(tmp, _copy(template, tmp / "clean.db"))
    faults = StatementFaults(c.engine)
    faults.arm(None)
    scenario.run(c, ctx)
    total = faults.count
    after = snapshot(c.engine)
    assert after != before, "the operation wrote nothing"
    c.close()

    for n in range(1, total + 1):
        c = _open(tmp, _copy(template, tmp / f"fault-{n}.db"))
        faults = StatementFaults(c.engine)
        faults.arm(n)
        try:
            scenario.run(c, ctx)
        except Unavailable:
            assert faults.fired
            assert snapshot(c.engine) == before, f"statement {n}/{total}: a failed call left rows behind"
        else:
            assert snapshot(c.engine) == after, f"statement {n}/{total}: the fault was swallowed"
        faults.disarm()
        try:
            scenario.run(c, ctx)  # the client's retry with the same key
        except scenario.done_again:
            pass
        assert snapshot(c.engine) == after, f"statement {n}/{total}: the retry did not end done exactly once"
        c.close()
        (tmp / f"fault-{n}.db").unlink()
    return total


@pytest.mark.parametrize("scenario", SCENARIOS, ids=lambda s: s.name)
def test_a_fault_at_every_statement_is_clean_or_done_once(scenario: Scenario, tmp_path: Path) -> None:
    seed = seed_for()
    try:
        total = sweep(scenario, tmp_path, seed)
    except AssertionError as exc:
        raise AssertionError(f"{scenario.name}: replay with SOBERPAY_FAULT_SEED={seed}: {exc}") from exc
    assert total >= 5  # the sweep really covered a multi-statement transaction
    print(f"{scenario.name}: fault at each of {total} statements, seed {seed}: clean or done once")
