"""CLI commands for the 1:N index: back-fill the pgvector search column (docs/scaling.md)."""

from __future__ import annotations

import typer
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn

from soberpay.cli._apps import app
from soberpay.cli._common import console, get_container, handle_errors
from soberpay.errors import ConfigError
from soberpay.ports import Embedding

index_app = typer.Typer(help="The 1:N search index.", no_args_is_help=True)
app.add_typer(index_app, name="index")


@index_app.command("backfill")
@handle_errors
def backfill(batch_size: int = typer.Option(500, min=1, max=10_000, help="templates per transaction")) -> None:
    """Write the search vector of templates enrolled before ``index = "pgvector"`` (resumable: rerun after
    an interruption; a second run finds nothing to do)."""
    from soberpay.adapters.embeddings import Float32EmbeddingCodec
    from soberpay.adapters.index_pgvector import backfill_vectors, missing_vectors
    from soberpay.services.identity import template_aad

    c = get_container()
    if c.settings.index != "pgvector":
        raise ConfigError("index backfill is for index = 'pgvector' (the in-process indexes load every template)")
    codec = Float32EmbeddingCodec()

    def decrypt(key_id: str, blob: bytes, guest_id: str, embedder: str) -> Embedding:
        return codec.from_bytes(c.cipher.decrypt(key_id, blob, template_aad(guest_id, embedder)))

    todo = missing_vectors(c.engine)
    with Progress(
        TextColumn("search vectors"), BarColumn(), MofNCompleteColumn(), TimeRemainingColumn(), console=console
    ) as bar:
        task = bar.add_task("backfill", total=todo)
        done = backfill_vectors(c.engine, decrypt, batch_size=batch_size, progress=lambda n: bar.advance(task, n))
    console.print(f"{done} templates given a search vector; {missing_vectors(c.engine)} still missing")
