"""The one name for a JSON object as the engine and the API pass it around.

Records and API bodies are still plain dicts at the edges (Docker's shapes); this alias
only says so once instead of in every module.
"""

from __future__ import annotations

from typing import Any

Json = dict[str, Any]
"""A decoded JSON object (``json.loads`` of ``{...}``)."""
