"""What a build must agree on with the server that serves it, checked in one place.

A build's manifest records its format version and the ranking profile of the process that built it (fusion
weights, candidate count, companion encoder, confidence calibration, answer thresholds). The confidence model
and the thresholds were fitted on one ranking; a server that ranks differently still answers, but its
confidence means something else, so the difference must be visible, not silent.

- errors: the server cannot use the build (made by a newer Ayuda, or with another embedding model): the store
  keeps serving the build it has, and says why.
- warnings: the server can use the build, but not quite as it was made (another companion encoder, another
  ranking profile, a build from before profiles): logged when the build loads and shown by /readyz.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

FORMAT_VERSION = 3  # 1: before the "format" field; 2: a flat faiss.index; 3: `dense_index` (app/retrieval/ann.py). All read


@dataclass(frozen=True)
class Expected:
    """What this server is: its models and its ranking profile."""

    model_id: str
    companion_id: str = ""
    profile: dict[str, Any] = field(default_factory=dict)
    vectors: dict[str, str] = field(default_factory=dict)  # how this server's builds make vectors (`vector_recipe`)


@dataclass
class Compatibility:
    errors: list[str] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)


def check(manifest: dict[str, Any], expected: Expected) -> Compatibility:
    out = Compatibility()
    build = manifest.get("build_id", "?")
    version = int(manifest.get("format", 1))
    if version > FORMAT_VERSION:
        out.errors.append(f"index build {build} has format {version}, made by a newer Ayuda; this server reads "
                          f"formats up to {FORMAT_VERSION}: upgrade the server, or run `ayuda index --full`")
        return out
    model = (manifest.get("embedding_model") or {}).get("id", "")
    if model != expected.model_id:
        out.errors.append(f"index build {build} was made with {model}, but this server uses {expected.model_id}; "
                          "run `ayuda index --full`")
        return out
    companion = manifest.get("companion_model") or ""
    if expected.companion_id and companion != expected.companion_id:
        out.warnings.append(f"index build {build} has companion vectors {companion or 'none'!r}, this server uses "
                            f"{expected.companion_id!r}: ranking without the companion until `ayuda index` "
                            "rebuilds it")
    if expected.vectors and vector_recipe(manifest) != expected.vectors:
        out.warnings.append(f"index build {build} made its vectors another way ({vector_recipe(manifest)}) than this "
                            f"server's builds do ({expected.vectors}): ranking and confidence may differ from the eval "
                            "until `ayuda index` re-embeds it")
    recorded = manifest.get("ranking_profile")
    if recorded is None:
        out.warnings.append(f"index build {build} was made before ranking profiles were recorded; "
                            "`ayuda index` records this server's")
    elif expected.profile:
        changed = differences(recorded, expected.profile)
        if changed:
            out.warnings.append(f"index build {build} was made with another ranking profile ({'; '.join(changed)}); "
                                "confidence was calibrated on the build's: run `ayuda eval` before trusting it, "
                                "or rebuild with these settings")
    return out


def vector_recipe(manifest: dict[str, Any]) -> dict[str, str]:
    """How a build made its vectors (the manifest's "vectors"); builds from before it was recorded encoded every
    sentence on its own."""
    return {"sentences": "encoded", **(manifest.get("vectors") or {})}


def differences(build: dict[str, Any], server: dict[str, Any], prefix: str = "") -> list[str]:
    """'key: build X, server Y' for every leaf that differs."""
    out: list[str] = []
    for key in sorted(set(build) | set(server)):
        a, b = build.get(key), server.get(key)
        if isinstance(a, dict) and isinstance(b, dict):
            out += differences(a, b, f"{prefix}{key}.")
        elif a != b:
            out.append(f"{prefix}{key}: build {a}, server {b}")
    return out
