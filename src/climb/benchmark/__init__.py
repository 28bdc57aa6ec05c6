"""Benchmark: suites as data (`suites/*.yaml`) run end to end into a resumable run directory.

    from climb.benchmark import load_suite, run_suite
    run_dir = run_suite(load_suite("demo"), "runs/demo")   # manifest.json, results.csv/.parquet, cells/

`climb benchmark SUITE` is the command-line shell over `run_suite`. Protocols are registered plugins
(`climb.benchmark.protocols`; `register_protocol` for your own).
"""

from climb.benchmark.cells import Problem, RunLock, RunLockedError, verify_run
from climb.benchmark.protocols import Protocol, get_protocol, protocol_names, register_protocol
from climb.benchmark.runner import (
    DataStatus,
    PlannedCell,
    RichProgress,
    check_data,
    gather,
    plan,
    run_cell,
    run_suite,
    validate_suite,
)
from climb.benchmark.suite import Cell, Suite, SuiteError, load_suite, shipped_suites, suite_path

__all__ = [
    "Problem", "RunLock", "RunLockedError", "verify_run",
    "Protocol", "get_protocol", "protocol_names", "register_protocol",
    "Cell", "DataStatus", "PlannedCell", "RichProgress", "Suite", "SuiteError", "check_data", "gather",
    "load_suite", "plan", "run_cell", "run_suite", "shipped_suites", "suite_path", "validate_suite",
]
