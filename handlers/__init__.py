"""Query modules, one per question, and the table that dispatch reads.

A query module is `Callable[[Request, ClusterView], Result]`: pure, no I/O but through the view.
Adding a question = one module + one line here + catalogue entries + tests.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from types import MappingProxyType
from typing import Final

from handlers import digest, dns, endpoints, exit_code, how, name, reason, scrape, trace
from handlers import help as help_
from handlers import why as why_
from handlers.model import Request, Result
from handlers.view import ClusterView

Handler = Callable[[Request, ClusterView], Result]

VERBS: Final[Mapping[str, Handler]] = MappingProxyType(
    {
        "help": help_.usage,
        "why": why_.why,
        "exit": exit_code.explain,
        "name": name.decode_name,
        "dns": dns.names,
        "reason": reason.explain,
        "how": how.runbook,
        "endpoints": endpoints.backing_pods,
        "trace": trace.first_break,
        "ingress": trace.start_at_ingress,
        "scrape": scrape.check,
        "digest": digest.summarise,
    }
)

#: Other spellings users type; `service` is the contract's alias of `endpoints`.
VERB_ALIASES: Final[Mapping[str, str]] = MappingProxyType(
    {
        "svc": "endpoints",
        "service": "endpoints",
        "ep": "endpoints",
        "endpoint": "endpoints",
        "exitcode": "exit",
        "code": "exit",
        "explain": "reason",
        "runbook": "how",
        "?": "help",
    }
)
