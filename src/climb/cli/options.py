"""Options shared by several commands (one definition each)."""

from __future__ import annotations

from typing import Any

import typer

from climb.trackers import LOGGERS


def _logger_name(value: str | None) -> str | None:
    if value is not None and value not in LOGGERS:
        raise typer.BadParameter(f"{value!r} is not one of {', '.join(LOGGERS)}")
    return value


def logger_option() -> Any:
    """`--logger NAME`: the experiment tracker next to the CSV log (None: the config's, default tensorboard)."""
    return typer.Option(None, "--logger", callback=_logger_name, metavar="|".join(LOGGERS),
                        help="Experiment tracker next to the CSV log: tensorboard (default), csv, "
                             "wandb or mlflow (the trackers extra).")


# ---------------------------------------------------------------- options generated from a pydantic config

NUMBER_OR_FRACTION = "int | float"  # Lightning's limits: 5 batches, or 0.25 of them


def _scalar(annotation: Any) -> Any:
    """The option type of a config field's annotation, or None when it is not a command-line scalar."""
    import types
    import typing
    from pathlib import Path

    args = [a for a in typing.get_args(annotation) if a is not type(None)]
    origin = typing.get_origin(annotation)
    if origin is typing.Literal:
        return str
    if origin in (typing.Union, types.UnionType):
        if len(args) == 1:
            return _scalar(args[0])
        return str if set(args) <= {int, float, str} else None  # parsed by _number_or_text
    return annotation if annotation in (bool, int, float, str, Path) else None


def _number_or_text(text: str) -> int | float | str:
    """`"5"` -> 5, `"0.25"` -> 0.25, `"auto"` -> "auto" (the config validates the result)."""
    for kind in (int, float):
        try:
            return kind(text)
        except ValueError:
            pass
    return text


def _help(field: Any) -> str:
    import typing

    if field.description:
        return field.description
    choices = typing.get_args(field.annotation) if typing.get_origin(field.annotation) is typing.Literal else ()
    default = field.get_default(call_default_factory=True)
    return (f"One of {', '.join(map(str, choices))}; " if choices else "") + f"default {default}."


def config_options(model: Any, names: dict[str, tuple[str, ...]], skip: frozenset[str] = frozenset(),
                   help_text: dict[str, str] | None = None, custom: dict[str, Any] | None = None) -> list[Any]:
    """One `inspect.Parameter` per scalar field of the pydantic `model` (type, help, flag name).

    Every option defaults to None (not given: the config's default or the `--config` YAML's
    value stands); `names` renames flags (`{"out_dir": ("--out",)}`); `help_text` adds help where
    a field has no description; `custom` gives a field its own `typer.Option` (e.g. one that checks
    choices before any work). Fields that are not scalars (lists, dicts) need their own options.
    """
    import inspect
    from typing import Optional

    params = []
    for name, field in model.model_fields.items():
        kind = _scalar(field.annotation)
        if name in skip or kind is None:
            continue
        flags = names.get(name, ("--" + name.replace("_", "-"),))
        if kind is bool and len(flags) == 1:
            flags = (f"{flags[0]}/--no-{flags[0][2:]}",)
        option = (custom or {}).get(name) or typer.Option(None, *flags, help=(help_text or {}).get(name) or _help(field))
        params.append(inspect.Parameter(name, inspect.Parameter.KEYWORD_ONLY, default=option,
                                        annotation=Optional[kind]))
    return params


def config_values(model: Any, values: dict[str, Any]) -> dict[str, Any]:
    """The given (not None) options among `model`'s fields, `int | float | str` ones parsed."""
    out = {}
    for name, value in values.items():
        if name in model.model_fields and value is not None:
            mixed = isinstance(value, str) and _is_mixed(model.model_fields[name].annotation)
            out[name] = _number_or_text(value) if mixed else value
    return out


def _is_mixed(annotation: Any) -> bool:
    import typing

    args = {a for a in typing.get_args(annotation) if a is not type(None)}
    return len(args) > 1 and args <= {int, float, str}


def with_options(func: Any, params: list[Any]) -> Any:
    """`func(**values)` with the signature typer reads its options from: `params`."""
    import inspect

    func.__signature__ = inspect.Signature(params)
    func.__annotations__ = {p.name: p.annotation for p in params}
    return func
