"""Regenerate components/static/tailwind.css, the prebuilt stylesheet every page links (the app runs
with `ui.run(tailwind=False)`: no Tailwind compiler in the browser).

    python scripts/build_css.py            # needs node and npm (a developer's machine; not the Pi)

The Tailwind CLI of the version NiceGUI ships in the browser (read from NiceGUI's
static/tailwindcss.min.js, so the rules are the ones the pages had) builds Tailwind's base styles
and exactly the utilities our Python code uses: tests/stylekit.py `used_classes()` reads them from
main.py, components/ and pages/. tests/test_stylesheet.py fails when a class is used that the
committed sheet does not define: run this script and commit the sheet.
The CLI is installed with npm into a temporary folder (npm's cache keeps it for the next run).
"""

from __future__ import annotations

import re
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from tests.stylekit import used_classes  # noqa: E402

OUTPUT = ROOT / "components" / "static" / "tailwind.css"
# NiceGUI's own addition to the in-browser compiler's input (templates/index.html)
NICEGUI_INPUT = "@custom-variant dark (&:where(body.body--dark, body.body--dark *));"


def nicegui_tailwind_version() -> str:
    import nicegui

    script = Path(nicegui.__file__).parent / "static" / "tailwindcss.min.js"
    found = re.search(r'var \w+="(\d+\.\d+\.\d+)"', script.read_text(encoding="utf-8")[:2000])
    if found is None:
        raise SystemExit(f"no Tailwind version found at the start of {script}")
    return found[1]


def main() -> int:
    version = nicegui_tailwind_version()
    if not version.startswith("4."):
        raise SystemExit(f"NiceGUI ships Tailwind {version}: this script writes a v4 input")
    classes = sorted(used_classes())
    with tempfile.TemporaryDirectory() as tmp:
        packages = [f"@tailwindcss/cli@{version}", f"tailwindcss@{version}"]
        subprocess.run(["npm", "install", "--prefix", tmp, "--no-audit", "--no-fund", *packages], check=True)
        cli = [str(Path(tmp) / "node_modules" / ".bin" / "tailwindcss")]
        source = Path(tmp) / "input.css"
        # source(none): no scanning of files; the class list is the input (`@source inline`)
        source.write_text(
            f'@import "tailwindcss" source(none);\n{NICEGUI_INPUT}\n@source inline("{" ".join(classes)}");\n',
            encoding="utf-8",
        )
        OUTPUT.parent.mkdir(parents=True, exist_ok=True)
        subprocess.run([*cli, "--input", str(source), "--output", str(OUTPUT), "--minify"], check=True, cwd=tmp)
    header = f"/* Tailwind {version} for Module Gaze: made by scripts/build_css.py, do not edit */\n"
    OUTPUT.write_text(header + OUTPUT.read_text(encoding="utf-8"), encoding="utf-8")
    print(f"{OUTPUT.relative_to(ROOT)}: Tailwind {version}, {len(classes)} class names, {OUTPUT.stat().st_size} bytes")
    return 0


if __name__ == "__main__":
    sys.exit(main())
