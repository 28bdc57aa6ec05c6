"""Generate the docs site's derived pages: README sections, the catalog, the API reference.

Every page written here is derived from a single source of truth, so the site cannot drift:
the quick start and guides are sections of README.md (cut at its headings) plus module
docstrings rendered by mkdocstrings, each catalog page is one entry of
`climb/catalog/entries/*.yaml` read through the catalog's own loader (with the builders that
prepare it, from the builder registry), and the API pages reference whole modules, so a
renamed function never leaves a stale page behind.

Used as an MkDocs hook (`hooks:` in mkdocs.yml): `on_files` adds the pages in memory with
`File.generated`, nothing is written into docs/. MkDocs >= 1.6 does this natively, so no
mkdocs-gen-files plugin is needed. Run as a script to write the pages to a folder for
inspection: `python scripts/gen_docs.py OUT_DIR`.
"""

from __future__ import annotations

import posixpath
import re
import sys
from collections.abc import Iterable
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
README = REPO / "README.md"

#: The modules of the API reference, one page each (whole modules: robust to renamed members).
API_MODULES = (
    "climb", "climb.catalog", "climb.acquire", "climb.prepare", "climb.loading", "climb.models",
    "climb.train", "climb.evaluate", "climb.benchmark", "climb.report",
)

HOME_LINKS = """
- [Quick start](quickstart.md): install, the offline demo, the commands
- Guides: [run a suite](guides/run-a-suite.md), [scale out](guides/scale-out.md),
  [credentials](guides/credentials.md), [add a dataset](guides/add-a-dataset.md)
- [Catalog](catalog/index.md): every dataset, its labels, splits, access, licence and builders
- [Architecture](architecture.md) and the [API reference](api/climb.md)
"""

_LINK = re.compile(r"(?<!!)\[([^\]]*)\]\(([^)\s]+)\)")
_HEADING = re.compile(r"^(#{1,6})\s+(.*?)\s*$")
_MD_SPECIAL = re.compile(r"([\\*_\[\]<>|#])")
_CODE_SPAN = re.compile(r"(`[^`]*`)")


class DocsError(RuntimeError):
    """A derived page cannot be generated (missing README section, unknown link target)."""


# ------------------------------------------------------------------ README sections


def readme_section(title: str, *, subsections: bool = True, text: str | None = None) -> str:
    """The body of README's section headed `title` (to the next heading of its level or above).

    `subsections=False` stops at the first deeper heading too. Heading levels are shifted so
    the section's own subsections start at `##` on the page.
    """
    lines = (README.read_text(encoding="utf-8") if text is None else text).splitlines()
    fence = False
    level: int | None = None  # the section's heading level, once found
    body: list[str] = []
    for line in lines:
        fence ^= line.lstrip().startswith("```")
        match = None if fence or line.lstrip().startswith("```") else _HEADING.match(line)
        if level is None:
            if match and match.group(2) == title:
                level = len(match.group(1))
            continue
        if match and (len(match.group(1)) <= level or not subsections):
            break
        if match:
            line = "#" * (len(match.group(1)) - level + 1) + " " + match.group(2)
        body.append(line)
    if level is None:
        raise DocsError(f"README.md has no section headed {title!r} (the docs site quotes it)")
    return "\n".join(body).strip() + "\n"


def readme_intro(text: str | None = None) -> str:
    """README's opening paragraphs, between the title and the first `##` heading."""
    lines = (README.read_text(encoding="utf-8") if text is None else text).splitlines()
    body = []
    for line in lines[1:]:
        if line.startswith("## "):
            break
        body.append(line)
    return "\n".join(body).strip() + "\n"


def rebase_readme_links(markdown: str, page: str) -> str:
    """Rewrite README-relative links (`docs/x.md`) relative to `page`; other repo paths fail."""

    def fix(match: re.Match[str]) -> str:
        label, target = match.groups()
        if re.match(r"^[a-z]+:|^#", target):
            return match.group(0)
        if not target.startswith("docs/"):
            raise DocsError(f"README.md links to {target!r}, which is not part of the docs site")
        rel = posixpath.relpath(target[len("docs/"):], posixpath.dirname(page) or ".")
        return f"[{label}]({rel})"

    return _LINK.sub(fix, markdown)


# ------------------------------------------------------------------ catalog pages


def md_escape(text: str) -> str:
    """Free text (labels, citations, notes) shown literally, never as Markdown markup.

    `code spans` are kept as code (their content is literal already); the rest is escaped.
    """
    parts = _CODE_SPAN.split(" ".join(str(text).split()))
    return "".join(part if i % 2 else _MD_SPECIAL.sub(r"\\\1", part) for i, part in enumerate(parts))


def _enum(value: object) -> str:
    return str(getattr(value, "value", value))


