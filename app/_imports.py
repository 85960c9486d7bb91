"""Make our top-level `slack` package win over slack_sdk's deprecated one of the same name.

slack_sdk still ships a legacy top-level `slack` package in site-packages. An editable
install appends the project to the *end* of the import search, so without this the SDK's
package would shadow ours. We never touch the SDK's files; we only order the search path.
"""

import sys
from pathlib import Path

PROJECT_ROOT = Path(__file__).resolve().parent.parent


def prefer_project_slack() -> None:
    root = str(PROJECT_ROOT)
    if not sys.path or sys.path[0] != root:
        if root in sys.path:
            sys.path.remove(root)
        sys.path.insert(0, root)
    loaded = sys.modules.get("slack")
    if loaded is not None and not _is_ours(loaded.__file__):
        # The SDK's package was imported first; drop it and its submodules so ours loads.
        for name in [n for n in sys.modules if n == "slack" or n.startswith("slack.")]:
            del sys.modules[name]


def _is_ours(module_file: str | None) -> bool:
    # Compare the package folder itself: a virtualenv may live inside the project.
    return module_file is not None and Path(module_file).resolve().parent == PROJECT_ROOT / "slack"
