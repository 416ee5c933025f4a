"""``data: [A, B]`` (a pool) and ``grid.protocol: leave_one_dataset_out`` as settings: keys, round trips,
refusals; single-dataset configs and run folders' config.yaml load as before."""

from __future__ import annotations

import pytest
import yaml
from pydantic import ValidationError

from busbench.config import DataConfig, ExperimentConfig, load_config
from busbench.errors import BusbenchError

A = "{dataset: synthetic, options: {seed: 1}}"
B = "{dataset: synthetic, options: {seed: 2}}"
C = "{dataset: synthetic, options: {seed: 3}}"


def test_a_list_of_datasets_is_their_pool_and_round_trips_through_config_yaml() -> None:
    cfg = load_config(None, [f"data=[{A}, {B}]"])
    assert cfg.data.dataset == "pool" and [d.options["seed"] for d in cfg.data.pool] == [1, 2]
    members = "-".join(d.key().split("-")[1] for d in cfg.data.pool)
    assert cfg.data.key().startswith("pool-synthetic+synthetic-") and members  # readable, and a hash of the members
    again = ExperimentConfig.model_validate(yaml.safe_load(cfg.to_yaml()))
    assert again.data.key() == cfg.data.key() and again.data == cfg.data
    assert load_config(None, [f"data.pool=[{A}, {B}]"]).data.key() == cfg.data.key()
    assert load_config(None, [f"data=[{B}, {A}]"]).data.key() != cfg.data.key()


def test_a_single_dataset_keeps_its_key() -> None:
    """Run folders are named by the key: a dataset's must not change with the pool setting's arrival."""
    assert DataConfig(dataset="busi", root="/data/BUSI").key() == "busi-73f82376"  # as before pools existed
    old = {"data": {"dataset": "synthetic", "root": None, "prepared": None, "options": {}}}  # no pool key
    assert ExperimentConfig.model_validate(old).data.key() == DataConfig().key()


@pytest.mark.parametrize(("data", "message"), [
    (f"[{A}]", "data.pool lists one dataset"),
    (f"[{A}, {A}]", "lists a dataset twice"),
    (f"{{pool: [{A}, {B}], root: /x}}", "belong to each pooled dataset"),
    (f"[{A}, {{pool: [{B}, {C}]}}]", "cannot itself be a pool"),
])
def test_pools_that_name_no_clear_set_of_datasets_are_refused(data: str, message: str) -> None:
    with pytest.raises(ValidationError, match=message):
        ExperimentConfig.model_validate({"data": yaml.safe_load(data)})


def test_leave_one_dataset_out_is_one_pooled_cell_per_dataset_left_out() -> None:
    cfg = load_config(None, [f"grid.datasets=[{A}, {B}, {C}]", "grid.protocol=leave_one_dataset_out",
                             f"eval.cross_datasets=[{C}]"])
    keys = [d.key() for d in cfg.grid.datasets]
    cells = cfg.cells()
    assert [[m.key() for m in c.data.pool] for c in cells] == [keys[1:], [keys[0], keys[2]], keys[:2]]
    # the left-out dataset is scored too, once, besides the cross datasets already set
    assert [[d.key() for d in c.eval.cross_datasets] for c in cells] == [[keys[0], keys[2]], [keys[1], keys[2]],
                                                                         [keys[2]]]
    assert [c.data.key() for c in load_config(None, [f"grid.datasets=[{A}, {B}]"]).cells()] == keys[:2]


def test_leave_one_of_two_datasets_out_trains_on_the_other_alone() -> None:
    """No pool of one: each cell trains on the other dataset itself (its own key) and is scored on the left-out one."""
    cfg = load_config(None, [f"grid.datasets=[{A}, {B}]", "grid.protocol=leave_one_dataset_out"])
    keys = [d.key() for d in cfg.grid.datasets]
    cells = cfg.cells()
    assert [c.data.key() for c in cells] == keys[::-1] and not any(c.data.pool for c in cells)
    assert [[d.key() for d in c.eval.cross_datasets] for c in cells] == [keys[:1], keys[1:]]
    with pytest.raises(BusbenchError, match="leave_one_dataset_out needs two or more grid.datasets"):
        load_config(None, [f"grid.datasets=[{A}]", "grid.protocol=leave_one_dataset_out"])


def test_seeds_and_leave_one_dataset_out_compose() -> None:
    """Every (left-out dataset, seed) is a cell; each seed's cell is scored on its left-out dataset."""
    cfg = load_config(None, [f"grid.datasets=[{A}, {B}, {C}]", "grid.protocol=leave_one_dataset_out",
                             "train.seeds=[0, 1]"])
    cells = cfg.cells()
    assert [(len(c.data.pool), c.train.seed) for c in cells] == [(2, 0), (2, 1)] * 3
    assert [c.eval.cross_datasets[0].key() for c in cells] == [d.key() for d in cfg.grid.datasets for _ in (0, 1)]
    assert len({(c.data.key(), c.cell_key()) for c in cells}) == 6
