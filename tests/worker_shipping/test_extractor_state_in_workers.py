"""State an extractor holds outside its config (a constructor argument, an attribute set after
construction) does not reach decode worker processes, which rebuild the extractor from its config:
`-j 2` used to write other features than `-j 0`, silently, with the same recorded config. A run that
would send such an extractor to workers now stops with a ConfigError naming the attribute and where it
belongs; auto mode decodes it in this process, saying why. Lazily loaded models and caches (what each
process builds for itself, as the built-in extractors do) are not state."""
from __future__ import annotations

import numpy as np
import pytest

from mmdata.errors import ConfigError
from mmdata.executors import _why_not_sendable, check_sendable
from mmdata.features import available_extractors, create_extractor
from mmdata.pipeline import extract
from mmdata.sample_data import sample_corpus_dir
from mmdata.store import open_dataset
from tests.worker_shipping.extension_extractors import LazyModel, Offset

TABLE = "image.test-offset"


def _features(out) -> set[float]:
    table = open_dataset(out).read_table(TABLE)
    return set(np.asarray(table["feature"].combine_chunks().flatten()).tolist())


def test_state_outside_the_config_stops_a_run_with_decode_workers_naming_it(tmp_path):
    with pytest.raises(ConfigError, match=r"extractor 'test-offset' \(class Offset\) holds state outside its config "
                                          r"that decode worker processes would not get: offset = 5\.0 here, 0\.0 there"
                                          r".*self\.config\.offset.*num_workers=0"):
        extract("coco", sample_corpus_dir("coco"), tmp_path / "out", extractors=[Offset(offset=5.0)], num_workers=2)
    assert not list((tmp_path / "out").glob("features/*/part-*"))


def test_state_outside_the_config_is_used_when_decoding_in_this_process(tmp_path):
    extract("coco", sample_corpus_dir("coco"), tmp_path / "out", extractors=[Offset(offset=5.0)], num_workers=0)
    assert _features(tmp_path / "out") == {5.0}


def test_auto_mode_decodes_an_extractor_with_state_outside_its_config_in_this_process(tmp_path, caplog):
    with caplog.at_level("WARNING", logger="mmdata.executors"):
        report = extract("coco", sample_corpus_dir("coco"), tmp_path / "out", extractors=[Offset(offset=5.0)],
                         num_workers=None)
    assert _features(tmp_path / "out") == {5.0}
    assert report.tables[0].decoded_in.startswith("this process (its state cannot be sent to worker processes: ")
    assert "offset = 5.0 here" in caplog.text


def test_attributes_changed_or_added_after_construction_are_named():
    extractor = Offset()
    extractor.offset = 2.0
    extractor.scale = 3
    with pytest.raises(ConfigError, match=r"offset = 2\.0 here, 0\.0 there; scale = 3 here, unset there"):
        check_sendable(extractor)


def test_an_extractor_with_only_its_config_and_defaults_is_sendable():
    assert _why_not_sendable(Offset()) is None
    assert _why_not_sendable(Offset(offset=0.0)) is None


def test_lazily_loaded_models_and_caches_are_not_taken_for_state():
    extractor = LazyModel()
    extractor.load()  # as compute does in the main process before a later table is sent to workers
    assert _why_not_sendable(extractor) is None


def test_no_builtin_extractor_trips_the_check_even_over_another_extractor():
    for name in available_extractors():
        assert _why_not_sendable(create_extractor(name)) is None, name
    frames = create_extractor("video-frames:image_extractor=color-hist,image_options=bins=4,fps=2")
    assert _why_not_sendable(frames) is None
    frames.image.bins_seen = 4  # state of the extractor it holds is compared too
    assert "image.bins_seen = 4 here, unset there" in _why_not_sendable(frames)
