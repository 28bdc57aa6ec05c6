"""Patient-level splits: seeded, stratified, grouped; and the leakage check every build runs.

The group a split keeps together is the sample's `group_id` when its builder gives one
(e.g. a recording run of a one-subject dataset), else its `patient_id`; the bootstrap
always resamples `patient_id` (climb.evaluate.bootstrap).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np

from climb.errors import ClimbError


class LeakageError(ClimbError, RuntimeError):
    """A patient (or group) appears in more than one split."""


def check_no_leakage(patients_by_split: Mapping[str, Sequence[str]], unit: str = "patient") -> None:
    """Fail if any patient (or `unit`: group) id occurs in two splits (names them and the splits)."""
    seen: dict[str, str] = {}
    clashes: list[str] = []
    for split, patients in patients_by_split.items():
        for p in set(patients):
            if p in seen and seen[p] != split:
                clashes.append(f"{p} ({seen[p]}, {split})")
            seen.setdefault(p, split)
    if clashes:
        shown = ", ".join(sorted(clashes)[:10])
        raise LeakageError(f"{len(clashes)} {unit}(s) in more than one split: {shown}")


def _majority_stratum(inverse: np.ndarray, strata: np.ndarray, n_groups: int) -> np.ndarray:
    """The most frequent stratum of each group (ties: the smallest), in O(N log N)."""
    values, codes = np.unique(strata, return_inverse=True)
    pairs, counts = np.unique(np.stack([inverse, codes]), axis=1, return_counts=True)
    order = np.lexsort((pairs[1], -counts, pairs[0]))  # by group, then count desc, then stratum
    first = np.unique(pairs[0][order], return_index=True)[1]
    out = np.empty(n_groups, dtype=object)
    out[pairs[0][order][first]] = values[pairs[1][order][first]]
    return out


def grouped_stratified_split(
    groups: Sequence[str],
    strata: Sequence[object],
    fractions: Mapping[str, float],
    seed: int = 0,
) -> np.ndarray:
    """Assign each sample a split so that every group (patient) lands in exactly one split.

    Groups are stratified by their majority stratum (label, site, ...): within each
    stratum the groups are shuffled with `seed` and cut by `fractions` (greedily by
    sample count), so class balance is kept as well as grouping allows. Returns an
    array of split names, aligned with `groups`.
    """
    if len(groups) != len(strata):
        raise ValueError(f"groups ({len(groups)}) and strata ({len(strata)}) differ in length")
    total = sum(fractions.values())
    if not np.isclose(total, 1.0):
        raise ValueError(f"split fractions must sum to 1, got {total}")
    groups_arr = np.asarray([str(g) for g in groups])
    strata_arr = np.asarray([str(s) for s in strata])
    uniq, inverse = np.unique(groups_arr, return_inverse=True)
    sizes = np.bincount(inverse)
    group_stratum = _majority_stratum(inverse, strata_arr, len(uniq))
    rng = np.random.default_rng(seed)
    names = list(fractions)
    cum = np.cumsum([fractions[n] for n in names])
    group_split = np.empty(len(uniq), dtype=object)
    for stratum in sorted(set(group_stratum)):
        idx = np.flatnonzero(group_stratum == stratum)
        idx = idx[rng.permutation(len(idx))]
        filled = np.cumsum(sizes[idx]) - sizes[idx] / 2  # sample-count midpoint of each group
        position = filled / max(sizes[idx].sum(), 1)
        for gi, pos in zip(idx, position):
            group_split[gi] = names[int(np.searchsorted(cum, pos, side="right").clip(0, len(names) - 1))]
    return group_split[inverse].astype(str)
