"""The frozen split: stratified, grouped, reproducible to the byte, and guarded by checksums."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from cli_runner import run_cli
from hand_split import hand_split
from layouts import cases, make_bus_uc, make_bus_uclm, make_busi, make_udiat

from busbench.data.duplicates.reviewed import reviewed_pairs
from busbench.data.manifest import Manifest, load_manifest
from busbench.data.prepare import prepare_dataset
from busbench.data.split.assign import assign_groups
from busbench.data.split.grouping import leakage_groups
from busbench.data.split.record import Split
from busbench.data.split.split_file import (
    SplitSettings,
    plan_split,
    read_split,
    read_user_links,
    split_bytes,
    split_file_name,
    write_split,
)
from busbench.data.split.summary import groups_across_parts, split_summary
from busbench.errors import BusbenchError


def _deviation(parts: np.ndarray, strata: np.ndarray, weights: list[float]) -> pd.DataFrame:
    """Count minus target, per part (rows) and stratum (columns)."""
    table = pd.crosstab(parts, strata).reindex(range(len(weights)), fill_value=0)
    target = np.outer(np.asarray(weights) / sum(weights), table.sum(axis=0))
    return table - target


def _max_deviation(parts: np.ndarray, strata: np.ndarray, weights: list[float]) -> float:
    return float(np.abs(_deviation(parts, strata, weights).to_numpy()).max())


def _check_balance(parts: np.ndarray, strata: np.ndarray, groups: np.ndarray, weights: list[float],
                   strict: bool) -> None:
    """``strict``: every stratum within one image of its target. Otherwise the guarantee that holds
    whatever the groups: no one-image group could move to another part and lower the deviation."""
    deviation = _deviation(parts, strata, weights)
    if strict:
        assert float(np.abs(deviation.to_numpy()).max()) <= 1.0 + 1e-9
        return
    sizes = pd.Series(groups).map(pd.Series(groups).value_counts()).to_numpy()
    for part, stratum in {(p, s) for p, s, n in zip(parts, strata, sizes) if n == 1}:
        gap = deviation.loc[part, stratum] - deviation[stratum]
        assert (gap <= 1.0 + 1e-9).all(), (part, stratum, gap.tolist())


def _check_split(document: Split, manifest: Manifest, folds: int, test_size: float, strict: bool = True) -> None:
    cases = document.cases_frame()
    patients = manifest.frame.set_index("case_id")["patient_id"].reindex(cases["case_id"]).to_numpy()
    cases["part"] = np.where(cases["set"] == "test", 0, cases["fold"].fillna(0).astype(int))
    # no leakage group, hence no patient and no duplicate, on two sides
    assert groups_across_parts(document) == 0
    known = cases[patients != ""].assign(patient=patients[patients != ""])
    assert (known.groupby("patient")["part"].nunique() == 1).all()
    is_test = (cases["set"] == "test").astype(int).to_numpy()
    _check_balance(is_test, cases["stratum"].to_numpy(), cases["group"].to_numpy(), [1 - test_size, test_size], strict)
    dev = cases[cases["set"] == "cv"]
    _check_balance(dev["fold"].astype(int).to_numpy() - 1, dev["stratum"].to_numpy(), dev["group"].to_numpy(),
                   [1.0] * folds, strict)


@pytest.mark.parametrize("seed", [0, 42])
def test_synthetic_split_is_grouped_and_stratified(synthetic_manifest: Manifest, seed: int) -> None:
    document = plan_split(synthetic_manifest, SplitSettings(folds=3, seed=seed))
    # 60 images with many two-image groups: +-1 is not always reachable, the move optimum is
    _check_split(document, synthetic_manifest, folds=3, test_size=0.2, strict=False)
    assert document.duplicate_images > 0  # the generator's near-copies were found


def test_busi_split_keeps_duplicates_together(busi_manifest: Manifest) -> None:
    document = plan_split(busi_manifest, SplitSettings())
    _check_split(document, busi_manifest, folds=5, test_size=0.2)
    summary = split_summary(document, busi_manifest)
    assert summary.loc["test", "images"] == 156 and summary["images"].sum() == 780
    assert summary.loc["test", "multi-image groups"] > 0  # groups reach the test set too
    assert summary.loc["test", "duplicate groups"] > 0
    assert summary["duplicate groups"].sum() == len({c.group for c in document.cases if c.duplicate})


def test_busbra_split_is_patient_grouped(busbra_manifest: Manifest) -> None:
    document = plan_split(busbra_manifest, SplitSettings(test_size=0.25, folds=4, seed=5))
    _check_split(document, busbra_manifest, folds=4, test_size=0.25)


def test_assignment_keeps_groups_whole_and_meets_targets() -> None:
    rng = np.random.default_rng(0)
    groups = np.concatenate([np.repeat(np.arange(40), 3), np.arange(40, 400)])
    strata = rng.choice(["a", "b", "c"], size=groups.size)
    strata[: 120] = np.repeat(rng.choice(["a", "b"], size=40), 3)
    parts = assign_groups(groups, strata, [0.2, 0.8], seed=1)
    assert all(len(set(parts[groups == g])) == 1 for g in range(40))
    assert _max_deviation(parts, strata, [0.2, 0.8]) <= 1.0 + 1e-9
    assert 0 < np.unique(groups[:120][parts[:120] == 0]).size < 40  # multi-image groups on both sides


def test_rerun_reproduces_the_file_byte_for_byte(synthetic_manifest: Manifest, tmp_path: Path) -> None:
    path = tmp_path / "split.json"
    assert write_split(plan_split(synthetic_manifest, SplitSettings(folds=3)), path) == "created"
    first = path.read_bytes()
    assert write_split(plan_split(synthetic_manifest, SplitSettings(folds=3)), path) == "unchanged"
    assert path.read_bytes() == first
    assert split_bytes(plan_split(synthetic_manifest, SplitSettings(folds=3))) == first


def test_a_different_split_is_refused_unless_forced(synthetic_manifest: Manifest, tmp_path: Path) -> None:
    path = tmp_path / "split.json"
    write_split(plan_split(synthetic_manifest, SplitSettings(folds=3, seed=1)), path)
    other = plan_split(synthetic_manifest, SplitSettings(folds=3, seed=2))
    with pytest.raises(BusbenchError, match="settings differ: seed 1 then, 2 now.*--force"):
        write_split(other, path)
    assert json.loads(path.read_text())["settings"]["seed"] == 1
    assert write_split(other, path, force=True) == "replaced"
    assert json.loads(path.read_text())["settings"]["seed"] == 2


def test_split_is_refused_once_the_manifest_changes(synthetic_manifest: Manifest, tmp_path: Path) -> None:
    path = tmp_path / "split.json"
    write_split(plan_split(synthetic_manifest, SplitSettings(folds=3)), path)
    copy_dir = tmp_path / "manifest"
    copy_dir.mkdir()
    (copy_dir / "manifest.json").write_text((synthetic_manifest.path.parent / "manifest.json").read_text())
    text = synthetic_manifest.path.read_text().replace(",benign,", ",malignant,", 1)
    (copy_dir / "manifest.csv").write_text(text)
    edited = load_manifest(copy_dir)
    with pytest.raises(BusbenchError, match="the manifest changed since the split was made.*busbench split"):
        read_split(path, edited)
    # planning again on the edited manifest says the same, not "settings differ"
    with pytest.raises(BusbenchError, match="the manifest changed since the split was made"):
        write_split(plan_split(edited, SplitSettings(folds=3)), path)


def test_an_edited_test_set_is_detected(synthetic_manifest: Manifest, tmp_path: Path) -> None:
    document = json.loads(split_bytes(plan_split(synthetic_manifest, SplitSettings(folds=3))))
    moved = next(c for c in document["cases"] if c["set"] == "cv")
    moved["set"], moved["fold"] = "test", None
    path = tmp_path / "split.json"
    path.write_text(json.dumps(document))
    with pytest.raises(BusbenchError, match="does not match its checksum"):
        read_split(path, synthetic_manifest)


@pytest.mark.parametrize("kind", ["patient", "duplicate"])
def test_an_edited_fold_that_cuts_a_group_is_detected(synthetic_manifest: Manifest, tmp_path: Path, kind: str) -> None:
    # the test set's checksum covers only the test cases: a hand-moved development image passed unnoticed
    document = json.loads(split_bytes(plan_split(synthetic_manifest, SplitSettings(folds=3))))
    part = {c["case_id"]: c for c in document["cases"]}
    if kind == "patient":
        patients = synthetic_manifest.frame.groupby("patient_id")["case_id"].apply(list)
        pairs = [tuple(ids[:2]) for ids in patients if len(ids) > 1]
    else:
        pairs = [tuple(link[:2]) for link in document["duplicate_links"]]
    a, b = next(p for p in pairs if part[p[0]]["set"] == part[p[1]]["set"] == "cv")
    part[b]["fold"] = part[a]["fold"] % 3 + 1
    path = tmp_path / "split.json"
    path.write_text(json.dumps(document))
    with pytest.raises(BusbenchError, match=f"split.json: {a} and {b} are one leakage group .* but sit in fold "
                                            f"{part[a]['fold']} and fold {part[b]['fold']}; the file was edited"):
        read_split(path, synthetic_manifest)


def test_a_split_file_that_lost_a_development_case_is_refused(synthetic_manifest: Manifest, tmp_path: Path) -> None:
    """The manifest is unchanged and the test set intact, yet a case is gone: the split no longer covers the data."""
    document = json.loads(split_bytes(plan_split(synthetic_manifest, SplitSettings(folds=3))))
    document["cases"].remove(next(c for c in document["cases"] if c["set"] == "cv"))
    path = tmp_path / "split.json"
    path.write_text(json.dumps(document))
    with pytest.raises(BusbenchError, match=rf"{path}: its cases differ from {synthetic_manifest.path}'s; recreate"):
        read_split(path, synthetic_manifest)


@pytest.mark.parametrize(
    ("settings", "message"),
    [
        (SplitSettings(test_size=1.2), "--test-size"),
        (SplitSettings(folds=1), "--folds"),
        (SplitSettings(folds=500), "with --folds 500 does not work"),
        (SplitSettings(official=True), "no official_fold"),
    ],
)
def test_bad_settings_are_named(synthetic_manifest: Manifest, settings: SplitSettings, message: str) -> None:
    with pytest.raises(BusbenchError, match=message):
        plan_split(synthetic_manifest, settings)


def test_an_official_test_fold_the_dataset_lacks_is_named(synthetic_manifest: Manifest, tmp_path: Path) -> None:
    """A partition of folds 1..3 has no fold 4 to hold out: named, not a split with an empty test set."""
    copy_dir = tmp_path / "manifest"
    copy_dir.mkdir()
    (copy_dir / "manifest.json").write_text((synthetic_manifest.path.parent / "manifest.json").read_text())
    frame = pd.read_csv(synthetic_manifest.path, dtype=str, keep_default_na=False)
    frame["official_fold"] = [str(1 + i % 3) for i in range(len(frame))]
    frame.to_csv(copy_dir / "manifest.csv", index=False)
    partitioned = load_manifest(copy_dir)
    with pytest.raises(BusbenchError, match=r"^--official-test-fold 4 is not one of the official folds \[1, 2, 3\]"):
        plan_split(partitioned, SplitSettings(official=True, official_test_fold=4))
    assert plan_split(partitioned, SplitSettings(official=True, official_test_fold=3)).folds == 2


def test_summary_counts_add_up(synthetic_manifest: Manifest) -> None:
    document = plan_split(synthetic_manifest, SplitSettings(folds=3))
    summary = split_summary(document, synthetic_manifest)
    assert list(summary.index) == ["test", "fold 1", "fold 2", "fold 3"]
    assert summary["images"].sum() == len(synthetic_manifest.frame)
    labels = [c for c in ("normal", "benign", "malignant") if c in summary.columns]
    assert (summary[labels].sum(axis=1) == summary["images"]).all()
    assert (summary[["small", "medium", "large"]].sum(axis=1) + summary.get("normal", 0) == summary["images"]).all()


def test_splits_of_other_fold_counts_coexist_and_share_the_test_set(synthetic_manifest: Manifest) -> None:
    two, five = SplitSettings(folds=2), SplitSettings(folds=5)
    assert split_file_name(two) != split_file_name(five)
    assert split_file_name(two) == split_file_name(SplitSettings(folds=2))
    first, second = plan_split(synthetic_manifest, two), plan_split(synthetic_manifest, five)
    assert first.test_set_sha256 == second.test_set_sha256
    assert first.folds == 2 and second.folds == 5
    other_seed = plan_split(synthetic_manifest, SplitSettings(folds=2, seed=7))
    assert other_seed.test_set_sha256 != first.test_set_sha256


def _roles(document: Split) -> dict[str, tuple[str, object]]:
    return {c.case_id: (c.set, c.fold) for c in document.cases}


def test_must_link_pairs_are_kept_together_and_change_the_checksum(synthetic_manifest: Manifest,
                                                                    tmp_path: Path) -> None:
    plain = plan_split(synthetic_manifest, SplitSettings(folds=3))
    roles = _roles(plain)
    ids = sorted(roles)
    test_id = next(c for c in ids if roles[c][0] == "test")
    cv_ids = [c for c in ids if roles[c][0] == "cv"]
    links = tmp_path / "links.csv"
    # five development images tied to one test image: the split must move them together
    pd.DataFrame({"case_a": [test_id] * 5, "case_b": cv_ids[:5], "relation": ["must-link"] * 5}).to_csv(links,
                                                                                                     index=False)
    settings = SplitSettings(folds=3, links_file=str(links))
    linked = plan_split(synthetic_manifest, settings)
    new_roles = _roles(linked)
    assert len({new_roles[c] for c in [test_id, *cv_ids[:5]]}) == 1
    assert linked.user_links["must-link"] == tuple(tuple(sorted([test_id, c])) for c in cv_ids[:5])
    assert split_bytes(linked) != split_bytes(plain)
    assert split_file_name(settings, read_user_links(links, synthetic_manifest)) != split_file_name(
        SplitSettings(folds=3))


def test_cannot_link_pairs_cut_a_detected_link(synthetic_manifest: Manifest, tmp_path: Path) -> None:
    document = plan_split(synthetic_manifest, SplitSettings(folds=3))
    detected = document.duplicate_links
    degree = pd.Series([c for link in detected for c in link[:2]]).value_counts()
    isolated = [link for link in detected if degree[link[0]] == 1 and degree[link[1]] == 1]
    assert isolated, "the synthetic fixture plants pairs of near-duplicates"
    a, b = isolated[0][0], isolated[0][1]
    links = tmp_path / "links.csv"
    links.write_text(f"case_a,case_b,relation\n{a},{b},cannot-link\n")
    cut = plan_split(synthetic_manifest, SplitSettings(folds=3, links_file=str(links)))
    assert (a, b) not in [link[:2] for link in cut.duplicate_links]
    groups = cut.groups
    assert groups[a] != groups[b]


def test_a_cannot_link_pair_still_joined_by_a_chain_is_an_error(synthetic_manifest: Manifest,
                                                                 tmp_path: Path) -> None:
    a, middle, b = sorted(synthetic_manifest.frame["case_id"])[:3]
    links = tmp_path / "links.csv"
    links.write_text(f"case_a,case_b,relation\n{a},{middle},must-link\n{middle},{b},must-link\n"
                     f"{a},{b},cannot-link\n")
    with pytest.raises(BusbenchError, match=f"still joined through {a} - {middle} - {b}"):
        plan_split(synthetic_manifest, SplitSettings(folds=3, links_file=str(links)))


@pytest.mark.parametrize(("text", "message"), [
    ("case_a,case_b\nx,y\n", "columns \\['relation'\\] are missing"),
    ("case_a,case_b,relation\nnot-a-case,other,must-link\n", "not in"),
    ("case_a,case_b,relation\n{a},{b},same\n", "relation \\['same'\\] unknown"),
])
def test_bad_link_files_are_named(synthetic_manifest: Manifest, tmp_path: Path, text: str, message: str) -> None:
    a, b = sorted(synthetic_manifest.frame["case_id"])[:2]
    links = tmp_path / "links.csv"
    links.write_text(text.format(a=a, b=b))
    with pytest.raises(BusbenchError, match=f"links.csv.*{message}"):
        plan_split(synthetic_manifest, SplitSettings(folds=3, links_file=str(links)))


def test_a_group_larger_than_half_a_fold_is_reported_with_its_links(synthetic_manifest: Manifest,
                                                                     tmp_path: Path) -> None:
    assert plan_split(synthetic_manifest, SplitSettings(folds=3)).large_groups == ()
    ids = sorted(synthetic_manifest.frame["case_id"])[:12]  # 60 images, 3 folds: half a fold is 8
    links = tmp_path / "links.csv"
    pd.DataFrame({"case_a": ids[:-1], "case_b": ids[1:], "relation": "must-link"}).to_csv(links, index=False)
    document = plan_split(synthetic_manifest, SplitSettings(folds=3, links_file=str(links)))
    assert len(document.large_groups) == 1
    group = document.large_groups[0]
    assert set(ids) <= set(group.members)
    assert {tuple(sorted(link[:2])) for link in group.links if link[2].startswith("must-link")} == {
        tuple(sorted(p)) for p in zip(ids[:-1], ids[1:])}


def _straddling_reviewed_pairs(document: Split, dataset: str) -> list[tuple[str, str]]:
    pairs = reviewed_pairs()
    positives = pairs[(pairs["dataset"] == dataset) & (pairs["duplicate"] == 1)]
    part = _roles(document)
    return [(a, b) for a, b in zip(positives["case_a"], positives["case_b"]) if part[a] != part[b]]


def test_no_reviewed_busi_duplicate_straddles_the_default_split(busi_manifest: Manifest) -> None:
    document = plan_split(busi_manifest, SplitSettings())
    assert _straddling_reviewed_pairs(document, "busi") == []
    # the detector alone leaves some reviewed duplicates apart: the shipped pairs are what keeps them together
    detector_only = plan_split(busi_manifest, SplitSettings(reviewed_links=False))
    assert _straddling_reviewed_pairs(detector_only, "busi")
    assert document.large_groups == ()


def test_no_busbra_patient_or_reviewed_duplicate_straddles_the_default_split(busbra_manifest: Manifest) -> None:
    document = plan_split(busbra_manifest, SplitSettings())
    part = _roles(document)
    patients = busbra_manifest.frame.groupby("patient_id")["case_id"].apply(list)
    assert all(len({part[c] for c in cases}) == 1 for cases in patients)
    assert _straddling_reviewed_pairs(document, "busbra") == []
    assert document.large_groups == ()


@pytest.mark.parametrize("adapter", ["bus_uclm", "bus_uc", "udiat", "busi", "synthetic"])
def test_every_group_larger_than_half_a_fold_on_the_adapter_fixtures_is_warned(
        adapter: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    root = tmp_path / "raw"
    options: dict[str, object] = {}
    if adapter == "bus_uclm":
        make_bus_uclm(root)
    elif adapter == "bus_uc":
        make_bus_uc(root)
    elif adapter == "udiat":
        make_udiat(root)
    elif adapter == "busi":
        root = make_busi(root, cases(12, seed=4))
    else:
        options = {"count": 40, "size": 48, "seed": 2, "near_duplicate_rate": 0.2}
    prepare_dataset(adapter, root, tmp_path / "m", options)
    manifest = load_manifest(tmp_path / "m")
    document = plan_split(manifest, SplitSettings(folds=2, test_size=0.4))  # 0.2 of 5 images holds no test image
    sizes = document.cases_frame().groupby("group").size()
    half_fold = len(manifest.frame) * (1 - len(document.held_out()) / len(manifest.frame)) / 4
    too_large = set(sizes[(sizes > half_fold) & (sizes > 1)].index)  # one image is no group to keep together
    assert {g.group for g in document.large_groups} == too_large
    assert run_cli(monkeypatch, "split", str(tmp_path / "m"), "--folds", "2", "--test-size", "0.4") == 0
    warned = capsys.readouterr().err.count("warning: one group of")
    assert warned == len(too_large)


def test_groups_across_parts_counts_a_group_split_between_test_and_a_fold() -> None:
    split = hand_split([("a", "test", None, 0), ("b", "cv", 2, 0), ("c", "cv", 1, 1), ("d", "cv", 3, 1),
                        ("e", "test", None, 2), ("f", "test", None, 2)], folds=3)
    assert groups_across_parts(split) == 2


def test_the_official_busbra_partition_separates_reviewed_duplicates(busbra_manifest: Manifest) -> None:
    document = plan_split(busbra_manifest, SplitSettings(official=True))
    assert groups_across_parts(document) >= 3  # same frames zoomed and filed under two patients
    assert len(_straddling_reviewed_pairs(document, "busbra")) >= 3


def test_cannot_link_cuts_reviewed_links_but_never_the_users_must_links() -> None:
    frame = pd.DataFrame({"case_id": ["a", "b", "c", "d"], "patient_id": ""})
    none = pd.DataFrame(columns=["case_a", "case_b", "measure", "value"])
    groups = leakage_groups(frame, none, must_link=[("c", "d")], reviewed=[("a", "b")]).labels
    assert groups[0] == groups[1] and groups[2] == groups[3]
    cut = leakage_groups(frame, none, must_link=[("c", "d")], cannot_link=[("a", "b")], reviewed=[("a", "b")])
    assert cut.labels[0] != cut.labels[1] and cut.labels[2] == cut.labels[3]
    assert [tuple(x) for x in cut.links[["case_a", "case_b"]].to_numpy()] == [("c", "d")]
