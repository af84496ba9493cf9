"""The device-farm backend registry: a farm added to ``farm.BACKENDS`` alone is a working
subcommand (its flags, its files) and its artifact layout is read by ``farm collect``.

The fake backend is registered with monkeypatch, so it is gone after each test and the real
table is left as it was.
"""

from __future__ import annotations

import argparse
import json
import shutil
from pathlib import Path

import pytest

from albert_edge.benchmark import farm
from albert_edge.benchmark.__main__ import build_parser, main
from albert_edge.benchmark.parse import CORE_KEYS

REPO = Path(__file__).resolve().parents[1]
DEVICES = REPO / "benchmark" / "devices" / "snapdragon845.txt"
AWS_LOG = REPO / "tests" / "data" / "benchmark_outputs" / "tflite-2.x_apk_logcat_threadtime_percentiles.txt"


class FakeFarm(farm.FarmBackend):
    """A farm that writes one JSON plan and reads back ``fake_result_*`` JSON files."""

    name = "fakefarm"
    help_text = "write a plan for the fake farm"
    artifact_names = "'fake_result_*'"

    def add_arguments(self, parser: argparse.ArgumentParser) -> None:
        parser.add_argument("--queue", default="standard", help="fake farm queue")

    def write(self, args: argparse.Namespace, devices: list[dict], threads: list[int], out: Path) -> str:
        plan = {"models": args.model, "devices": [d["model"] for d in devices], "threads": threads,
                "queue": args.queue}
        out.mkdir(parents=True, exist_ok=True)
        (out / "fake_plan.json").write_text(json.dumps(plan), encoding="utf-8")
        return f"planned {len(args.model)} model(s) on the {args.queue} queue"

    def matches(self, path: Path) -> bool:
        return path.name.startswith("fake_result_")

    def collect_row(self, path: Path, root: Path) -> dict:
        result = json.loads(path.read_text(encoding="utf-8"))
        row = {key: None for key in CORE_KEYS}
        row.update(source=self.name, run_id=str(path.relative_to(root)), device_model=path.parent.name,
                   variant=result["variant"], threads=result["threads"], delegate="cpu",
                   inference_avg_us=result["avg_us"], status="ok")
        return row


@pytest.fixture
def fake_farm(monkeypatch: pytest.MonkeyPatch) -> FakeFarm:
    backend = FakeFarm()
    monkeypatch.setitem(farm.BACKENDS, backend.name, backend)
    # main() sets a TensorFlow default in the environment; undo it with the registration.
    monkeypatch.delenv("TF_ENABLE_ONEDNN_OPTS", raising=False)
    return backend


def _fake_result(folder: Path, name: str, variant: str, avg_us: float) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    (folder / name).write_text(json.dumps({"variant": variant, "threads": 2, "avg_us": avg_us}), encoding="utf-8")


def test_registered_backend_is_a_subcommand_with_shared_and_own_flags(fake_farm, capsys):
    with pytest.raises(SystemExit) as exc:
        build_parser(["farm"]).parse_args(["farm", "--help"])
    assert exc.value.code == 0
    listing = capsys.readouterr().out
    assert "{aws,firebase,fakefarm,collect}" in listing and "write a plan for the fake farm" in listing

    with pytest.raises(SystemExit) as exc:
        build_parser(["farm"]).parse_args(["farm", "fakefarm", "--help"])
    assert exc.value.code == 0
    own_help = capsys.readouterr().out
    for flag in ("--model", "--devices", "--threads", "--out", "--queue"):
        assert flag in own_help
    assert "--cpu-mask" not in own_help and "--apk" not in own_help   # other farms' flags stay theirs


def test_registered_backend_writes_its_files_through_the_cli(fake_farm, tmp_path, capsys):
    code = main(["farm", "fakefarm", "--model", "a_fp32.tflite", "--model", "a_int8.tflite",
                 "--devices", str(DEVICES), "--threads", "1,2", "--queue", "night", "--out", str(tmp_path)])
    assert code == 0
    assert capsys.readouterr().out == "planned 2 model(s) on the night queue\n"
    plan = json.loads((tmp_path / "fake_plan.json").read_text(encoding="utf-8"))
    expected_devices = [d["model"] for d in farm.read_devices(str(DEVICES))]
    assert plan == {"models": ["a_fp32.tflite", "a_int8.tflite"], "devices": expected_devices,
                    "threads": [1, 2], "queue": "night"}


def test_registered_backend_gets_the_shared_input_checks(fake_farm, tmp_path, capsys):
    code = main(["farm", "fakefarm", "--model", "m.tflite", "--devices", str(tmp_path / "missing.txt"),
                 "--out", str(tmp_path / "out")])
    assert code == 2
    assert capsys.readouterr().err.startswith("error: ")
    assert not (tmp_path / "out").exists()


def test_collect_consults_the_registered_recognizer(fake_farm, tmp_path, capsys):
    artifacts = tmp_path / "artifacts"
    _fake_result(artifacts / "Pixel 7", "fake_result_1.json", "albert_tiny_int8", 1234.5)
    aws_dir = artifacts / "Google Pixel 3" / "Customer_Artifacts"
    aws_dir.mkdir(parents=True)
    shutil.copy(AWS_LOG, aws_dir / "albert_tiny_int8__L128__t4.log")

    code = main(["farm", "collect", str(artifacts), "--out", str(tmp_path / "out")])
    assert code == 0
    assert capsys.readouterr().out.startswith("2/2 logs parsed")
    rows = [json.loads(line) for line in (tmp_path / "out" / "results.jsonl").read_text().splitlines()]
    by_source = {row["source"]: row for row in rows}
    assert set(by_source) == {"fakefarm", "farm"}
    assert by_source["fakefarm"]["device_model"] == "Pixel 7"
    assert by_source["fakefarm"]["inference_avg_us"] == 1234.5
    assert by_source["farm"]["inference_avg_us"] == 145528   # the AWS layout is still read


def test_a_specific_layout_wins_over_the_catch_all_log_name(fake_farm, tmp_path):
    # This name also fits the AWS log pattern; its content is not benchmark_model output, so only
    # the fake recognizer being asked first gives an "ok" row.
    _fake_result(tmp_path / "art" / "Pixel 7", "fake_result_m__t2.log", "m", 10.0)
    code, rows = farm.collect(str(tmp_path / "art"), str(tmp_path / "out"))
    assert code == 0
    assert [(row["source"], row["status"]) for row in rows] == [("fakefarm", "ok")]


def test_unregistered_layout_is_not_collected(tmp_path, capsys, monkeypatch):
    monkeypatch.delenv("TF_ENABLE_ONEDNN_OPTS", raising=False)
    _fake_result(tmp_path / "art" / "Pixel 7", "fake_result_1.json", "m", 10.0)
    assert "fakefarm" not in farm.BACKENDS
    assert main(["farm", "collect", str(tmp_path / "art")]) == 2
    assert capsys.readouterr().err == (
        f"error: no '<variant>__t<threads>.log' / '<variant>__<signature>__npu.log' or 'benchmark_result_*' files under {tmp_path / 'art'}\n")