def _builder_rows(builder_names: Iterable[str]) -> list[str]:
    from climb.prepare.builder import create_builder

    rows = ["| builder | task | labels | fields | splits | version |", "|---|---|---|---|---|---|"]
    for name in builder_names:
        b = create_builder(name)
        fields = ", ".join(f"`{f}` ({kind})" for f, kind in b.fields.items())
        splits = b.split_policy if not b.split_fractions else ", ".join(
            f"{k} {v:g}" for k, v in b.split_fractions.items())
        rows.append(f"| `{name}` | {_enum(b.task)} | {len(b.label_names)} | {fields} | "
                    f"{md_escape(splits)} | {md_escape(b.version)} |")
    return rows


def _source_lines(entry) -> list[str]:
    out = []
    for source in entry.sources:
        facts = [f"**{_enum(source.kind)}**"]
        if source.base_url:
            facts.append(f"<{source.base_url}>")
        if source.kaggle:
            facts.append(f"Kaggle `{source.kaggle}`")
        if source.zenodo_record:
            facts.append(f"Zenodo record {source.zenodo_record}")
        if source.manifest:
            pinned = " (pinned sha256)" if source.manifest_sha256 else ""
            facts.append(f"checksum manifest `{source.manifest}`{pinned}")
        if source.files:
            facts.append(f"{len(source.files)} listed file(s)")
        if source.include:
            facts.append("files " + ", ".join(f"`{g}`" for g in source.include))
        line = "- " + "; ".join(facts)
        if source.instructions:
            line += f"  \n  {md_escape(source.instructions)}"
        out.append(line)
    return out or ["- none listed: see the homepage"]


def catalog_page(entry) -> str:
    """The page of one catalog entry: its facts, how to get it and the builders that prepare it."""
    from climb.catalog.schema import Access
    from climb.prepare.builder import builders_for

    split_counts = ", ".join(f"{k} {v:,}" for k, v in entry.splits.model_dump().items()
                             if k != "unit" and v is not None)
    builders = builders_for(entry.id)
    access_note = "" if entry.access == Access.open else " (see [Credentials](../guides/credentials.md))"
    lines = [
        f"# {md_escape(entry.name)}",
        "",
        f"`{entry.id}` · {md_escape(entry.modality)} · {md_escape(entry.domain)}",
        "",
        "| | |",
        "|---|---|",
        f"| family | {_enum(entry.family)} |",
        f"| task | {_enum(entry.task)} |",
        f"| splits (as published) | {split_counts or 'not stated'} ({md_escape(entry.splits.unit)}) |",
        f"| access | {_enum(entry.access)}{access_note} |",
        f"| licence | {md_escape(entry.license)} |",
        f"| homepage | <{entry.homepage}> |",
        f"| in the CLIMB paper's collection | {'yes' if entry.in_climb else 'no'} |",
        "",
        f"## Labels ({len(entry.labels)})",
        "",
        *(f"{i}. {md_escape(label)}" for i, label in enumerate(entry.labels, 1)),
        "",
        "## Citation",
        "",
        f"> {md_escape(entry.citation)}",
        "",
        "## Sources",
        "",
        *_source_lines(entry),
        "",
        "## Get and prepare it",
        "",
    ]
    if builders:
        lines += ["```bash", f"climb download {entry.id}", f"climb prepare {builders[0]}", "```", "",
                  "Builders that prepare it (`climb prepare NAME`, `climb.load(NAME, split)`):", "",
                  *_builder_rows(builders)]
    else:
        lines += [f"No builder prepares `{entry.id}` yet: `climb download {entry.id}` fetches and "
                  "verifies its files; there is no prepared form to load."]
    if entry.notes:
        lines += ["", "## Notes", "", md_escape(entry.notes)]
    return "\n".join(lines) + "\n"


def catalog_index(entries: list) -> str:
    """The catalog overview: counts by family and access, then every entry linked to its page."""
    from climb.catalog.summary import counts

    lines = ["# Catalog", "",
             f"{len(entries)} datasets, one page each, generated from `climb/catalog/entries/*.yaml` "
             "(the same entries `climb datasets` and `climb info ID` show).", ""]
    for dimension, title in (("family", "Modality family"), ("access", "Access")):
        lines += [f"| {title} | datasets |", "|---|---|"]
        lines += [f"| {row.value} | {row.datasets} |" for row in counts(entries, dimension).itertuples()]
        lines.append("")
    lines += ["| dataset | name | modality | task | access |", "|---|---|---|---|---|"]
    lines += [f"| [`{e.id}`]({e.id}.md) | {md_escape(e.name)} | {md_escape(e.modality)} | "
              f"{_enum(e.task)} | {_enum(e.access)} |" for e in entries]
    return "\n".join(lines) + "\n"


# ------------------------------------------------------------------ guides and API


def _module_docstring(module: str) -> str:
    """A mkdocstrings block rendering a module's docstring only."""
    return f"::: {module}\n    options:\n      members: false\n"


