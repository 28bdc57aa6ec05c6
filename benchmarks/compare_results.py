"""Compare two benchmark results.csv files metric by metric (behaviour preservation across a redesign).

    python benchmarks/compare_results.py /work/baseline/demo/results.csv runs/demo/results.csv

Rows are matched on what produced them: dataset, split, encoder, seed, metric and the setting
(protocol, shots, init, mode, fusion strategy, modalities, dropped modality). Results written
before the typed setting columns existed carry the setting in one protocol string
(`fewshot-k8-multitask_heldout-finetune`, `fusion-gated-8shot-scratch-drop-graph`,
`unimodal-graph-full-scratch`): this script (and only this migration script) parses those
into the typed fields. It prints, per protocol, how many values are identical, how many
differ and by how much, and the rows present on one side only (e.g. a metric added later).
"""

from __future__ import annotations

import argparse
import re
import sys
from pathlib import Path

import numpy as np
import pandas as pd

FEWSHOT = re.compile(r"^fewshot-k(?P<shots>\d+)-(?P<init>.+)-(?P<mode>[^-]+)$")
FUSION = re.compile(r"^(?:unimodal-(?P<modality>[^-]+)|fusion-(?P<strategy>[^-]+))-(?P<setting>full|\d+shot)"
                    r"-(?P<init>[^-]+)(?:-drop-(?P<dropped>[^-]+))?$")
KEY = ["dataset", "split", "encoder", "seed", "metric", "protocol", "shots", "init", "mode", "fusion", "dropped"]


def typed_setting(protocol: str) -> dict[str, object]:
    """The typed setting of an old protocol string (new rows already have the columns)."""
    if m := FEWSHOT.match(protocol):
        return {"protocol": "fewshot", "shots": int(m["shots"]), "init": m["init"], "mode": m["mode"]}
    if m := FUSION.match(protocol):
        shots = None if m["setting"] == "full" else int(m["setting"][:-4])
        return {"protocol": "fusion", "shots": shots, "init": m["init"], "dropped": m["dropped"],
                "fusion": "unimodal" if m["modality"] else m["strategy"]}
    return {"protocol": protocol}


def normalised(path: Path) -> pd.DataFrame:
    frame = pd.read_csv(path)
    if "fusion" not in frame.columns:  # an old results.csv: setting in the protocol string
        typed = pd.DataFrame([typed_setting(p) for p in frame["protocol"]])
        frame = pd.concat([frame.drop(columns=["protocol"]), typed], axis=1)
    for col in KEY:
        if col not in frame.columns:
            frame[col] = None
    frame["shots"] = pd.to_numeric(frame["shots"], errors="coerce").astype("Int64")
    # few-shot / plain rows: init and mode only say something for few-shot and fusion settings
    plain = ~frame["protocol"].isin(["fewshot", "fusion"])
    frame.loc[plain, ["init", "mode"]] = None
    frame.loc[frame["protocol"] == "fusion", "mode"] = None
    for col in ("init", "mode", "fusion", "dropped"):
        frame[col] = frame[col].fillna("").astype(str)
    return frame


def compare(old: pd.DataFrame, new: pd.DataFrame) -> pd.DataFrame:
    merged = old.merge(new, on=KEY, how="outer", suffixes=("_old", "_new"), indicator=True)
    both = merged["_merge"] == "both"
    diff = (merged["value_new"] - merged["value_old"]).abs()
    same = both & ((merged["value_old"] == merged["value_new"]) | (merged["value_old"].isna() & merged["value_new"].isna()))
    merged["status"] = np.where(~both, np.where(merged["_merge"] == "left_only", "old only", "new only"),
                                np.where(same, "identical", "different"))
    merged["abs_diff"] = diff
    return merged


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("old", type=Path)
    p.add_argument("new", type=Path)
    p.add_argument("--show", type=int, default=20, help="differing rows to list")
    args = p.parse_args(argv)
    merged = compare(normalised(args.old), normalised(args.new))
    summary = merged.groupby(["protocol", "status"]).agg(rows=("status", "size"), max_abs_diff=("abs_diff", "max"))
    print(summary.to_string())
    extra = merged[merged["status"] != "identical"]
    if len(extra):
        cols = ["status", *KEY, "value_old", "value_new", "abs_diff"]
        print(f"\nrows not identical ({len(extra)}; first {args.show}, by metric):")
        print(extra[extra["status"] == "different"][cols].head(args.show).to_string(index=False))
        print("\nrows on one side only, by metric:", extra[extra["status"] != "different"]
              .groupby(["status", "metric"]).size().to_dict())
    return 0


if __name__ == "__main__":
    sys.exit(main())
