"""The ONNX backend node test cases (shipped inside the `onnx` package) for every op webflow claims.

Each case must pass, or be refused with a clear UnsupportedError: never a wrong answer, never a
crash. Together they must pass at least 95% (docs/CONFORMANCE.md shows the table).
"""

import pytest

from tests import onnx_conformance as oc

CASES = oc.collect()
RESULTS = {}


@pytest.mark.parametrize("case,op", CASES, ids=[c.name for c, _ in CASES])
def test_node_case(case, op):
    status, msg = oc.run_case(case)
    RESULTS[case.name] = status
    assert status in ("pass", "unsupported"), f"{case.name} ({op}): {msg}"


def test_pass_rate():
    statuses = [RESULTS.get(c.name) or oc.run_case(c)[0] for c, _ in CASES]
    rate = statuses.count("pass") / len(statuses)
    assert rate >= 0.95, f"{statuses.count('pass')} of {len(statuses)} ONNX node cases pass ({rate:.1%}); at least 95% needed"
