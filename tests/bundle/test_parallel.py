"""The items verified in worker processes (``notary verify``, issue 17) give exactly the
verdict one process gives: for the exported case and for every tampered copy of
test_tamper, the same checks in the same order, the same failures naming the same item.

The pool forks, which is only done from a process without other threads: the comparison
runs in a fresh interpreter (this one runs the live service's threads), and each worker
leaves a file behind so the test knows the items were really verified elsewhere."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

from tests.bundle.conftest import Exported
from tests.bundle.test_tamper import VECTORS
from tests.support import REPO

_SCRIPT = r"""
import io, json, os, sys
from pathlib import Path
from notary.bundles.check import verify_bundle_file
from notary.bundles.parallel import item_processes
marks = Path(sys.argv[1])
os.register_at_fork(after_in_child=lambda: (marks / f"worker-{os.getpid()}").touch())
for path in sys.argv[2:]:
    data = Path(path).read_bytes()
    one = verify_bundle_file(io.BytesIO(data)).to_json()
    many = verify_bundle_file(io.BytesIO(data),
                              map_items=item_processes(2, min_items=1)).to_json()
    print(json.dumps({"path": path, "one": one, "many": many}, sort_keys=True))
"""


def test_worker_processes_give_the_same_verdict(exported: Exported, tmp_path: Path) -> None:
    bundles = {"untouched": exported.case_bundle}
    bundles.update({v.name: v.change(exported.case_bundle) for v in VECTORS})
    paths = []
    for name, data in bundles.items():
        path = tmp_path / f"{name}.zip"
        path.write_bytes(data)
        paths.append(str(path))
    marks = tmp_path / "marks"
    marks.mkdir()
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    run = subprocess.run([sys.executable, "-c", _SCRIPT, str(marks), *paths], cwd=REPO,
                         env=env, capture_output=True, text=True, timeout=600, check=False)
    assert run.returncode == 0, run.stderr[-3000:]
    lines = [json.loads(line) for line in run.stdout.splitlines()]
    assert [line["path"] for line in lines] == paths
    for line, name in zip(lines, bundles, strict=True):
        assert line["one"] == line["many"], name
        expected = "invalid" if name != "untouched" else "not_established"
        assert line["one"]["result"] == expected, (name, line["one"]["result"])
    assert len(list(marks.iterdir())) >= 2 * len(paths)  # two workers per verification
