"""event-targets: a sample's timed events (`extra.events`) as frame-level multi-hot targets over its audio span."""
from __future__ import annotations

import json
import math

import numpy as np
import pytest

from mmdata.checks.temporal import expected_frames
from mmdata.errors import ConfigError, CorpusFormatError
from mmdata.features import create_extractor

CLASSES = ("Speech", "Dog", "Music")


@pytest.fixture
def classes_file(tmp_path):
    path = tmp_path / "classes.txt"
    path.write_text("".join(f"{name}\n" for name in CLASSES), encoding="utf-8")
    return path


def extractor(classes_file, **options):
    spec = ",".join([f"classes={classes_file}", *(f"{key}={value}" for key, value in options.items())])
    return create_extractor(f"event-targets:{spec}")


def row(events, sample_id="clip", start=None, end=None, **extra):
    return {"sample_id": sample_id, "start": start, "end": end,
            "extra": json.dumps({"events": events, **({"audio_duration": 10.0} | extra)})}


def targets(ext, *rows):
    return ext.compute([ext.decode(r, None) for r in rows])


def test_spec_declares_a_sequence_of_one_column_per_class_at_the_frame_rate(classes_file):
    ext = extractor(classes_file, frame_rate=25)
    spec = ext.output_spec()
    assert (ext.table_name, ext.modality) == ("audio.event-targets", "audio")
    assert (spec.kind, spec.dim, spec.dtype, spec.intervals, spec.frame_rate, spec.item_axis, spec.frame_window) == \
        ("sequence", 3, "float32", True, 25.0, "time", None)


@pytest.mark.parametrize(("duration", "rate", "frames"), [(10.0, 10.0, 100), (2.05, 10.0, 21), (1.0, 3.0, 3),
                                                          (9.999, 10.0, 100), (0.3, 100.0, 30), (0.0, 10.0, 0)])
def test_frames_tile_the_audio_with_the_count_check_expects(classes_file, duration, rate, frames):
    (values, intervals), = targets(extractor(classes_file, frame_rate=rate), row([], audio_duration=duration))
    assert values.shape == (frames, 3) and values.dtype == np.float32 and not values.any()
    assert len(intervals) == frames
    assert abs(frames - expected_frames(np.array([duration]), rate, None)[0]) < 1  # check's tolerance is 2 frames
    if frames:
        np.testing.assert_allclose(intervals[:, 0], np.arange(frames) / rate)
        np.testing.assert_allclose(intervals[:-1, 1], np.arange(1, frames) / rate)
        assert intervals[-1, 1] == pytest.approx(duration)  # the last frame cut at the end


#: Frames [0, 0.1), [0.1, 0.2), [0.2, 0.3) of a 0.3 s clip at 10 Hz.
EVENTS = [[0.0, 0.25, "Speech"], [0.12, 0.16, "Dog"], [0.15, 0.3, "Music"]]
#: The fraction of each frame each class covers, by hand: Speech 0.1, 0.1, 0.05 s; Dog 0.04 s of the second frame;
#: Music 0.05 s of the second, the whole third.
SOFT = [[1.0, 0.0, 0.0], [1.0, 0.4, 0.5], [0.5, 0.0, 1.0]]


def test_soft_targets_are_the_fraction_of_each_frame_a_class_covers(classes_file):
    (values, _), = targets(extractor(classes_file, targets="soft"), row(EVENTS, audio_duration=0.3))
    np.testing.assert_allclose(values, SOFT, atol=1e-6)


def test_hard_targets_mark_the_frames_a_class_covers_at_least_half_of(classes_file):
    (values, _), = targets(extractor(classes_file), row(EVENTS, audio_duration=0.3))
    np.testing.assert_array_equal(values, [[1, 0, 0], [1, 0, 1], [1, 0, 1]])


