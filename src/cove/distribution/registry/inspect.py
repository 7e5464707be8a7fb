"""``GET /distribution/{name}/json``: what a registry holds for a reference, without pulling.

The answer is dockerd's: the descriptor of the manifest the name points at (an index when
it is one) and the platforms it offers: every entry's platform for an index, or the
platform the image's config declares for a single manifest (that needs one small blob).
"""

from __future__ import annotations

import json
from typing import Any

from cove.distribution.registry import auth
from cove.distribution.registry.endpoints import RegistryConfig
from cove.distribution.registry.manifest import INDEXES, parse_manifest
from cove.distribution.registry.pull import open_session, small_blob
from cove.oci.reference import Reference
from cove.util.jsontypes import Json

_PLATFORM_KEYS = ("architecture", "os", "os.version", "os.features", "variant", "features")


def _platform(p: Any) -> Json:
    """A platform with only the fields that are set (clients compare whole dicts)."""
    if not isinstance(p, dict):
        return {}
    return {k: p[k] for k in _PLATFORM_KEYS if p.get(k)}


def inspect_distribution(cfg: RegistryConfig, ref: Reference, creds: auth.Credentials) -> Json:
    sess, raw, media_type, digest = open_session(cfg, ref, creds)
    try:
        if media_type in INDEXES:
            entries = json.loads(raw).get("manifests") or []
            platforms = [_platform(m.get("platform")) for m in entries if isinstance(m, dict)]
        else:
            config = json.loads(small_blob(sess, parse_manifest(raw).config))
            platforms = [_platform(config)]
    finally:
        sess.close()
    return {
        "Descriptor": {"mediaType": media_type, "digest": digest, "size": len(raw)},
        "Platforms": [p for p in platforms if p],
    }
