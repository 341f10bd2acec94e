"""Print the app's OpenAPI document as YAML: `python -m service.openapi > openapi.yaml`.

`tests/service/test_openapi.py` fails when the committed file drifts from the app.
"""

from __future__ import annotations

import sys

import yaml

from service.main import create_app
from service.settings import Settings


def document() -> str:
    spec = create_app(Settings(admin_token=None)).openapi()
    text: str = yaml.safe_dump(spec, sort_keys=False, allow_unicode=True, width=100)
    return text


if __name__ == "__main__":
    sys.stdout.write(document())