def test_overlapping_events_of_one_class_count_once_and_abutting_ones_add_up(classes_file):
    events = [[0.0, 0.15, "Music"], [0.05, 0.15, "Music"], [0.12, 0.14, "Music"],  # one stretch, 0.15 s
              [0.0, 0.05, "Speech"], [0.2, 0.24, "Dog"], [0.24, 0.28, "Dog"]]  # Dog: 0.04 + 0.04 s of the last frame
    (soft, _), = targets(extractor(classes_file, targets="soft"), row(events, audio_duration=0.3))
    np.testing.assert_allclose(soft, [[0.5, 0.0, 1.0], [0.0, 0.0, 0.5], [0.0, 0.8, 0.0]], atol=1e-6)
    (hard, _), = targets(extractor(classes_file), row(events, audio_duration=0.3))
    np.testing.assert_array_equal(hard, [[1, 0, 1], [0, 0, 1], [0, 1, 0]])


def test_the_last_frame_cut_short_is_measured_by_its_own_length(classes_file):
    # 0.25 s: the third frame is [0.2, 0.25); Music covers 0.02 s of it (0.4), Speech 0.03 s (0.6)
    events = [[0.23, 0.3, "Music"], [0.0, 0.23, "Speech"]]
    (soft, intervals), = targets(extractor(classes_file, targets="soft"), row(events, audio_duration=0.25))
    np.testing.assert_allclose(intervals[-1], [0.2, 0.25])
    np.testing.assert_allclose(soft[-1], [0.6, 0.0, 0.4], atol=1e-6)


def test_an_event_starting_past_a_cut_last_frame_takes_nothing_from_the_frame(classes_file):
    # 1.04 s at 10 Hz: the last frame is [1.0, 1.04); Speech covers 0.03 s of it, then starts again at 1.06,
    # past the audio's end (an AudioSet file shorter than the 10 s its events are annotated over)
    events = [[0.98, 1.03, "Speech"], [1.06, 1.09, "Speech"]]
    (soft, intervals), = targets(extractor(classes_file, targets="soft"), row(events, audio_duration=1.04))
    (hard, _), = targets(extractor(classes_file), row(events, audio_duration=1.04))
    np.testing.assert_allclose(intervals[-1], [1.0, 1.04])
    np.testing.assert_allclose(soft[-1], [0.75, 0.0, 0.0], atol=1e-6)
    np.testing.assert_allclose(soft[-2], [0.2, 0.0, 0.0], atol=1e-6)
    assert hard[-1].tolist() == [1.0, 0.0, 0.0]


def test_a_sample_cut_from_a_longer_file_covers_its_segment_in_file_seconds(classes_file):
    events = [[29.0, 30.15, "Speech"], [31.95, 40.0, "Dog"], [5.0, 6.0, "Music"]]  # Music: before the segment
    (values, intervals), = targets(extractor(classes_file), row(events, start=30.0, end=32.0))
    assert values.shape == (20, 3)
    np.testing.assert_allclose(intervals[[0, -1]], [[30.0, 30.1], [31.9, 32.0]])
    np.testing.assert_array_equal(values[:, 0], [1, 1] + [0] * 18)  # [30.1, 30.2): 0.05 s, half of it
    np.testing.assert_array_equal(values[:, 1], [0] * 19 + [1])
    assert not values[:, 2].any()


def test_a_segment_with_a_start_only_ends_where_its_audio_ends(classes_file):
    (values, intervals), = targets(extractor(classes_file), row([], start=2.0, audio_duration=3.0))
    assert len(values) == 10 and intervals[0, 0] == 2.0 and intervals[-1, 1] == pytest.approx(3.0)


def test_audio_starting_after_zero_in_its_file_is_framed_from_its_start(classes_file):
    extra = {"audio_duration": 1.0, "audio_media_start": 1.4}
    (values, intervals), = targets(extractor(classes_file), row([[1.4, 1.6, "Dog"]], **extra))
    assert len(values) == 10
    np.testing.assert_allclose(intervals[[0, -1]], [[1.4, 1.5], [2.3, 2.4]])
    np.testing.assert_array_equal(values[:, 1], [1, 1] + [0] * 8)


