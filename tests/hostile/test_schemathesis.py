"""Schemathesis against our own OpenAPI schema: every operation, with and without a key.

Each operation gets generated requests, valid and invalid by its schema (hypothesis,
derandomised so CI runs are repeatable), sent over real HTTP to a live server. Every answer
must be conformant: no 5xx, only declared status codes, declared content types and headers,
bodies matching their declared schema, and invalid requests refused with a 4xx. Failures are
collected, not shrunk, so one run reports all of them; the figures are printed.
"""

from __future__ import annotations

import os
from collections import Counter
from dataclasses import dataclass, field

import pytest
import requests
import schemathesis
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis.errors import Unsatisfiable
from schemathesis import GenerationMode
from schemathesis.checks import (
    content_type_conformance,
    negative_data_rejection,
    not_a_server_error,
    response_headers_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from tests.hostile.figures import report
from tests.support import LiveServer

pytestmark = [pytest.mark.api, pytest.mark.chain]

#: Examples per operation, generation mode and key; NOTARY_SCHEMATHESIS_EXAMPLES raises it.
EXAMPLES = int(os.environ.get("NOTARY_SCHEMATHESIS_EXAMPLES", "25"))
CHECKS = [not_a_server_error, status_code_conformance, content_type_conformance,
          response_headers_conformance, response_schema_conformance, negative_data_rejection]


@dataclass
class Tally:
    requests: int = 0
    server_errors: int = 0
    statuses: Counter[int] = field(default_factory=Counter)
    failures: list[str] = field(default_factory=list)
    unsatisfiable: list[str] = field(default_factory=list)


def exercise(schema, op, mode: GenerationMode, base_url: str, headers: dict[str, str],
             tally: Tally, session: requests.Session) -> None:
    @given(case=op.as_strategy(generation_mode=mode))
    @settings(max_examples=EXAMPLES, deadline=None, derandomize=True, database=None,
              suppress_health_check=list(HealthCheck),
              phases=[Phase.explicit, Phase.generate])
    def run(case) -> None:
        response = case.call(base_url=base_url, headers=headers, session=session, timeout=30)
        tally.requests += 1
        tally.statuses[response.status_code] += 1
        if response.status_code >= 500:
            tally.server_errors += 1
        try:
            case.validate_response(response, checks=CHECKS, headers=headers)
        except Exception as exc:  # noqa: BLE001 - collected and reported below
            found = getattr(exc, "exceptions", [exc])
            what = "; ".join(str(getattr(f, "title", type(f).__name__)) for f in found)
            tally.failures.append(f"{op.label} [{mode.value}, {'key' if headers else 'no key'}] "
                                  f"{response.status_code}: {what}: {response.text[:200]}")

    try:
        run()
    except Unsatisfiable:  # e.g. no invalid request exists for an operation without inputs
        tally.unsatisfiable.append(f"{op.label} [{mode.value}]")


def test_schemathesis_finds_nothing(server: LiveServer, request: pytest.FixtureRequest) -> None:
    schema = schemathesis.openapi.from_url(f"{server.url}/openapi.json")
    # 413 is how we reject an over-long part (a metadata string beyond its maxLength can make
    # the part exceed its size limit before the schema is checked): a rejection too.
    rejection = schema.config.checks.negative_data_rejection
    rejection.expected_statuses = [*rejection.expected_statuses, "413"]
    # Submissions last: the items they create would make the case certificate and bundle
    # operations render real (slow) documents, which is not what this test is about.
    operations = sorted((result.ok() for result in schema.get_all_operations()),
                        key=lambda op: op.label == "POST /v1/evidence")
    tally = Tally()
    with requests.Session() as session:
        for headers in ({"Authorization": f"Bearer {server.admin_key}"}, {}):
            for op in operations:
                for mode in (GenerationMode.POSITIVE, GenerationMode.NEGATIVE):
                    exercise(schema, op, mode, server.url, headers, tally, session)
    report(request, "schemathesis",
           f"schemathesis: {len(operations)} operations, {tally.requests} requests, "
           f"{tally.server_errors} server errors, {len(tally.failures)} schema violations "
           f"(statuses: {dict(sorted(tally.statuses.items()))})",
           {"operations": len(operations), "requests": tally.requests,
            "server_errors": tally.server_errors, "schema_violations": len(tally.failures),
            "statuses": {str(k): v for k, v in sorted(tally.statuses.items())},
            "examples_per_operation_mode_and_key": EXAMPLES})
    for failure in tally.failures[:40]:
        print("  ", failure)
    assert tally.requests >= len(operations) * 4
    assert tally.server_errors == 0 and tally.failures == []
