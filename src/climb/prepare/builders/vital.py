"""BioMed-VITAL instruction data (Cui et al. 2024): biomedical image-text instruction following.

Layout of the Hugging Face dataset ``mao1207/BioMed-VITAL-instructions`` (file list in the
project README, github.com/mao1207/BioMed-VITAL; record keys as its evaluation and filter
code reads them: ``line["image"]``, ``line["conversations"][0]``, ``["from"] == "gpt"``)::

    BioMed-VITAL-instructions-{60K,80K,150K,210K}.json   one JSON list of records
        {"id": ..., "image": "<PMC figure file>.jpg",
         "conversations": [{"from": "human", "value": "<image>\\n..."}, {"from": "gpt", "value": "..."}, ...],
         ...}                                           (other keys, e.g. fig_caption, are kept out)
    PMC_image_urls.jsonl                                 where the PMC figures can be fetched

The figures themselves are not distributed (PMC licences); a sample carries the figure's
file name, not its pixels. One sample per record: ``instruction`` (the first human turn),
``response`` (the first model turn), ``conversation`` (all turns as JSON) and
``image_file``; the sample id is the record's position and id (the merged files reuse
ids of their LLaVA-Med parts). A record without conversations, or whose turns do not alternate
human / gpt starting with human, is an error naming it.

There is no class label: the task is instruction following (catalog task ``other``), so
``label`` is the single class 0 and the targets are the ``response`` / ``conversation``
text. No official split: seeded 90/5/5 split grouped by the figure's article (the file-name
part before the first ``_``), so questions about one figure never straddle splits.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from climb.catalog.schema import Task
from climb.prepare.builder import Builder, PrepareError, register_builder

FILES = ("BioMed-VITAL-instructions-210K.json", "BioMed-VITAL-instructions-150K.json",
         "BioMed-VITAL-instructions-80K.json", "BioMed-VITAL-instructions-60K.json")
ROLES = ("human", "gpt")


def article_of(image: str, record_id: str) -> str:
    name = Path(image).name
    return name.split("_")[0] if "_" in name else (name or record_id)


def check_turns(path: Path, record_id: str, turns: Any) -> list[dict[str, str]]:
    if not isinstance(turns, list) or len(turns) < 2:
        raise PrepareError(path, f"record {record_id!r}: 'conversations' is not a list of at least two turns")
    for i, turn in enumerate(turns):
        if not isinstance(turn, dict) or turn.get("from") != ROLES[i % 2] or not isinstance(turn.get("value"), str):
            raise PrepareError(path, f"record {record_id!r}: turn {i} is not a {ROLES[i % 2]!r} turn with a text value")
    return [{"from": t["from"], "value": t["value"]} for t in turns]


@register_builder("vital")
class BioMedVITAL(Builder):
    """BioMed-VITAL instruction records -> text samples (instruction, response, conversation, figure name)."""

    version = "1.0.0"
    catalog_id = "vital"
    task = Task.other
    label_names = ["instruction following"]
    fields = {"instruction": "text", "response": "text", "conversation": "text", "image_file": "text"}
    split_fractions = {"train": 0.9, "val": 0.05, "test": 0.05}
    split_seed = 0
    split_policy = "no official split: seeded 90/5/5 split grouped by the figure's article (image file-name prefix)"
    default_params: dict[str, Any] = {"file": FILES[0]}

    def _file(self, raw: Path) -> Path:
        path = raw / str(self.params["file"])
        if not path.is_file():
            present = [f for f in FILES if (raw / f).is_file()]
            hint = f"; present: {present} (choose one with file=...)" if present else ""
            raise PrepareError(path, f"instruction file not found{hint}")
        return path

    def source_files(self, raw: Path) -> list[Path]:
        return [self._file(raw)]

    def field_meta(self, raw: Path) -> dict[str, dict[str, Any]]:
        return {"conversation": {"format": "JSON list of {from: human|gpt, value}"},
                "image_file": {"meaning": "PMC figure file name; pixels not distributed (see PMC_image_urls.jsonl)"},
                "label": {"definition": "no class label: instruction following, targets are the text fields"}}

    def generate(self, raw: Path) -> Iterator[dict[str, Any]]:
        path = self._file(raw)
        try:
            records = json.loads(path.read_text(encoding="utf-8"))
        except (ValueError, UnicodeDecodeError) as e:
            raise PrepareError(path, f"not a JSON file ({type(e).__name__}: {e})") from None
        if not isinstance(records, list):
            raise PrepareError(path, "expected a JSON list of records")
        for i, rec in enumerate(records):
            if not isinstance(rec, dict) or "id" not in rec:
                raise PrepareError(path, f"record {i} has no 'id'")
            rid = str(rec["id"])
            turns = check_turns(path, rid, rec.get("conversations"))
            image = str(rec.get("image") or "")
            yield {"sample_id": f"{i:07d}-{rid}", "patient_id": article_of(image, rid), "split": None, "label": 0,
                   "instruction": turns[0]["value"], "response": turns[1]["value"],
                   "conversation": json.dumps(turns, ensure_ascii=False), "image_file": image}
