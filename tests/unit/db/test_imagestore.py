"""The content-addressed image store on a real directory."""

from __future__ import annotations

import os
import time

import pytest

from db import ImageStore


def test_put_names_files_by_content_and_get_returns_them(tmp_path):
    store = ImageStore(tmp_path)
    digest = store.put(b"same bytes", "png")
    assert store.put(b"same bytes", "png") == digest
    assert store.get(digest, "png") == b"same bytes"
    assert store.path(digest, "png").parent.name == digest[:2]
    with pytest.raises(ValueError, match="SHA-256"):
        store.path("../../etc/passwd", "png")


def test_sweep_deletes_old_files_of_one_kind_except_those_kept(tmp_path):
    store = ImageStore(tmp_path)
    old, shown, fresh = (store.put(data, "jpg") for data in (b"old", b"shown", b"fresh"))
    result = store.put(b"a result", "png")
    an_hour_ago = time.time() - 3600
    for digest, ext in ((old, "jpg"), (shown, "jpg"), (result, "png")):
        os.utime(store.path(digest, ext), (an_hour_ago, an_hour_ago))
    assert store.sweep("jpg", older_than_s=600, keep={shown}) == 1
    assert not store.path(old, "jpg").exists()
    assert all(store.path(d, "jpg").exists() for d in (shown, fresh))
    assert store.path(result, "png").exists()  # another kind of file
