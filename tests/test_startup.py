"""Start-up refusals: an unsupported database URL is a bad setting (exit 2, one line, no password)."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.test_config import _run_main

SECRET = "hunter2-Secret"


@pytest.mark.slow
def test_unsupported_database_url_exits_2(tmp_path: Path) -> None:
    result = _run_main([], {"MODULEGAZE_DATABASE_URL": f"mysql://root:{SECRET}@127.0.0.1/gaze"}, tmp_path)
    assert result.returncode == 2, result.stderr
    lines = result.stderr.splitlines()
    assert len(lines) == 1 and lines[0].startswith("modulegaze: MODULEGAZE_DATABASE_URL: "), result.stderr
    assert "unsupported database URL" in lines[0] and "mysql://root:***@127.0.0.1/gaze" in lines[0]
    assert SECRET not in result.stderr and "Traceback" not in result.stderr
    assert not (tmp_path / "data").exists()
