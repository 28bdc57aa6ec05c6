"""The Hugging Face Hub, for every part of climb that pushes or pulls a folder (models, datasets).

Uploads go through `huggingface_hub.HfApi` with the token from the `HF_TOKEN` environment
variable only (never an argument, never logged). `copy_into_hub_cache` lays a folder out as
huggingface_hub's own cache does (`<type>s--org--name/snapshots/<rev>` + `refs/main`), so
`snapshot_download(..., local_files_only=True)` / `HF_HUB_OFFLINE=1` finds it with no network:
the offline stand-in for a hub repository that the tests and air-gapped labs use.
"""

from __future__ import annotations

import os
import shutil
from pathlib import Path
from typing import Any, Literal

from climb.errors import ClimbError, ClimbUsageError
from climb.safeio import atomic_write_text, open_for_write

RepoType = Literal["model", "dataset"]


def check_repo_id(repo: str) -> str:
    """`ORG/NAME`, or a usage error naming the value."""
    if repo.count("/") != 1 or not all(repo.split("/")):
        raise ClimbUsageError(f"--push {repo!r}: expected ORG/NAME")
    return repo


def hub_api(error: type[Exception] = ClimbError) -> Any:
    """An `HfApi` holding the token of `HF_TOKEN`; `error` (naming the variable) when it is unset."""
    token = os.environ.get("HF_TOKEN")
    if not token:
        raise error("--push needs a Hugging Face token in the HF_TOKEN environment variable (never on the "
                    "command line)")
    from huggingface_hub import HfApi

    return HfApi(token=token)


def upload_folder(folder: Path, repo: str, repo_type: RepoType, message: str, *, revision: str | None = None,
                  api: Any = None, error: type[Exception] = ClimbError) -> str:
    """Create `repo` if needed and upload every file of `folder` in one commit; returns the commit URL."""
    api = hub_api(error) if api is None else api
    try:
        api.create_repo(check_repo_id(repo), repo_type=repo_type, exist_ok=True)
        info = api.upload_folder(folder_path=str(folder), repo_id=repo, repo_type=repo_type, revision=revision,
                                 commit_message=message)
    except (OSError, ValueError, RuntimeError) as e:  # huggingface_hub's HTTP, offline-mode and validation errors
        raise error(f"push to {repo} failed: {type(e).__name__}: {_without_token(str(e))}") from None
    return str(getattr(info, "commit_url", info))


def _without_token(text: str) -> str:
    """`text` with the token of `HF_TOKEN` masked, should a library ever echo it."""
    token = os.environ.get("HF_TOKEN")
    return text.replace(token, "***") if token else text


def copy_into_hub_cache(folder: str | Path, repo: str, cache_dir: str | Path, repo_type: RepoType = "model",
                        revision: str = "0" * 40) -> Path:
    """Copy `folder` (recursively) into huggingface_hub's cache layout; returns the snapshot folder."""
    root = Path(cache_dir) / f"{repo_type}s--{check_repo_id(repo).replace('/', '--')}"
    snapshot = root / "snapshots" / revision
    folder = Path(folder)
    for f in sorted(folder.rglob("*")):
        if f.is_file():
            target = snapshot / f.relative_to(folder)
            target.parent.mkdir(parents=True, exist_ok=True)
            with open(f, "rb") as source, open_for_write(target) as sink:
                shutil.copyfileobj(source, sink)
    (root / "refs").mkdir(parents=True, exist_ok=True)
    atomic_write_text(root / "refs" / "main", revision)
    return snapshot


__all__ = ["check_repo_id", "copy_into_hub_cache", "hub_api", "upload_folder"]
