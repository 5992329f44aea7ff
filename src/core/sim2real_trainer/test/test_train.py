"""`sim2real train` on a tiny dataset: lerobot-train's checkpoint layout, loadable by the policy
loader; resume; loss curve; loss weighting, episode filter and stats override reach the run."""

from __future__ import annotations

import json
import shutil

import numpy as np
import pytest

from sim2real_common.errors import ConfigError
from sim2real_policy.loaders import load_policy
from sim2real_trainer.errors import DatasetError, PolicyConfigError, ResumeError, TrainerError, UnknownPolicyTypeError
from sim2real_trainer.training import TrainOptions

from conftest import run_cli, train_args


def read_json(path):
    return json.loads(path.read_text())


def test_checkpoints_have_lerobot_train_layout(tiny_run):
    step = tiny_run / "checkpoints" / "000002"
    assert (tiny_run / "checkpoints" / "last").readlink().name == "000002"
    for name in ("config.json", "model.safetensors", "train_config.json", "policy_preprocessor.json",
                 "policy_postprocessor.json"):
        assert (step / "pretrained_model" / name).is_file(), name
    for name in ("training_step.json", "optimizer_state.safetensors", "rng_state.safetensors"):
        assert (step / "training_state" / name).is_file(), name
    train_config = read_json(step / "pretrained_model" / "train_config.json")
    assert train_config["dataset"]["episodes"] == [0, 1]
    assert train_config["policy"]["type"] == "act" and train_config["steps"] == 2
    assert (tiny_run / "loss_curve.png").stat().st_size > 10_000
    rows = [json.loads(line) for line in (tiny_run / "training_log.jsonl").read_text().splitlines()]
    assert [r["step"] for r in rows] == [1, 2] and all(np.isfinite(r["loss"]) for r in rows)


def test_policy_loader_serves_the_run(tiny_run):
    policy = load_policy(str(tiny_run))  # the output folder -> its latest checkpoint, as the node does
    rng = np.random.default_rng(0)
    action = policy.select_action({
        "observation.state": rng.uniform(-0.5, 0.5, 6),
        "observation.images.overhead_cam": rng.integers(0, 256, (96, 128, 3), dtype=np.uint8)})
    assert action.shape == (6,) and np.all(np.isfinite(action))


def test_resume_continues_from_the_last_step(tiny_run, tmp_path):
    run = tmp_path / "act"
    shutil.copytree(tiny_run, run, symlinks=True)
    assert run_cli("train", "--output", run, "--resume", "--steps", "4", "--save-every", "2") == 0
    assert sorted(p.name for p in (run / "checkpoints").iterdir()) == ["000002", "000004", "last"]
    assert (run / "checkpoints" / "last").readlink().name == "000004"
    assert read_json(run / "checkpoints" / "last" / "training_state" / "training_step.json") == {"step": 4}
    rows = [json.loads(line) for line in (run / "training_log.jsonl").read_text().splitlines()]
    assert [r["step"] for r in rows] == [1, 2, 3, 4]
    assert load_policy(str(run)).policy.config.chunk_size == 10
    with pytest.raises(ResumeError, match="already at step 4; pass --steps above it"):
        run_cli("train", "--output", run, "--resume", "--steps", "4")
    with pytest.raises(TrainerError, match="--resume continues the run as it was configured; drop --lr"):
        run_cli("train", "--output", run, "--resume", "--steps", "6", "--lr", "1e-3")


def test_weighting_filter_and_stats_override_reach_the_run(tiny_dataset, tmp_path):
    groups = tmp_path / "groups.yaml"
    groups.write_text("groups: {arm: [0, 3], wrist: [3, 5], gripper: [5, 6]}\n"
                      "loss_weighting: {strategy: per_group, group_weights: {arm: 3, wrist: 2, gripper: 1}}\n"
                      "filters: {arm_heavy: {group: arm, min_share: 0.0}}\n")
    override = tmp_path / "stats.json"
    override.write_text(json.dumps({"action": {"std": [0.5] * 6}}))
    run = tmp_path / "weighted"
    assert run_cli(*train_args(tiny_dataset, run, "--action-groups", groups, "--episodes-filter", "arm_heavy",
                               "--stats-override", override)) == 0
    assert read_json(run / "episodes.json")["selected"] == [0, 1, 2]
    state = read_json(run / "sim2real_trainer.json")
    assert state["loss_weighting"] == "per_group"
    assert state["loss_weights"] == pytest.approx([9 / 7] * 3 + [6 / 7] * 2 + [3 / 7])
    policy = load_policy(str(run))
    normalizer = next(s for s in policy.preprocessor.steps if type(s).__name__ == "NormalizerProcessorStep")
    assert np.asarray(normalizer.stats["action"]["std"]) == pytest.approx([0.5] * 6)
    assert (run / "stats_override.json").is_file()


def test_cosine_schedule_decays_the_learning_rate(tiny_dataset, tmp_path):
    run = tmp_path / "cosine"
    assert run_cli(*train_args(tiny_dataset, run, "--lr", "1e-4", "--lr-schedule", "cosine", steps=6)) == 0
    scheduler = read_json(run / "checkpoints" / "last" / "pretrained_model" / "train_config.json")["scheduler"]
    assert scheduler["type"] == "cosine_decay_with_warmup" and scheduler["num_decay_steps"] == 6
    lrs = [json.loads(line)["lr"] for line in (run / "training_log.jsonl").read_text().splitlines()]
    assert len(lrs) == 6 and lrs[0] < 1e-4  # logged after each update: warm-up is one step here
    assert lrs == sorted(lrs, reverse=True) and lrs[-1] == pytest.approx(1e-5)  # decays to lr/10


