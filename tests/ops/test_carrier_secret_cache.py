"""The callback route's cache of carrier secrets (config/carrier_secrets.py): read once,
read again when the file changes, so a rotated secret takes effect at the next callback."""

from __future__ import annotations

import json
import os
from pathlib import Path

from config.carrier_secrets import SecretCache, carrier_secret, secrets_file
from config.settings import Settings


def test_a_secret_is_made_once_and_a_rotated_one_is_read_at_the_next_request(tmp_path: Path):
    settings = Settings(var_dir=tmp_path, carrier_secrets={"fixed": "from-the-settings"})
    cache = SecretCache(settings)
    made = cache.get("acme")
    assert made == carrier_secret(settings, "acme") and len(made) == 64
    assert cache.get("acme") == made
    assert cache.get("fixed") == "from-the-settings"

    path = secrets_file(settings)
    path.write_text(json.dumps({"acme": "rotated"}))
    stat = path.stat()
    os.utime(path, ns=(stat.st_atime_ns, stat.st_mtime_ns + 1_000_000))
    assert cache.get("acme") == "rotated"
