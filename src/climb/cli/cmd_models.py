"""`climb models`: the registered encoders with their input kind and size."""

from __future__ import annotations

import typer


def register(app: typer.Typer) -> None:
    @app.command("models")
    def models(
        modality: str | None = typer.Option(None, "--modality", "-m", help="only encoders of this input kind"),
    ) -> None:
        """List the encoders that `create_encoder` can build."""
        from rich.console import Console
        from rich.table import Table

        from climb.models.registry import EncoderError, count_parameters, create_encoder, get_spec, list_encoders

        try:
            names = list_encoders(modality)
        except ValueError as exc:
            raise typer.BadParameter(str(exc), param_hint="--modality") from exc
        table = Table(title="CLIMB encoders")
        for col in ("name", "modality", "in_channels", "out_dim", "params", "description"):
            table.add_column(col, justify="right" if col in ("params", "out_dim", "in_channels") else "left")
        for name in names:
            spec = get_spec(name)
            try:
                model = create_encoder(name)
                out_dim, params = str(model.out_dim), f"{count_parameters(model):,}"
            except EncoderError:
                out_dim, params = "-", "not installed"
            table.add_row(name, spec.modality, str(spec.default_in_channels or "-"), out_dim, params, spec.description)
        Console().print(table)
