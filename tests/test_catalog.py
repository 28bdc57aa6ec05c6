"""The dataset catalog: every entry loads and validates, covers the spec, and summarises."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
import yaml

from climb.catalog import CatalogError, entries, entries_dir, get, load_entry
from climb.catalog.schema import SourceKind
from climb.catalog.summary import DIMENSIONS, counts, filter_entries, local_status, plot_distribution, summarize

def _spec_path() -> Path:
    """The shared spec beside the real-data mirror (../shared/spec, or next to $CLIMB_SHARED_DATA)."""
    from climb.config import shared_data_dir

    data = shared_data_dir()
    return (data.parent if data else Path(__file__).resolve().parents[2] / "shared") / "spec" / "datasets.md"


SPEC = _spec_path()


@pytest.fixture(scope="module")
def catalog():
    return entries()


def _spec_ids() -> list[str]:
    ids = []
    for line in SPEC.read_text().splitlines():
        m = re.match(r"^\|\s*([a-z0-9_]+)\s*\|", line)
        if m and m.group(1) != "id":
            ids.append(m.group(1))
    return ids


def test_catalog_loads_and_ids_match_files(catalog):
    files = sorted(p.stem for p in entries_dir().glob("*.yaml"))
    assert [e.id for e in entries(entries_dir())] == files
    assert {e.id for e in catalog} >= set(files)
    assert len(catalog) >= 47
    assert sum(e.in_climb for e in catalog) >= 47


def test_every_spec_dataset_has_an_entry(catalog):
    if not SPEC.is_file():
        pytest.skip("spec not present: ../shared/spec/datasets.md")
    spec_ids = _spec_ids()
    assert len(spec_ids) >= 47
    ids = {e.id for e in catalog}
    assert not [i for i in spec_ids if i not in ids]
    assert all(get(i).in_climb for i in spec_ids)
    assert {e.id for e in catalog if e.in_climb} == set(spec_ids)


def test_required_fields_are_filled(catalog):
    for e in catalog:
        for field in ("name", "modality", "domain", "license", "citation", "homepage"):
            assert getattr(e, field).strip(), f"{e.id}: empty {field}"
        assert e.labels and all(label.strip() for label in e.labels), f"{e.id}: labels"
        assert e.sources, f"{e.id}: no source"
        assert re.search(r"\(\d{4}\)|\b(19|20)\d{2}\b", e.citation), f"{e.id}: citation without a year"


def _urls(entry) -> list[str]:
    urls = [entry.homepage]
    for s in entry.sources:
        urls += [u for u in [s.base_url, *(f.url for f in s.files)] if u]
    return urls


def test_every_url_is_https(catalog):
    for e in catalog:
        for url in _urls(e):
            assert url.startswith("https://"), f"{e.id}: {url}"


def test_sources_are_complete(catalog):
    for e in catalog:
        for s in e.sources:
            if s.kind == SourceKind.physionet:
                assert re.fullmatch(r"https://physionet\.org/files/[a-z0-9-]+/[0-9.]+/", s.base_url), e.id
                assert s.manifest == "SHA256SUMS.txt", e.id
            if s.kind == SourceKind.zenodo:
                assert s.zenodo_record and str(s.zenodo_record) in s.base_url, e.id
            if s.kind in (SourceKind.https, SourceKind.github, SourceKind.zenodo):
                assert s.base_url, e.id
        if e.access.value != "open":
            assert any(s.instructions for s in e.sources), f"{e.id}: gated data needs instructions"


def test_real_datasets_have_builders_and_pinned_checksums(catalog):
    from climb.prepare.builder import builders_for

    for e in catalog:
        if e.shared_folder:
            assert builders_for(e.id), e.id
    for name in ("pneumoniamnist", "breastmnist", "adrenalmnist3d"):
        f = get(name).sources[0].files[0]
        assert f.path == f"{name}.npz" and f.md5 and f.sha256 and f.size, name
    assert get("pneumoniamnist").sources[0].files[0].md5 == "28209eda62fecd6e6a2d98b1501bb15f"
    for e in filter(lambda e: e.id.startswith(("yaib_", "moleculenet_")), catalog):
        assert all(f.sha256 and f.size for s in e.sources for f in s.files), e.id
    assert len(get("yaib_mortality24").sources[0].files) == 6
    assert get("ptbxl").sources[0].manifest_sha256 is None  # the shared manifest is trimmed


def test_medmnist_plus_sizes_are_pinned_sources():
    """Every MedMNIST+ size with a builder is a file of its entry's source, with the MD5 MedMNIST publishes."""
    from climb.prepare.builder import builders_for, create_builder

    sized = 0
    for e in entries():
        for name in builders_for(e.id):
            include = create_builder(name).download_include()
            if include is None:
                continue
            files = {f.path: f for s in e.sources for f in s.files}
            for path in include:
                assert path in files and re.fullmatch(r"[0-9a-f]{32}", files[path].md5 or ""), (name, path)
                assert files[path].url.startswith(f"https://zenodo.org/records/10519652/files/{path}"), name
            sized += 1
    assert sized == 12 * 3 + 6  # 12 2D flags x (64, 128, 224) + 6 3D flags x 64
    assert get("adrenalmnist3d").sources[0].include == ["adrenalmnist3d.npz"]  # `climb download` stays at 28 px
    pinned = {f.path: f.md5 for f in get("pathmnist").sources[0].files}
    assert pinned["pathmnist_224.npz"] == "2c51a510bcdc9cf8ddb2af93af1eadec"  # medmnist/info.py v3.0.2


