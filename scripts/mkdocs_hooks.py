"""MkDocs hook: the reference pages are generated from the code at build time, so they cannot drift.

A page asks for a generated block with a marker line ``<!-- soberpay:NAME -->``:

- ``settings``: every ``Settings`` field, nested sections included (env var, TOML key, type, default,
  bounds, description), read from the pydantic model;
- ``openapi``: the HTTP API from the FastAPI OpenAPI document of an app built on a throwaway data dir;
- ``cli``: every ``soberpay`` command, walked through the click tree typer builds;
- ``model-cards``: the model cards shipped under ``src/soberpay/models/`` (Markdown cards verbatim,
  JSON cards flattened into tables) with the plots that sit next to them.

Nothing here needs the network; the whole build takes a few seconds.
"""

from __future__ import annotations

import json
import sys
import tempfile
import types
from collections.abc import Callable, Iterator
from functools import cache
from pathlib import Path
from typing import Any

import annotated_types
from mkdocs.config.defaults import MkDocsConfig
from mkdocs.structure.files import File, Files
from mkdocs.structure.pages import Page
from pydantic import BaseModel
from pydantic.fields import FieldInfo
from pydantic_core import PydanticUndefined

ROOT = Path(__file__).resolve().parents[1]
# Document the checkout being built, even when the environment's soberpay is installed from elsewhere.
sys.path.insert(0, str(ROOT / "src"))
MODELS_DIR = ROOT / "src" / "soberpay" / "models"
# Plots shipped beside the model cards are published under this docs path (they live in the package).
MODEL_FILES_URI = "model-files"


def cell(value: object) -> str:
    """One Markdown table cell: no line breaks, no bare pipes."""
    return " ".join(str(value).split()).replace("|", "\\|")


def table(header: list[str], rows: list[list[str]]) -> str:
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    lines += ["| " + " | ".join(cell(c) for c in row) + " |" for row in rows]
    return "\n".join(lines) + "\n"


# --- settings -----------------------------------------------------------------------------------------


def type_name(annotation: Any) -> str:
    if isinstance(annotation, type) and not isinstance(annotation, types.GenericAlias):
        return annotation.__name__
    # "or" instead of "|": a pipe inside a table cell's code span would show its escape backslash.
    return str(annotation).replace("typing.", "").replace("pathlib.", "").replace(" | ", " or ")


def bounds(info: FieldInfo) -> str:
    parts = []
    for meta in info.metadata:
        if isinstance(meta, annotated_types.Ge):
            parts.append(f"≥ {meta.ge}")
        elif isinstance(meta, annotated_types.Gt):
            parts.append(f"> {meta.gt}")
        elif isinstance(meta, annotated_types.Le):
            parts.append(f"≤ {meta.le}")
        elif isinstance(meta, annotated_types.Lt):
            parts.append(f"< {meta.lt}")
    return ", ".join(parts)


def default(info: FieldInfo) -> str:
    if info.default_factory is not None:
        value: Any = info.default_factory()  # type: ignore[call-arg]
    elif info.default is PydanticUndefined:
        return "required"
    else:
        value = info.default
    if value is None:
        return "unset"
    return f"`{value}`" if isinstance(value, Path) else f"`{value!r}`"


def settings_rows(model: type[BaseModel], env_prefix: str, toml_prefix: str) -> Iterator[tuple[str, list[str]]]:
    """(section, row) for every leaf field; nested models become their own section."""
    section = toml_prefix.rstrip(".") or "top level"
    for name, info in model.model_fields.items():
        annotation = info.annotation
        if isinstance(annotation, type) and issubclass(annotation, BaseModel):
            yield from settings_rows(annotation, f"{env_prefix}{name.upper()}__", f"{toml_prefix}{name}.")
            continue
        setting = f"`{name}`<br>`{env_prefix}{name.upper()}`"
        yield section, [setting, f"`{type_name(annotation)}`", default(info), bounds(info), info.description or "—"]


def settings_markdown() -> str:
    from soberpay.config import Settings

    sections: dict[str, list[list[str]]] = {}
    for section, row in settings_rows(Settings, "SOBERPAY_", ""):
        sections.setdefault(section, []).append(row)
    out = []
    header = ["key / environment variable", "type", "default", "bounds", "description"]
    for section, rows in sections.items():
        title = "Top level" if section == "top level" else f"`[{section}]`"
        out.append(f"### {title}\n\n{table(header, rows)}")
    return "\n".join(out)


# --- HTTP API -----------------------------------------------------------------------------------------


@cache
def openapi_document() -> dict[str, Any]:
    from soberpay.bootstrap import build_container
    from soberpay.config import Settings
    from soberpay.web.app import create_app

    with tempfile.TemporaryDirectory() as data_dir:
        container = build_container(Settings(data_dir=Path(data_dir)))
        document: dict[str, Any] = create_app(container, run_rooms=False).openapi()
    return document


