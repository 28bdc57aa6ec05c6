"""Benchmark protocols as registered plugins: one file per protocol (see `base.py` for the interface).

Built in: `single`, `multitask` (+ paired rows against single), `fewshot`, `fusion`, `external`
(train on one dataset, test on others: the worked example of adding a protocol).
"""

from climb.benchmark.protocols.base import PROTOCOLS, Protocol, get_protocol, protocol_names, register_protocol
from climb.benchmark.protocols import external, fewshot, fusion, multitask, single  # noqa: F401 (registers them)

__all__ = ["PROTOCOLS", "Protocol", "get_protocol", "protocol_names", "register_protocol"]
