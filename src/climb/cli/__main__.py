"""`python -m climb.cli ...` (e.g. under torchrun) runs the `climb` command line."""

from climb.cli import app

app()