@pytest.mark.parametrize(
    ("argv", "error", "message"),
    [
        (["--policy", "actt"], UnknownPolicyTypeError, "unknown policy type 'actt'; LeRobot 0.4.4 accepts: act, "),
        (["--policy-config", "chunk=3"], PolicyConfigError, "act config has no settable field 'chunk'; fields: "),
        (["--policy-config", "chunk_size=abc"], PolicyConfigError, "chunk_size='abc'"),
        (["--policy-config", "n_action_steps=200"], PolicyConfigError, "200 for `n_action_steps`"),
        (["--eval-every", "3", "--save-every", "2"], TrainerError, "multiple of save-every (2), got 3"),
        (["--episodes", "0,7"], TrainerError, "episodes [7]: "),
        (["--episodes-filter", "arm_heavy", "--episodes", "0"], TrainerError, "not both"),
        (["--episodes-filter", "arm_heavy"], TrainerError, "needs the groups file that defines it: the robot of"),
        (["--loss-weighting", "per_group"], TrainerError, "needs the groups file that defines it: the robot of"),
        (["--std-floor", "-1"], TrainerError, "std-floor must be >= 0, got -1.0"),
        (["--policy-config", "pretrained_backbone_weights=null", "vision_backbone=resnet99"], TrainerError,
         "act policy cannot be built from its config (AttributeError: module 'torchvision.models' has no attribute "
         "'resnet99'); check the --policy-config values"),
    ],
)
def test_bad_options_are_one_line_errors(tiny_dataset, tmp_path, argv, error, message):
    with pytest.raises(error) as err:
        run_cli("train", "--dataset", tiny_dataset, "--output", tmp_path / "run", "--num-workers", "0", *argv)
    assert message in str(err.value) and "\n" not in str(err.value)
    assert not (tmp_path / "run").exists()


def test_missing_dataset_and_existing_output(tiny_dataset, tiny_run, tmp_path):
    with pytest.raises(DatasetError, match="dataset directory .*/nope does not exist"):
        run_cli("train", "--dataset", tmp_path / "nope", "--output", tmp_path / "run")
    with pytest.raises(TrainerError, match="already exists; pass --resume"):
        run_cli("train", "--dataset", tiny_dataset, "--output", tiny_run)
    with pytest.raises(ResumeError, match="cannot resume"):
        run_cli("train", "--output", tmp_path, "--resume")
    bad = tmp_path / "stats.json"
    bad.write_text(json.dumps({"action": {"std": [1.0, 2.0]}}))
    with pytest.raises(ConfigError, match="stats.json: action.std: expected shape \\(6,\\)"):
        run_cli("train", "--dataset", tiny_dataset, "--output", tmp_path / "run", "--stats-override", bad)
    assert not (tmp_path / "run").exists()
    with pytest.raises(TrainerError, match="steps must be >= 1"):
        TrainOptions(dataset=tiny_dataset, output=tmp_path / "x", steps=0)


def test_an_offline_download_fails_in_one_line_and_a_failed_start_blocks_no_retry(tiny_dataset, tiny_run, tmp_path,
                                                                                   monkeypatch):
    """ACT's default ImageNet backbone cannot be fetched here: one line saying what and how to train
    without it, nothing left behind. A folder left by a run killed before its first checkpoint: --resume
    says so, and the same command without --resume starts it afresh there."""
    import socket

    monkeypatch.setenv("TORCH_HOME", str(tmp_path / "torch"))  # an empty cache: the weights must be downloaded
    for name in ("https_proxy", "HTTPS_PROXY"):  # and the download is refused at once (even with network)
        monkeypatch.setenv(name, "http://127.0.0.1:9")
    run = tmp_path / "run"
    args = train_args(tiny_dataset, run)
    without_null = [a for a in args if a != "pretrained_backbone_weights=null"]
    timeout = socket.getdefaulttimeout()
    socket.setdefaulttimeout(20)  # never hang on a network that drops packets
    try:
        with pytest.raises(TrainerError) as err:
            run_cli(*without_null)
    finally:
        socket.setdefaulttimeout(timeout)
    message = str(err.value)
    assert "\n" not in message
    assert ("act policy: cannot download the pretrained backbone weights ResNet18_Weights.IMAGENET1K_V1 from "
            "https://download.pytorch.org/models/resnet18-f37072fd.pth") in message
    assert "--policy-config pretrained_backbone_weights=null" in message
    assert str(tmp_path / "torch" / "hub" / "checkpoints") in message
    assert not run.exists()

    run.mkdir()  # what a run killed before its first save leaves
    shutil.copyfile(tiny_run / "sim2real_trainer.json", run / "sim2real_trainer.json")
    (run / "training_log.jsonl").write_text('{"step": 1, "loss": 1.0}\n')
    with pytest.raises(ResumeError, match=r"has no checkpoint yet \(the run stopped before its first save\); run the "
                                          r"same `sim2real train` command without --resume"):
        run_cli("train", "--output", run, "--resume")
    assert run_cli(*args) == 0
    assert (run / "checkpoints" / "last" / "pretrained_model" / "model.safetensors").is_file()
    rows = [json.loads(line) for line in (run / "training_log.jsonl").read_text().splitlines()]
    assert [r["step"] for r in rows] == [1, 2] and rows[0]["loss"] != 1.0  # the killed run's log was replaced


def test_eval_sim_help_prints_one_percent_sign(capsys):
    with pytest.raises(SystemExit) as exit_:
        run_cli("eval-sim", "--help")
    out = " ".join(capsys.readouterr().out.split())  # argparse wraps lines
    assert exit_.value.code == 0 and "95% Wilson interval" in out and "%%" not in out