def test_spec_label_spaces(catalog):
    ecg = ["Normal", "CD", "HYP", "MI", "STTC", "AFib/AFlutter", "Other"]
    for i in ("ptbxl", "chapman", "georgia", "cpsc"):
        assert get(i).labels == ecg
    assert get("ham10000").labels == get("pad_ufes20").labels == ["MEL", "NV", "BCC", "AKIEC", "OTHER"]
    assert len(get("mimic_cxr").labels) == len(get("chexpert").labels) == 14
    assert len(get("ppi").labels) == 121


def test_real_data_folders_exist(catalog, shared_data):
    for e in catalog:
        if e.shared_folder:
            assert (shared_data / e.shared_folder).is_dir(), e.id
    for e in filter(lambda e: e.id.startswith("yaib_"), catalog):
        for f in e.sources[0].files:
            assert (shared_data / "yaib_demo" / f.path).stat().st_size == f.size


def test_malformed_entry_names_file_and_field(tmp_path):
    raw = yaml.safe_load((entries_dir() / "mitdb.yaml").read_text())
    raw["access"] = "whenever"
    bad = tmp_path / "mitdb.yaml"
    bad.write_text(yaml.safe_dump(raw))
    with pytest.raises(CatalogError, match=r"mitdb\.yaml.*access"):
        load_entry(bad)
    raw["access"] = "open"
    raw["sources"][0]["base_url"] = "http://physionet.org/files/mitdb/1.0.0/"
    bad.write_text(yaml.safe_dump(raw))
    with pytest.raises(CatalogError, match=r"mitdb\.yaml.*sources\.0\.base_url.*https"):
        entries(tmp_path)


def test_summary_counts_add_up(catalog):
    tables = summarize(catalog)
    assert set(tables) == set(DIMENSIONS)
    for dimension, table in tables.items():
        assert table["datasets"].sum() == len(catalog), dimension
        assert table["share"].sum() == pytest.approx(1.0)
    family = counts(catalog, "family").set_index("value")["datasets"]
    assert family["2d"] == sum(e.family.value == "2d" for e in catalog)
    with pytest.raises(ValueError):
        counts(catalog, "colour")


def test_filter_entries_is_case_insensitive_substring(catalog):
    ecg = filter_entries(catalog, modality="EcG")
    assert {"ptbxl", "mitdb", "chapman"} <= {e.id for e in ecg}
    assert all("ecg" in e.modality.lower() for e in ecg)
    both = filter_entries(catalog, family="graph", task="binary")
    assert both and all(e.family.value == "graph" and e.task.value == "binary" for e in both)


def test_local_status(climb_home):
    from climb import config

    assert local_status("mitdb") == "-"
    config.raw_dir("mitdb").mkdir(parents=True)
    assert local_status("mitdb") == "-"  # a directory without the completion marker is not a download
    (config.raw_dir("mitdb") / ".climb_complete").touch()
    assert local_status("mitdb") == "downloaded"
    (config.prepared_root() / "mitdb").mkdir(parents=True)
    (config.prepared_root() / "mitdb" / "card.json").write_text("{}")
    assert local_status("mitdb") == "prepared"


def test_plot_distribution_writes_png(catalog, tmp_path):
    out = plot_distribution(catalog, tmp_path / "fig" / "dist.png")
    data = out.read_bytes()
    assert data[:8] == b"\x89PNG\r\n\x1a\n"
    assert len(data) > 20_000
    from PIL import Image

    with Image.open(out) as img:
        width, height = img.size
        assert width >= 1000 and height >= 800
        assert len(img.convert("L").getcolors(maxcolors=1 << 16) or []) > 10  # not a blank canvas


def test_every_builder_agrees_with_its_catalog_entry():
    """One source of truth: each registered builder's task and labels are its entry's or a named view's.

    Builders read them from the catalog (`Builder.label_space`); a builder that declares its own
    `task` / `label_names` (newly added ones may) must say exactly what the catalog says, and
    every view of the catalog is produced by some builder.
    """
    from climb.prepare.builder import builder_names, create_builder

    used: set[tuple[str, str]] = set()
    disagree = []
    from climb.prepare.declared.builders import DeclaredBuilder

    known = {e.id for e in entries()}
    for name in builder_names():
        builder = create_builder(name)
        if builder.catalog_id not in known:  # only a user's declared dataset is its own entry
            assert isinstance(builder, DeclaredBuilder), f"{name}: catalog entry {builder.catalog_id!r} missing"
            continue
        space = get(builder.catalog_id).label_space(builder.view)
        if (builder.task, list(builder.label_names)) != (space.task, space.labels):
            disagree.append(f"{name}: {builder.task.value} {builder.label_names} vs catalog "
                            f"{builder.catalog_id}{'/' + builder.view if builder.view else ''}: "
                            f"{space.task.value} {space.labels}")
        if builder.view:
            used.add((builder.catalog_id, builder.view))
    assert disagree == []
    views = {(e.id, v) for e in entries() for v in e.views}
    assert views - used == set(), "catalog views no builder produces"


def test_plot_distribution_refuses_a_planted_symlink(catalog, tmp_path):
    from climb.safeio import UnsafePathError

    target = tmp_path / "elsewhere.png"
    target.write_bytes(b"keep")
    link = tmp_path / "dist.png"
    link.symlink_to(target)
    with pytest.raises(UnsafePathError):
        plot_distribution(catalog, link)
    assert target.read_bytes() == b"keep"