def test_the_duration_keys_check_reads_give_the_span_too(classes_file):
    (values, _), = targets(extractor(classes_file), {"sample_id": "m", "start": None, "end": None,
                                                    "extra": {"events": [], "duration": 0.5}})  # a dict is read too
    assert values.shape == (5, 3)


def test_a_sample_without_events_gets_all_zero_frames(classes_file):
    (values, intervals), = targets(extractor(classes_file, targets="soft"), row([]))
    assert values.shape == (100, 3) and not values.any() and len(intervals) == 100


def union_seconds_inside(events: list[list], lo: float, hi: float) -> float:
    """The seconds of [lo, hi] that the union of `events` covers, by sweeping their clipped pieces in order."""
    pieces = sorted((max(s, lo), min(e, hi)) for s, e, _ in events if min(e, hi) > max(s, lo))
    total, reach = 0.0, lo
    for start, end in pieces:
        total += max(0.0, end - max(start, reach))
        reach = max(reach, end)
    return total


@pytest.mark.parametrize("seed", range(12))
def test_soft_and_hard_targets_equal_each_frames_union_measured_alone(classes_file, seed):
    """Against each frame's coverage measured alone, on spans whose last frame is cut short and events that run
    past either end of the span (an audio file shorter than its annotation)."""
    rng = np.random.default_rng(seed)
    events = sorted([float(s), float(s + rng.choice([0.0, 0.03, 0.1, rng.uniform(0, 2)])), CLASSES[rng.integers(3)]]
                    for s in rng.uniform(0, 4.9, 25))
    start, end = [(None, None), (0.35, 4.12), (None, None), (1.02, 3.0)][seed % 4]
    duration = [4.6, 4.6, 4.58, 4.6][seed % 4]  # 4.58 s at 7 Hz: the last frame is cut to 0.01 s
    (soft, intervals), = targets(extractor(classes_file, targets="soft", frame_rate=7),
                                 row(events, start=start, end=end, audio_duration=duration))
    (hard, _), = targets(extractor(classes_file, frame_rate=7), row(events, start=start, end=end, audio_duration=duration))
    for k, (lo, hi) in enumerate(intervals):
        for c, name in enumerate(CLASSES):
            covered = union_seconds_inside([e for e in events if e[2] == name], lo, hi)
            assert soft[k, c] == pytest.approx(covered / (hi - lo), abs=1e-6)
            assert hard[k, c] == float(covered >= 0.5 * (hi - lo) - 1e-9)


def test_many_events_and_classes_in_one_sample(tmp_path):
    names = [f"class {i}" for i in range(527)]
    path = tmp_path / "many.txt"
    path.write_text("\n".join(names), encoding="utf-8")
    rng = np.random.default_rng(0)
    starts = rng.uniform(0, 600, 300)
    events = [[float(s), float(s + rng.uniform(0, 5)), names[int(rng.integers(527))]] for s in starts]
    ext = extractor(path, targets="soft", frame_rate=10)
    (values, intervals), = targets(ext, row(events, audio_duration=600.0))
    assert values.shape == (6000, 527) and 0 <= values.min() and values.max() <= 1
    event = events[0]
    column = names.index(event[2])
    inside = (intervals[:, 0] >= event[0]) & (intervals[:, 1] <= event[1])
    assert (values[inside, column] == 1).all()


