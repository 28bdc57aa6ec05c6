"""The docs site's generated pages (scripts/gen_docs.py): complete, and every link leads somewhere.

The strict MkDocs build itself runs in CI (.ci/run); these tests prove the generator's own
promises quickly: one page per catalog entry, showing that entry's facts, and no dead links.
"""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path

import pytest
import yaml

REPO = Path(__file__).resolve().parents[1]


def _load_script(name: str):
    spec = importlib.util.spec_from_file_location(name, REPO / "scripts" / f"{name}.py")
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    spec.loader.exec_module(module)
    return module


gen_docs = _load_script("gen_docs")


@pytest.fixture(scope="module")
def pages() -> dict[str, str]:
    return gen_docs.pages()


def test_one_page_per_catalog_entry_with_its_facts(pages):
    import climb.catalog

    entries = climb.catalog.entries()
    catalog_pages = {p for p in pages if p.startswith("catalog/") and p != "catalog/index.md"}
    assert catalog_pages == {f"catalog/{e.id}.md" for e in entries}
    for entry in entries:
        page = pages[f"catalog/{entry.id}.md"]
        assert page.startswith(f"# {gen_docs.md_escape(entry.name)}\n")
        assert gen_docs.md_escape(entry.license) in page
        for label in entry.labels:
            assert gen_docs.md_escape(label) in page
        assert f"({entry.id}.md)" in pages["catalog/index.md"]
    from climb.prepare.builder import builders_for

    assert "| `ptbxl_climb7` | multilabel | 7 |" in pages["catalog/ptbxl.md"]
    for entry in entries:  # an entry without a builder says so instead of listing none
        page = pages[f"catalog/{entry.id}.md"]
        assert (f"No builder prepares `{entry.id}` yet" in page) == (builders_for(entry.id) == [])


def test_every_generated_link_leads_to_a_page(pages):
    assert gen_docs.broken_links(pages, REPO / "docs") == []
    # the checker sees a dead link (so the assertion above can fail)
    planted = {**pages, "guides/x.md": "[gone](../catalog/no_such_dataset.md) [ok](../architecture.md)"}
    assert gen_docs.broken_links(planted, REPO / "docs") == ["guides/x.md -> ../catalog/no_such_dataset.md"]


def test_nav_names_only_existing_pages(pages):
    config = yaml.load((REPO / "mkdocs.yml").read_text(), Loader=yaml.BaseLoader)

    def targets(nav):
        for item in nav:
            value = next(iter(item.values())) if isinstance(item, dict) else item
            yield from (targets(value) if isinstance(value, list) else [value])

    missing = [t for t in targets(config["nav"]) if t not in pages and not (REPO / "docs" / t).is_file()]
    assert missing == []
    assert {f"api/{m}.md" for m in gen_docs.API_MODULES} <= set(targets(config["nav"]))


README = """# tool

Intro text, [layout](docs/architecture.md).

## Quick start

```bash
# not a heading: inside a code fence
run it
```

### Detail

More.

## Next
"""


def test_readme_sections_are_cut_at_headings_and_links_rebased():
    section = gen_docs.readme_section("Quick start", text=README)
    assert "# not a heading" in section and "## Detail" in section and "Next" not in section
    assert "Detail" not in gen_docs.readme_section("Quick start", subsections=False, text=README)
    intro = gen_docs.rebase_readme_links(gen_docs.readme_intro(text=README), "guides/a.md")
    assert intro == "Intro text, [layout](../architecture.md).\n"
    with pytest.raises(gen_docs.DocsError, match="no section headed 'Install'"):
        gen_docs.readme_section("Install", text=README)
    with pytest.raises(gen_docs.DocsError, match="tests/x.py"):
        gen_docs.rebase_readme_links("[t](tests/x.py)", "index.md")


def test_markdown_in_catalog_text_is_shown_literally():
    assert gen_docs.md_escape("a_b [c] <d> | e") == r"a\_b \[c\] \<d\> \| e"
    assert gen_docs.md_escape("run `climb info a_b` now_") == r"run `climb info a_b` now\_"


def test_indented_docstring_examples_stay_code():
    pytest.importorskip("griffe")
    ext = _load_script("griffe_indented_examples")
    module_doc = 'Prepare things.\n\n    ds.card["splits"]["train"]\n'
    assert ext.reindent(module_doc, 0) == 'Prepare things.\n\n    ds.card["splits"]["train"]'
    method_doc = "Yield samples::\n\n            x = 1\n\n        Done."
    assert ext.reindent(method_doc, 8) == "Yield samples:\n\n    x = 1\n\nDone."
