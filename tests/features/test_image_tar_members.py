"""Images read from inside an uncompressed tar (`shard.tar/key.jpg`, a webdataset shard read like a folder): the
same pixels as the file, a member that is missing, empty, corrupt or cut off by a truncated tar named with its
tar, `check_media_file`'s checks, and an index rebuilt when the tar is rewritten."""
from __future__ import annotations

import io
import re
import tarfile
from concurrent.futures import ProcessPoolExecutor
from multiprocessing import get_context
from pathlib import Path

import numpy as np
import pytest

from mmdata.errors import MediaError
from mmdata.media.files import check_media_file, media_file_problem
from mmdata.media.image import load_rgb_array, open_image
from mmdata.media.tar_members import member_names, read_media_bytes, tar_member
from tests.fakes.img2dataset import jpeg_bytes


def write_tar(path: Path, members: dict[str, bytes]) -> Path:
    with tarfile.open(path, "w") as tar:
        for name, data in members.items():
            info = tarfile.TarInfo(name)
            info.size = len(data)
            tar.addfile(info, io.BytesIO(data))
    return path


@pytest.fixture
def shard(tmp_path):
    """`00000.tar` holding two JPEGs, a caption, an empty member, a text file named .jpg and a cut JPEG; the
    first JPEG also as a plain file."""
    photo = jpeg_bytes(0, size=(64, 48))
    (tmp_path / "plain.jpg").write_bytes(photo)
    return write_tar(tmp_path / "00000.tar", {
        "000000000.jpg": photo, "000000000.txt": b"a caption", "./000000001.jpg": jpeg_bytes(1),
        "empty.jpg": b"", "html.jpg": b"<html>404 Not Found</html>", "cut.jpg": photo[: len(photo) // 2]})


def test_a_member_decodes_to_the_same_pixels_as_the_file(shard):
    member = shard / "000000000.jpg"
    for min_size in (None, 16):
        np.testing.assert_array_equal(load_rgb_array(member, min_size=min_size),
                                      load_rgb_array(shard.parent / "plain.jpg", min_size=min_size))
    assert open_image(shard / "000000001.jpg").size == (32, 24)  # stored as ./000000001.jpg
    assert read_media_bytes(member) == (shard.parent / "plain.jpg").read_bytes()
    assert check_media_file(member, "image") == (shard.parent / "plain.jpg").stat().st_size


def test_a_missing_member_is_named_with_its_tar(shard):
    with pytest.raises(MediaError, match=r"image file not found: member '000000009.jpg' is not in the tar "
                                         rf".*00000.tar \(6 members.*`tar -tf {shard}`"):
        open_image(shard / "000000009.jpg")
    assert "is not in the tar" in media_file_problem(shard / "000000009.jpg", "image")


def test_empty_corrupt_and_cut_members_are_media_errors_naming_tar_and_member(shard):
    with pytest.raises(MediaError, match=r"image file is empty \(0 bytes\): member 'empty.jpg' of the tar"):
        open_image(shard / "empty.jpg")
    with pytest.raises(MediaError, match=rf"not an image: {shard}/html.jpg .*starts with b'<html>404 Not Fo'"):
        open_image(shard / "html.jpg")
    with pytest.raises(MediaError, match=rf"corrupt or truncated: {shard}/cut.jpg"):
        open_image(shard / "cut.jpg")


def test_a_truncated_tar_names_the_member_it_cuts(shard, tmp_path):
    data = shard.read_bytes()
    offset, size = member_names(shard)["000000000.jpg"]
    cut = tmp_path / "cut.tar"
    cut.write_bytes(data[: offset + size // 2])
    with pytest.raises(MediaError, match=rf"image file is truncated: member '000000000.jpg' of the tar {cut} should "
                                         rf"hold {size} bytes, the tar ends after {size // 2}"):
        open_image(cut / "000000000.jpg")


def test_a_file_that_is_no_tar_is_named(tmp_path):
    (tmp_path / "fake.tar").write_bytes(b"x" * 2000)
    with pytest.raises(MediaError, match=r"tar file cannot be read: .*fake.tar .*expected an uncompressed tar"):
        open_image(tmp_path / "fake.tar" / "a.jpg")


def test_only_images_are_read_from_a_tar_and_a_folder_named_tar_is_a_folder(shard, tmp_path):
    with pytest.raises(MediaError, match="only images are read from inside a tar"):
        check_media_file(shard / "000000000.txt", "audio")
    folder = tmp_path / "photos.tar"
    folder.mkdir()
    (folder / "a.jpg").write_bytes(jpeg_bytes(2))
    assert tar_member(folder / "a.jpg") is None and open_image(folder / "a.jpg").size == (32, 24)
    assert tar_member(tmp_path / "plain.jpg") is None


def test_a_rewritten_tar_is_indexed_again(shard):
    assert open_image(shard / "000000001.jpg").size == (32, 24)
    write_tar(shard, {"000000001.jpg": jpeg_bytes(1, size=(20, 10)), "padding.bin": b"x" * 10000})
    assert open_image(shard / "000000001.jpg").size == (20, 10)


def _decode_in_worker(path: str) -> tuple[int, ...]:
    return load_rgb_array(Path(path)).shape


def test_a_spawned_worker_reads_members_with_its_own_index(shard):
    with ProcessPoolExecutor(1, mp_context=get_context("spawn")) as pool:
        assert pool.submit(_decode_in_worker, str(shard / "000000000.jpg")).result() == (48, 64, 3)


def test_a_missing_member_of_a_one_member_tar_lists_it_without_an_ellipsis(tmp_path):
    one = write_tar(tmp_path / "one.tar", {"a.jpg": jpeg_bytes(0)})
    with pytest.raises(MediaError, match=re.escape("(1 member: 'a.jpg'); expected the path <tar>/<member>")):
        open_image(one / "b.jpg")


def test_the_report_gallery_and_share_name_a_missing_member_by_its_tar_not_as_a_moved_corpus(shard):
    from mmdata.report.gallery import _media_path
    from mmdata.share.media import _require_media_file

    for read in (lambda: _media_path({"image": "00000.tar/000000009.jpg"}, "image", shard.parent),
                 lambda: _require_media_file(shard / "000000009.jpg", "image")):
        with pytest.raises(MediaError, match="member '000000009.jpg' is not in the tar") as raised:
            read()
        assert "--corpus-root" not in str(raised.value)
