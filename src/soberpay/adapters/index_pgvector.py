"""1:N search inside PostgreSQL with pgvector: the ``TemplateIndex`` every API node shares.

Each template's unit search vector sits in ``face_template_vectors`` beside its encrypted row (written
in the enrolment transaction, deleted with it by ``ON DELETE CASCADE``), so a search in any process
sees exactly the committed gallery: no reload, no generation check. The HNSW index is built on the
vectors quantised to ``halfvec`` (half the memory and I/O of the graph); the top ``candidates`` rows
it returns are re-ranked by the exact float32 inner product in the same query, then the best score
per guest is taken here.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
from sqlalchemy import Engine, text

from soberpay.adapters.index import normalise
from soberpay.errors import ConfigError
from soberpay.ports import Embedding, IndexHit

__all__ = ["SEARCH_DIM", "PgVectorTemplateIndex", "backfill_vectors", "missing_vectors", "vector_literal"]

SEARCH_DIM = 128  # every shipped embedder is 128-d; the column and its HNSW index are typed to it

_SEARCH = text(
    f"""
    SELECT guest_id, -(embedding <#> CAST(:q AS vector({SEARCH_DIM}))) AS score
    FROM (
        SELECT guest_id, embedding FROM face_template_vectors WHERE embedder = :embedder
        ORDER BY CAST(embedding AS halfvec({SEARCH_DIM})) <#> CAST(:q AS halfvec({SEARCH_DIM}))
        LIMIT :candidates
    ) AS near
    ORDER BY score DESC
    """
)


def vector_literal(embedding: Embedding) -> str:
    """pgvector's text form of a unit vector (``[x1,x2,…]``), float32 round-trip exact."""
    return "[" + ",".join(repr(float(x)) for x in normalise(embedding, SEARCH_DIM).tolist()) + "]"


class PgVectorTemplateIndex:
    def __init__(self, engine: Engine, embedder: str, *, ef_search: int = 100, candidates: int = 100) -> None:
        if engine.dialect.name != "postgresql":
            raise ConfigError("index = 'pgvector' needs a PostgreSQL database_url")
        self._engine = engine
        self._embedder = embedder
        self._ef_search = ef_search
        self._candidates = candidates
        with engine.connect() as conn:
            if conn.scalar(text("SELECT to_regclass('face_template_vectors')")) is None:
                raise ConfigError(
                    "index = 'pgvector' needs the pgvector extension and the face_template_vectors table: "
                    "install pgvector on the server, then run `soberpay migrate`"
                )

    def __len__(self) -> int:
        """Templates searched. Above 100k it is the planner's row estimate (a count would scan the table
        on every identification); the gallery-size threshold needs only the order of magnitude."""
        with self._engine.connect() as conn:
            estimate = conn.scalar(text("SELECT reltuples FROM pg_class WHERE oid = 'face_template_vectors'::regclass"))
            if estimate is not None and estimate > 100_000:
                return int(estimate)
            sql = text("SELECT count(*) FROM face_template_vectors WHERE embedder = :e")
            return int(conn.scalar(sql, {"e": self._embedder}) or 0)

    def search(self, embedding: Embedding, k: int = 2) -> list[IndexHit]:
        if k <= 0:
            return []
        q = vector_literal(embedding)
        with self._engine.begin() as conn:
            # SET LOCAL: the search breadth applies to this transaction only, not the pooled connection.
            conn.execute(text("SELECT set_config('hnsw.ef_search', :ef, true)"), {"ef": str(self._ef_search)})
            rows = conn.execute(
                _SEARCH, {"q": q, "embedder": self._embedder, "candidates": max(self._candidates, 4 * k)}
            ).all()
        best: dict[str, float] = {}
        for guest_id, score in rows:  # rows are best first: the first score seen per guest is its best
            best.setdefault(str(guest_id), float(np.float32(score)))
        return [IndexHit(key=g, score=s) for g, s in list(best.items())[:k]]


# --- templates enrolled before the search column existed --------------------------------------------

_MISSING = """
    FROM face_templates t
    WHERE NOT EXISTS (SELECT 1 FROM face_template_vectors v WHERE v.template_id = t.id)
"""

Decrypt = Callable[[str, bytes, str, str], Embedding]  # (key_id, blob, guest_id, embedder) → plaintext vector


def missing_vectors(engine: Engine) -> int:
    """Templates that have no search vector (enrolled before ``index = "pgvector"``): invisible to 1:N."""
    with engine.connect() as conn:
        return int(conn.scalar(text("SELECT count(*) " + _MISSING)) or 0)


def backfill_vectors(
    engine: Engine, decrypt: Decrypt, *, batch_size: int = 500, progress: Callable[[int], None] | None = None
) -> int:
    """Write the search vector of every template that lacks one; returns how many templates it processed.

    Each batch is its own transaction (decrypt, insert, commit): an interrupted run keeps what it
    committed and the next run starts from the templates still missing, so it is resumable and
    idempotent. ``ON CONFLICT DO NOTHING`` lets it run beside live enrolments, which write their own
    vector; a template erased meanwhile takes its vector with it (the foreign key cascades)."""
    written, after = 0, 0
    select_batch = text(
        "SELECT t.id, t.guest_id, t.embedder, t.key_id, t.blob "
        + _MISSING
        + " AND t.id > :after ORDER BY t.id LIMIT :n"
    )
    insert = text(
        "INSERT INTO face_template_vectors (template_id, guest_id, embedder, embedding) "
        "SELECT :id, :guest_id, :embedder, CAST(:v AS vector) "
        "WHERE EXISTS (SELECT 1 FROM face_templates WHERE id = :id) "
        "ON CONFLICT (template_id) DO NOTHING"
    )
    while True:
        with engine.begin() as conn:
            rows = conn.execute(select_batch, {"after": after, "n": batch_size}).all()
            if not rows:
                return written
            params = [
                {"id": i, "guest_id": g, "embedder": e, "v": vector_literal(decrypt(k, bytes(b), g, e))}
                for i, g, e, k, b in rows
            ]
            conn.execute(insert, params)
        after = int(rows[-1][0])
        written += len(rows)
        if progress is not None:
            progress(len(rows))
