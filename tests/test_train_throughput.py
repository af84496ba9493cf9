"""`python -m albert_edge.benchmark train-throughput`: our trainers vs Hugging Face PyTorch, seq/s."""
from __future__ import annotations

import json
import subprocess
import sys

import pytest

from albert_edge.benchmark import train_throughput as tt
from albert_edge.benchmark.__main__ import main
from training_helpers import ENV, MINI, ROOT  # noqa: E402  (tests/ is on sys.path under pytest)


def test_table_sorts_by_length_then_library():
    rows = [{"library": "transformers (PyTorch)", "seq_len": 64, "batch": 8, "pretrain_seq_per_s": 18.14,
             "finetune_pairs_per_s": 46.1},
            {"library": "albert_edge (TF 2 / tf_keras)", "seq_len": 128, "batch": 8, "pretrain_seq_per_s": 20.0,
             "finetune_pairs_per_s": 21.3},
            {"library": "albert_edge (TF 2 / tf_keras)", "seq_len": 64, "batch": 8, "pretrain_seq_per_s": 35.2,
             "finetune_pairs_per_s": 47.4}]
    lines = tt.format_table(rows).splitlines()
    assert "pretrain seq/s" in lines[0] and set(lines[1]) == {"-"}
    assert [line.split()[0] for line in lines[2:]] == ["albert_edge", "transformers", "albert_edge"]
    assert lines[3].split()[-2:] == ["18.1", "46.1"]


def test_masked_positions_follow_albert_zh():
    assert [tt.predictions_per_seq(n) for n in (5, 32, 64, 128, 512)] == [1, 5, 10, 19, 20]


@pytest.mark.parametrize("args,message", [
    (["--seq-lens", "4"], "at least 5"),
    (["--config", "missing.json"], "missing.json"),
])
def test_unusable_input_exits_2_before_tensorflow(args, message, capsys, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    assert main(["train-throughput", *args]) == 2
    assert message in capsys.readouterr().err


@pytest.mark.parametrize("flag,value", [("--steps", "0"), ("--batch-size", "-1"), ("--warmup", "-1")])
def test_bad_numbers_are_argparse_errors(flag, value, capsys):
    with pytest.raises(SystemExit) as stop:
        main(["train-throughput", flag, value])
    assert stop.value.code == 2 and flag in capsys.readouterr().err


@pytest.mark.slow
def test_measures_both_libraries_on_a_mini_config(tmp_path):
    config = tmp_path / "mini.json"
    config.write_text(json.dumps(MINI))
    out = tmp_path / "rows.json"
    res = subprocess.run([sys.executable, "-m", "albert_edge.benchmark", "train-throughput", "--config", str(config),
                          "--seq-lens", "16", "--batch-size", "4", "--steps", "1", "--warmup", "1", "--threads", "1",
                          "--json", str(out)], env=ENV, cwd=ROOT, capture_output=True, text=True, timeout=300)
    assert res.returncode == 0, res.stderr[-3000:]
    rows = json.loads(out.read_text())
    assert sorted(r["library"] for r in rows) == ["albert_edge (TF 2 / tf_keras)", "transformers (PyTorch)"]
    for row in rows:
        assert row["seq_len"] == 16 and row["batch"] == 4
        assert row["pretrain_seq_per_s"] > 0 and row["finetune_pairs_per_s"] > 0
    assert rows[0]["max_predictions_per_seq"] == 2
    assert "pretrain seq/s" in res.stdout