@pytest.mark.parametrize(("events", "match"), [
    ([[0.0, 1.0]], r"\[0\] = \[0.0, 1.0\]; expected \[start, end, class name\]"),
    ([[0.0, 1.0, "Speech"], [2.0, 1.0, "Dog"]], r"\[1\] = \[2.0, 1.0, 'Dog'\]; expected .*0 <= start <= end"),
    ([[-1.0, 1.0, "Dog"]], r"\[0\] = \[-1.0, 1.0, 'Dog'\]"),
    ([["0", 1.0, "Dog"]], r"\[0\] = \['0', 1.0, 'Dog'\]"),
    ([[True, 1.0, "Dog"]], r"\[0\] = \[True, 1.0, 'Dog'\]"),
    ([[0.0, math.inf, "Dog"]], r"\[0\] = \[0.0, inf, 'Dog'\]"),
    ([[0.0, 1.0, " "]], r"\[0\] = \[0.0, 1.0, ' '\].*non-blank name"),
    (["Dog"], r"\[0\] = 'Dog'"),
])
def test_a_malformed_event_names_the_sample_and_the_event(classes_file, events, match):
    with pytest.raises(CorpusFormatError, match=rf"^sample 'bad-1': extra\['events'\]{match}"):
        extractor(classes_file).decode(row(events, "bad-1"), None)


def test_an_event_class_not_in_the_classes_file_names_it_the_file_and_the_closest_class(classes_file):
    with pytest.raises(CorpusFormatError, match=rf"^sample 'c7': event class 'Musc' \(extra\['events'\]\[1\]\) is not in "
                                                rf"the classes file {classes_file}; the closest class there is 'Music'"):
        extractor(classes_file).decode(row([[0.0, 1.0, "Dog"], [0.0, 1.0, "Musc"]], "c7"), None)


@pytest.mark.parametrize("extra", [{"audio_duration": 10.0}, {"events": {"Speech": [0, 1]}}, None])
def test_a_sample_without_an_event_list_says_what_is_expected(classes_file, extra):
    bad = {"sample_id": "no-events", "extra": None if extra is None else json.dumps(extra)}
    with pytest.raises(CorpusFormatError, match=r"^sample 'no-events' has no event list: expected "
                                                r"extra\['events'\] = \[\[start, end, class name\], ...\].*strong=true"):
        extractor(classes_file).decode(bad, None)


def test_an_unknown_duration_names_the_keys_looked_for(classes_file):
    bad = {"sample_id": "nolen", "start": 1.0, "end": None, "extra": json.dumps({"events": []})}
    with pytest.raises(CorpusFormatError, match=r"^sample 'nolen': the length of its audio is unknown: no "
                                                r"extra\['audio_duration'\], extra\['duration'\], "
                                                r"extra\['media_duration'\] and no segment end"):
        extractor(classes_file).decode(bad, None)


def test_extra_that_is_not_json_names_the_sample(classes_file):
    with pytest.raises(CorpusFormatError, match=r"^sample 'j': extra is not valid JSON"):
        extractor(classes_file).decode({"sample_id": "j", "extra": "{events"}, None)


def test_classes_is_required_to_run_and_frame_rate_positive(classes_file):
    named = create_extractor("event-targets")  # named and listed without one (`mmdata extractors`)
    assert named.table_name == "audio.event-targets"
    for step in (named.check_ready, named.output_spec):
        with pytest.raises(ConfigError, match=r"extractor 'event-targets': option classes is required"):
            step()
    for rate in ("0", "-1"):
        with pytest.raises(ConfigError, match=r"frame_rate must be a number of frames per second > 0, got"):
            create_extractor(f"event-targets:classes={classes_file},frame_rate={rate}")
    with pytest.raises(ConfigError, match=r"option 'frame_rate': expected a finite float"):
        create_extractor(f"event-targets:classes={classes_file},frame_rate=nan")
    with pytest.raises(ConfigError, match=r"option 'targets'"):
        create_extractor(f"event-targets:classes={classes_file},targets=fuzzy")


