"""The tar index reads a tar's headers itself (`tar_members._scanned`): the same {member: (data offset, size)} as
`tarfile` for pax tars (webdataset writes a pax header per member, for its float mtime), GNU tars with long names,
ustar tars with the prefix field, folders, `./` names and non-ASCII names; a header it does not follow (a bad
checksum) leaves the tar to `tarfile`; a tar cut short keeps the members before the cut and says so."""
from __future__ import annotations

import io
import logging
import tarfile

import pytest

from mmdata.media import tar_members

LONG = "a/" * 60 + "deep.jpg"  # past ustar's 100-byte name field


def tarfile_index(path):
    with tarfile.open(path, "r:") as archive:
        return {(i.name[2:] if i.name.startswith("./") else i.name): (i.offset_data, i.size)
                for i in archive if i.isreg()}


def write_tar(path, names, tar_format, mtime=1700000000.5):
    with tarfile.open(path, "w", format=tar_format) as tar:
        for index, name in enumerate(names):
            info = tarfile.TarInfo(name.rstrip("/"))
            if name.endswith("/"):
                info.type = tarfile.DIRTYPE
                tar.addfile(info)
                continue
            data = bytes([index % 251]) * (index * 37 % 1500)
            info.size, info.mtime = len(data), mtime
            tar.addfile(info, io.BytesIO(data))
    return path


def scanned(path):
    with open(path, "rb") as f:
        return tar_members._scanned(f, path.stat().st_size, str(path))


KEYS = [f"{i:09d}.{ext}" for i in range(20) for ext in ("jpg", "json", "txt")]


@pytest.mark.parametrize(("tar_format", "extra"), [
    (tarfile.PAX_FORMAT, [LONG, "ünïcödé.jpg", "dir/", "dir/x.jpg", "./dot.jpg"]),
    (tarfile.GNU_FORMAT, [LONG, "ünïcödé.jpg", "dir/", "dir/x.jpg", "./dot.jpg"]),
    (tarfile.USTAR_FORMAT, ["b/" * 40 + "prefixed.jpg", "dir/", "dir/x.jpg", "./dot.jpg"]),
])
@pytest.mark.parametrize("mtime", [1700000000.5, 1700000000])
def test_the_scan_lists_what_tarfile_lists(tmp_path, tar_format, extra, mtime):
    path = write_tar(tmp_path / "shard.tar", KEYS + extra, tar_format, mtime)
    index = scanned(path)
    assert index is not None and index == tarfile_index(path)
    assert {LONG, "ünïcödé.jpg"} & set(index) or tar_format == tarfile.USTAR_FORMAT


def test_a_bad_checksum_leaves_the_tar_to_tarfile(tmp_path):
    path = write_tar(tmp_path / "shard.tar", KEYS, tarfile.USTAR_FORMAT)
    data = bytearray(path.read_bytes())
    data[150] ^= 0x01  # a digit of the first header's checksum
    path.write_bytes(bytes(data))
    assert scanned(path) is None
    tar_members._index.cache_clear()
    with pytest.raises(tar_members.MediaError, match="tar file cannot be read: .*shard.tar"):  # tarfile's verdict
        tar_members.member_names(path)


def test_a_cut_tar_keeps_the_members_before_the_cut(tmp_path, caplog):
    path = write_tar(tmp_path / "shard.tar", KEYS, tarfile.PAX_FORMAT)
    whole = tarfile_index(path)
    last = max(whole.values())
    cut = tmp_path / "cut.tar"
    cut.write_bytes(path.read_bytes()[:last[0] + 10])  # inside the last member's data
    with caplog.at_level(logging.WARNING, logger="mmdata.media.tar_members"):
        index = scanned(cut)
    assert index == whole  # the member cut off is listed: reading it says it is truncated
    assert "the tar is cut short after 60 members" in caplog.text


def test_an_empty_file_is_no_tar(tmp_path):
    path = tmp_path / "empty.tar"
    path.write_bytes(b"")
    assert scanned(path) is None
    tar_members._index.cache_clear()
    with pytest.raises(tar_members.MediaError, match="tar file cannot be read"):
        tar_members.member_names(path)