def suites_table() -> str:
    from importlib import resources

    from climb.benchmark.suite import shipped_suites

    rows = ["| suite | what it runs |", "|---|---|"]
    for name in shipped_suites():
        text = (resources.files("climb.suites") / f"{name}.yaml").read_text(encoding="utf-8")
        comment = " ".join(line.lstrip("# ").strip() for line in text.splitlines()
                           if line.startswith("#"))
        rows.append(f"| `{name}` | {md_escape(comment) or '(no description)'} |")
    return "\n".join(rows) + "\n"


def credentials_page(entries: list) -> str:
    from climb.catalog.schema import Access

    lines = ["# Credentials", "", _module_docstring("climb.acquire.credentials"), ""]
    for access, title in ((Access.credentialed, "Credentialed (PhysioNet training + data-use agreement)"),
                          (Access.registration, "Registration or data-use agreement")):
        chosen = [e for e in entries if e.access == access]
        lines += [f"## {title}: {len(chosen)} datasets", ""]
        lines += [f"- [{md_escape(e.name)}](../catalog/{e.id}.md) (`{e.id}`)" for e in chosen]
        lines.append("")
    return "\n".join(lines)


def pages() -> dict[str, str]:
    """Every generated page: docs-relative path -> Markdown."""
    import climb.catalog

    entries = climb.catalog.entries()
    return {
        "index.md": "# climb\n\n" + rebase_readme_links(readme_intro(), "index.md") + HOME_LINKS,
        "quickstart.md": "# Quick start\n\n" + rebase_readme_links(readme_section("Quick start"), "quickstart.md")
        + "\n## What you can do\n\n" + rebase_readme_links(readme_section("What you can do"), "quickstart.md"),
        "guides/run-a-suite.md": "# Run a suite\n\n"
        + rebase_readme_links(readme_section("Benchmark suites", subsections=False), "guides/run-a-suite.md")
        + "\n## Shipped suites\n\n" + suites_table()
        + "\n## The suite file\n\n" + _module_docstring("climb.benchmark.suite"),
        "guides/scale-out.md": "# Scale out\n\n" + rebase_readme_links(readme_section("Many GPUs"), "guides/scale-out.md"),
        "guides/credentials.md": credentials_page(entries),
        "catalog/index.md": catalog_index(entries),
        **{f"catalog/{e.id}.md": catalog_page(e) for e in entries},
        **{f"api/{m}.md": f"# `{m}`\n\n::: {m}\n" for m in API_MODULES},
    }


def relative_links(markdown: str) -> list[str]:
    """The site-internal link targets of a page (no URLs, no pure anchors), anchors stripped."""
    targets = []
    for _, target in _LINK.findall(markdown):
        if re.match(r"^[a-z]+:|^#", target):
            continue
        targets.append(target.split("#", 1)[0])
    return targets


def broken_links(generated: dict[str, str], docs_dir: Path) -> list[str]:
    """`page -> target` for every relative link, of a generated or a docs/ page, that leads nowhere."""
    written = {p.relative_to(docs_dir).as_posix(): p.read_text(encoding="utf-8") for p in docs_dir.rglob("*.md")}
    every = {**written, **generated}
    broken = []
    for page, text in every.items():
        for target in relative_links(text):
            resolved = posixpath.normpath(posixpath.join(posixpath.dirname(page), target))
            if resolved not in every:
                broken.append(f"{page} -> {target}")
    return broken


# ------------------------------------------------------------------ MkDocs hook


def on_config(config):
    """MkDocs hook: list every catalog page under the nav's `Catalog` item (catalog/index.md)."""
    import climb.catalog

    section = [{"Overview": "catalog/index.md"}]
    section += [{e.name: f"catalog/{e.id}.md"} for e in climb.catalog.entries()]
    for i, item in enumerate(config.nav or []):
        if isinstance(item, dict) and item.get("Catalog") == "catalog/index.md":
            config.nav[i] = {"Catalog": section}
            return config
    raise DocsError("mkdocs.yml: nav needs the item `Catalog: catalog/index.md`")


def on_files(files, config):
    """MkDocs hook: add every generated page (a page that also exists in docs/ is an error)."""
    from mkdocs.structure.files import File

    for path, text in pages().items():
        if files.get_file_from_path(path) is not None:
            raise DocsError(f"docs/{path} exists but is generated by scripts/gen_docs.py: remove it")
        files.append(File.generated(config, path, content=text))
    return files


def main(argv: list[str]) -> int:
    if len(argv) != 1:
        print("usage: python scripts/gen_docs.py OUT_DIR", file=sys.stderr)
        return 2
    out = Path(argv[0])
    sys.path.insert(0, str(REPO / "src"))
    from climb.safeio import atomic_write_text

    generated = pages()
    for path, text in generated.items():
        (out / path).parent.mkdir(parents=True, exist_ok=True)
        atomic_write_text(out / path, text)
    print(f"wrote {len(generated)} pages to {out}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