def schema_type(schema: dict[str, Any]) -> str:
    if "$ref" in schema:
        name = schema["$ref"].rsplit("/", 1)[-1]
        return f"[{name}](#{name.lower()})"
    if "anyOf" in schema:
        return " or ".join(schema_type(s) for s in schema["anyOf"])
    if "enum" in schema:
        return " or ".join(f"`{json.dumps(v)}`" for v in schema["enum"])
    kind = schema.get("type", "any")
    if kind == "array":
        return f"array of {schema_type(schema.get('items', {}))}"
    extra = schema.get("additionalProperties")
    if kind == "object" and isinstance(extra, dict):  # JSON Schema also allows a bare true/false here
        return f"object of {schema_type(extra)}"
    fmt = schema.get("format")
    return f"{kind} ({fmt})" if fmt else str(kind)


def constraints(schema: dict[str, Any]) -> str:
    keys = {
        "minimum": "≥",
        "exclusiveMinimum": ">",
        "maximum": "≤",
        "exclusiveMaximum": "<",
        "minLength": "min length",
        "maxLength": "max length",
        "minItems": "min items",
        "maxItems": "max items",
        "pattern": "pattern",
    }
    parts = [
        f"{label} `{schema[k]}`" if k == "pattern" else f"{label} {schema[k]}"
        for k, label in keys.items()
        if k in schema
    ]
    if "default" in schema:
        parts.append(f"default `{json.dumps(schema['default'])}`")
    return ", ".join(parts)


def operation_markdown(path: str, method: str, op: dict[str, Any]) -> str:
    out = [f"### `{method.upper()} {path}`\n"]
    if op.get("summary"):
        out.append(f"**{op['summary']}**" + (f" · tags: {', '.join(op['tags'])}" if op.get("tags") else "") + "\n")
    if op.get("description"):
        out.append(op["description"].strip() + "\n")
    params = [
        [
            f"`{p['name']}`",
            p["in"],
            "yes" if p.get("required") else "no",
            schema_type(p.get("schema", {})),
            p.get("description") or p.get("schema", {}).get("description", ""),
        ]
        for p in op.get("parameters", [])
    ]
    if params:
        out.append(table(["parameter", "in", "required", "type", "description"], params))
    body = op.get("requestBody")
    if body:
        for media, content in body.get("content", {}).items():
            out.append(f"Request body (`{media}`): {schema_type(content.get('schema', {}))}\n")
    responses = []
    for status, response in sorted(op.get("responses", {}).items()):
        kinds = [schema_type(c.get("schema", {})) for c in response.get("content", {}).values()]
        responses.append([f"`{status}`", response.get("description", ""), ", ".join(k for k in kinds if k != "any")])
    out.append(table(["status", "meaning", "body"], responses))
    return "\n".join(out)


def schema_markdown(name: str, schema: dict[str, Any]) -> str:
    out = [f"### {name}\n"]
    if schema.get("description"):
        out.append(schema["description"].strip() + "\n")
    required = set(schema.get("required", []))
    rows = [
        [
            f"`{prop}`",
            schema_type(spec),
            "yes" if prop in required else "no",
            constraints(spec),
            spec.get("description", ""),
        ]
        for prop, spec in schema.get("properties", {}).items()
    ]
    if rows:
        out.append(table(["field", "type", "required", "constraints", "description"], rows))
    elif "enum" in schema:
        out.append(f"One of {schema_type(schema)}.\n")
    return "\n".join(out)


def openapi_markdown() -> str:
    document = openapi_document()
    methods = ("get", "post", "put", "patch", "delete")
    out = [
        f"## Endpoints\n\n{document['info']['title']} {document['info']['version']}: {len(document['paths'])} paths.\n"
    ]
    by_tag: dict[str, list[str]] = {}
    for path, item in document["paths"].items():
        for method in methods:
            if method in item:
                tag = (item[method].get("tags") or ["other"])[0]
                by_tag.setdefault(tag, []).append(operation_markdown(path, method, item[method]))
    for tag, operations in by_tag.items():
        out.append(f"## {tag.capitalize()}\n")
        out.extend(operations)
    out.append("## Schemas\n")
    for name, schema in document.get("components", {}).get("schemas", {}).items():
        out.append(schema_markdown(name, schema))
    return "\n".join(out)


# --- CLI ----------------------------------------------------------------------------------------------


# typer vendors its own copy of click (``typer._click``), so the command tree is walked by duck typing
# (click's public interface: params, list_commands, get_command, context_class) rather than isinstance.


