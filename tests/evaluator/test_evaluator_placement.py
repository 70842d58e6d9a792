"""`leaderboard up --evaluators N` gives each evaluator its own GPU when there are several."""

from __future__ import annotations

from services.evaluator.placement import evaluator_env, gpu_ids


def test_visible_devices_name_the_gpus() -> None:
    assert gpu_ids({"CUDA_VISIBLE_DEVICES": "2, 3,5"}) == ["2", "3", "5"]
    assert gpu_ids({"CUDA_VISIBLE_DEVICES": ""}) == []


def test_each_evaluator_gets_a_gpu_round_robin() -> None:
    env = {"LEADERBOARD_DEVICE": "cuda", "CUDA_VISIBLE_DEVICES": "2,3"}
    placed = [evaluator_env(index, env, ["2", "3"])["CUDA_VISIBLE_DEVICES"] for index in range(3)]
    assert placed == ["2", "3", "2"]
    assert env["CUDA_VISIBLE_DEVICES"] == "2,3"  # the caller's environment is left alone


def test_cpu_a_named_gpu_or_a_single_gpu_stay_as_they_are() -> None:
    for env, gpus in [
        ({"LEADERBOARD_DEVICE": "cpu"}, ["0", "1"]),
        ({"LEADERBOARD_DEVICE": "cuda:1"}, ["0", "1"]),
        ({"LEADERBOARD_DEVICE": "cuda"}, ["0"]),
    ]:
        assert evaluator_env(1, env, gpus) == env