def test_a_classes_file_that_is_missing_or_empty_stops_the_run_before_it_starts(tmp_path):
    missing = create_extractor(f"event-targets:classes={tmp_path / 'none.txt'}")
    with pytest.raises(ConfigError, match=r"option classes=.*none.txt: no such file"):
        missing.check_ready()
    empty = tmp_path / "empty.txt"
    empty.write_text("\n", encoding="utf-8")
    with pytest.raises(ConfigError, match=r"option classes=.*empty.txt: .*names no class"):
        create_extractor(f"event-targets:classes={empty}").check_ready()


def test_the_columns_follow_a_mid_to_display_name_table_in_line_order(tmp_path):
    path = tmp_path / "mid_to_display_name.tsv"
    path.write_text("/m/04rlf\tMusic\n/m/09x0r\tSpeech\n/m/0641k\tPaper rustling\n", encoding="utf-8")
    (values, _), = targets(extractor(path), row([[0.0, 0.1, "Paper rustling"]], audio_duration=0.1))
    np.testing.assert_array_equal(values, [[0, 0, 1]])


def test_provenance_records_the_class_names_by_fingerprint(tmp_path):
    first, same, other = tmp_path / "a.txt", tmp_path / "b.txt", tmp_path / "c.txt"
    first.write_text("Speech\nDog\n", encoding="utf-8")
    same.write_text("\nSpeech\n  Dog\n", encoding="utf-8")  # the same names, read the same
    other.write_text("Dog\nSpeech\n", encoding="utf-8")  # the same names in another order: other columns
    prov = {p.name: extractor(p).provenance() for p in (first, same, other)}
    assert prov["a.txt"]["config"] == {"classes": str(first), "frame_rate": 10.0, "targets": "hard"}
    assert prov["a.txt"]["classes"]["count"] == 2 and prov["a.txt"]["classes"]["path"] == str(first.resolve())
    assert prov["a.txt"]["classes"]["sha256"] == prov["b.txt"]["classes"]["sha256"] != prov["c.txt"]["classes"]["sha256"]
    assert prov["a.txt"]["versions"]["classes:a.txt"] == prov["a.txt"]["classes"]["sha256"][:16]
    json.dumps(prov, allow_nan=False)


def test_the_extractor_travels_to_workers_with_its_class_names_not_the_path(classes_file, tmp_path, monkeypatch):
    """A worker (another process, a Ray node) gets the names read here: the file may be relative to another
    folder, absent there, or edited since."""
    import pickle

    monkeypatch.chdir(classes_file.parent)
    ext = create_extractor("event-targets:classes=classes.txt,targets=soft")
    shipped = pickle.dumps(ext)
    classes_file.write_text("Music\nSpeech\n", encoding="utf-8")  # edited during the run
    monkeypatch.chdir(tmp_path.parent)  # another working folder, where classes.txt is not
    again = pickle.loads(shipped)
    assert again.config == ext.config and again.class_names == CLASSES
    (values, _), = targets(again, row([[0.0, 0.05, "Music"]], audio_duration=0.1))
    np.testing.assert_allclose(values, [[0.0, 0.0, 0.5]])


def test_a_last_frame_cut_to_a_sliver_is_held_to_half_of_itself(classes_file):
    # 1000 Hz over 1.00002 s: the last frame is [1.0, 1.00002] (20 us: one shorter than align's 10 us is not laid);
    # an event ending at 0.5 covers none of it
    (values, intervals), = targets(extractor(classes_file, frame_rate=1000),
                                   row([[0.0, 0.5, "Speech"]], audio_duration=1.00002))
    assert len(values) == 1001 and intervals[-1][0] == pytest.approx(1.0)
    assert values[499, 0] == 1.0 and values[500, 0] == 0.0 and values[-1, 0] == 0.0
    (values, intervals), = targets(extractor(classes_file, frame_rate=1000),
                                   row([[0.0, 0.5, "Speech"]], audio_duration=1.0000000015))
    assert len(values) == 1000 and intervals[-1][1] == 1.0  # a 1.5 ns sliver: no frame