def param_row(param: Any, ctx: Any) -> list[str]:
    """The same declaration and details ``--help`` prints (type, default, range, required)."""
    record = param.get_help_record(ctx)
    declaration, details = record if record else (param.name, "")
    help_text = param.help or ""
    details = details.removeprefix(help_text).strip()
    kind = "argument" if param.param_type_name == "argument" else "option"
    # A pipe inside a code span in a table cell would show its escape backslash.
    declaration = declaration.replace("|", "/")
    return [f"`{declaration}`", kind, help_text, details.replace("[", "").replace("]", "")]


def command_markdown(command: Any, path: list[str], parent: Any) -> Iterator[str]:
    ctx = command.context_class(command, info_name=path[-1], parent=parent)
    if command.hidden:
        return
    if len(path) > 1:
        level = "#" * min(len(path), 4)
        out = [f"{level} `{' '.join(path)}`\n"]
        if command.help:
            out.append(command.help.replace("\\[", "[").strip() + "\n")
        out.append(f"```\n{command.get_usage(ctx)}\n```\n")
        rows = [param_row(p, ctx) for p in command.get_params(ctx) if p.name != "help"]
        if rows:
            out.append(table(["parameter", "kind", "help", "details"], rows))
        yield "\n".join(out)
    if hasattr(command, "list_commands"):
        for name in command.list_commands(ctx):
            sub = command.get_command(ctx, name)
            if sub is not None:
                yield from command_markdown(sub, [*path, name], ctx)


def cli_markdown() -> str:
    import typer

    from soberpay.cli import app

    text = "\n".join(command_markdown(typer.main.get_command(app), ["soberpay"], None))
    return text.replace(f"{ROOT}/", "")  # defaults inside the checkout read as repository paths


# --- model cards --------------------------------------------------------------------------------------


def flatten(value: Any, prefix: str = "") -> Iterator[tuple[str, str]]:
    if isinstance(value, dict):
        for key, item in value.items():
            yield from flatten(item, f"{prefix}.{key}" if prefix else str(key))
    elif isinstance(value, list) and (len(value) > 12 or any(isinstance(v, dict | list) for v in value)):
        yield prefix, f"list of {len(value)} (see the file)"
    elif isinstance(value, float):
        yield prefix, f"{value:.4g}"
    else:
        yield prefix, json.dumps(value, ensure_ascii=False) if isinstance(value, list) else str(value)


def model_cards_markdown() -> str:
    out = []
    for folder in sorted(p for p in MODELS_DIR.iterdir() if p.is_dir()):
        out.append(f"## `{folder.name}`\n")
        files = sorted(p for p in folder.iterdir() if p.is_file())
        out.append("Files: " + ", ".join(f"`{p.name}` ({p.stat().st_size / 1024:.0f} KB)" for p in files) + "\n")
        for card in files:
            if card.suffix == ".md":
                text = card.read_text(encoding="utf-8")
                # The card's own title becomes a sub-heading of this folder's section.
                out.append(text.replace("# ", "### ", 1) if text.startswith("# ") else text)
            elif card.suffix == ".json" and card.name != "cv_predictions.json":
                rows = [[f"`{k}`", v] for k, v in flatten(json.loads(card.read_text(encoding="utf-8")))]
                block = table(["field", "value"], rows)
                out.append(f'??? info "`{card.name}`: every field"\n\n' + indent(block) + "\n")
            elif card.suffix == ".png":
                out.append(f"![{folder.name}/{card.name}](../{MODEL_FILES_URI}/{folder.name}/{card.name})\n")
    return "\n".join(out)


def indent(text: str) -> str:
    return "\n".join(f"    {line}" if line else "" for line in text.splitlines())


# --- hooks --------------------------------------------------------------------------------------------

GENERATORS: dict[str, Callable[[], str]] = {
    "settings": settings_markdown,
    "openapi": openapi_markdown,
    "cli": cli_markdown,
    "model-cards": model_cards_markdown,
}


def on_files(files: Files, config: MkDocsConfig) -> Files:
    """Publish the plots that live beside the model cards in the package."""
    for image in sorted(MODELS_DIR.glob("*/*.png")):
        uri = f"{MODEL_FILES_URI}/{image.parent.name}/{image.name}"
        files.append(File.generated(config, uri, abs_src_path=str(image)))
    return files


def on_page_markdown(markdown: str, page: Page, config: MkDocsConfig, files: Files) -> str:
    lines = []
    for line in markdown.splitlines():
        stripped = line.strip()
        if stripped.startswith("<!-- soberpay:") and stripped.endswith("-->"):
            name = stripped.removeprefix("<!-- soberpay:").removesuffix("-->").strip()
            if name not in GENERATORS:
                raise ValueError(f"{page.file.src_uri}: unknown generated block {name!r}")
            lines.append(GENERATORS[name]())
        else:
            lines.append(line)
    return "\n".join(lines)
