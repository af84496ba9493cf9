"""The Android app's inference path (SimilarityModel: tokenizer, signature choice, tensor buffers by
name, both orders for a "pairs" model) run on the JVM over LiteRT's real C API (libLiteRt.so of the
ai-edge-litert wheel, through JNA) by `android_demo/app/similarity-jvm`, against albert_edge's Python
runtime on the same exports: same signature, same probabilities, on >= 2,000 real LCQMC pairs plus
texts that truncate, one-character and punctuation-only texts. Also: its exit-2 messages, the
accelerator fallback it reports, and the Play for On-device AI pack layout of `make android-aipack`.

Needs a JDK and Debian's libjna-java (android_demo/install_deps.sh); skipped with the reason otherwise.
"""
from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
import xml.etree.ElementTree as ET
from pathlib import Path
from typing import List, Sequence, Tuple

import numpy as np
import pytest

from conftest import missing_tool  # noqa: E402  (tests/ is on sys.path under pytest)

REPO = Path(__file__).resolve().parent.parent
JVM_CLI = REPO / "android_demo" / "app" / "similarity-jvm"
AIPACK = REPO / "android_demo" / "make_aipack.sh"
SAMPLES = REPO / "albert_edge" / "resources" / "samples"
JNA = Path(os.environ.get("JNA_JAR", "/usr/share/java/jna.jar"))

TOLERANCE = 1e-5  # |dp|, fp32 and int8 alike: the same runtime kernels run on both sides

@pytest.fixture(autouse=True)
def _jdk_and_jna():
    if shutil.which("javac") is None or shutil.which("java") is None:
        missing_tool("no JDK (javac/java) on PATH: apt-get install -y default-jdk-headless (make java-deps)")
    if not JNA.is_file():
        missing_tool(f"no JNA at {JNA}: apt-get install -y libjna-java (make java-deps)")


def _litert_library() -> str:
    import ai_edge_litert
    return str(Path(ai_edge_litert.__file__).parent / "libLiteRt.so")


def _env(**extra) -> dict:
    env = dict(os.environ, PYTHON=sys.executable, LITERT_LIBRARY=_litert_library())
    env.update(extra)
    return env


def run_jvm(args: Sequence[str], stdin: bytes, **env) -> subprocess.CompletedProcess:
    return subprocess.run([str(JVM_CLI), *args], input=stdin, capture_output=True, cwd=REPO,
                          timeout=600, env=_env(**env))


def _lines(path: Path, n: int | None = None) -> List[Tuple[str, str]]:
    rows = [line.split("\t") for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]
    return [(r[0].strip(), r[1].strip()) for r in rows[:n]]


def real_pairs() -> List[Tuple[str, str]]:
    """2,000 LCQMC dev pairs, 80 long pairs built from dev sentences (they truncate even at 128),
    one-character and punctuation-only texts, and a few mixes of them."""
    pairs = _lines(SAMPLES / "lcqmc_valid.tsv")
    dev = _lines(SAMPLES / "lcqmc_dev.tsv", 1200)
    for i in range(80):
        chunk = dev[i * 12:(i + 1) * 12]
        a = "，".join(p[0] for p in chunk)
        b = "。".join(p[1] for p in chunk[: 3 + i % 9])
        pairs.append((a, b) if i % 2 else (b, a))
    singles = ["好", "是", "吗", "a", "1", "？", "。", "！", "…", "～", "（", "@", "🙂", "龘"]
    punct = ["？？", "。。。", "……", "！？", "，、；：", "“”", "（）【】", "---", "?!", "...", "《》"]
    for i, s in enumerate(singles):
        pairs.append((s, singles[(i + 3) % len(singles)]))
        pairs.append((s, dev[i][0]))
    for i, p in enumerate(punct):
        pairs.append((p, punct[(i + 1) % len(punct)]))
        pairs.append((dev[100 + i][1], p))
        pairs.append((p, singles[i % len(singles)]))
    return pairs


def write_pairs(path: Path, pairs: Sequence[Tuple[str, str]]) -> Path:
    path.write_text("".join(f"{a}\t{b}\n" for a, b in pairs), encoding="utf-8")
    return path


def python_signatures(model: Path, pairs: Sequence[Tuple[str, str]]):
    """The signature length Python's runtime picks for each order of each pair, its lengths, and the
    one-order probability of "same" for (a, b) (what the network gives before the mean of orders)."""
    from albert_edge.runtime import TFLiteModel, softmax
    m = TFLiteModel(model)
    same = m.labels.index("1")
    lengths = [(m.encode(a, b)[1], m.encode(b, a)[1]) for a, b in pairs]
    one_order = np.array([softmax(m.one_order_logits(a, b))[same] for a, b in pairs])
    return lengths, m.seq_lens, one_order


def python_cli(model: Path, pairs_file: Path) -> np.ndarray:
    out = subprocess.run([sys.executable, "-m", "albert_edge.similarity", "--model", str(model),
                          "--pairs", str(pairs_file)], capture_output=True, text=True, cwd=REPO, timeout=900,
                         env=dict(os.environ, PYTHONPATH=str(REPO)))
    assert out.returncode == 0, out.stderr[-2000:]
    lines = out.stdout.splitlines()
    assert all(re.fullmatch(r"\d\.\d{6}", x) for x in lines), lines[:5]
    return np.array([float(x) for x in lines])


def parse_jvm(proc: subprocess.CompletedProcess):
    assert proc.returncode == 0, proc.stderr.decode()[-3000:]
    lines = proc.stdout.decode().splitlines()
    assert all(re.fullmatch(r"\d\.\d{6}", x) for x in lines), lines[:5]
    err = proc.stderr.decode().splitlines()
    sigs = [tuple(int(s[1:]) for s in line.split()[1:]) for line in err if line.startswith("signature: ")]
    ran = [line for line in err if line.startswith("accelerator: ")]
    fallbacks = [line for line in err if line.startswith("fallback: ")]
    return np.array([float(x) for x in lines]), sigs, ran, fallbacks


@pytest.fixture(scope="module")
def mini_exports(tmp_path_factory):
    """fp32 and int8 exports of the tests' mini model (lengths 16 and 32: the long pairs truncate)."""
    sys.path.insert(0, str(Path(__file__).parent))
    from conftest import mini_config, write_classifier_checkpoint
    from albert_edge.export.pipeline import ExportOptions, export
    ckpt = write_classifier_checkpoint(tmp_path_factory.mktemp("jvm_ckpt"), mini_config(), seed=3)
    out = tmp_path_factory.mktemp("jvm_export")
    export(ExportOptions(checkpoint=str(ckpt), out=str(out), variants=("fp32", "int8"), seq_lens=(16, 32),
                         stages=("freeze", "convert"), threads=(1,), progress=False))
    return out


@pytest.fixture(scope="module")
def pairs_file(tmp_path_factory):
    pairs = real_pairs()
    return pairs, write_pairs(tmp_path_factory.mktemp("jvm_pairs") / "pairs.tsv", pairs)


def check_parity(model: Path, pairs, pairs_file: Path, min_pairs: int = 2000):
    expected = python_cli(model, pairs_file)
    lengths, seq_lens, one_order = python_signatures(model, pairs)
    proc = run_jvm(["--model", str(model), "--verbose"], pairs_file.read_bytes())
    got, sigs, ran, _ = parse_jvm(proc)
    assert ran == ["accelerator: CPU"]
    assert len(got) == len(expected) == len(pairs) >= min_pairs
    assert sigs == lengths, "the JVM path picked other signatures than Python"
    used = {L for pair in lengths for L in pair}
    assert used == set(seq_lens), f"every exported length is exercised: {used} vs {seq_lens}"
    from albert_edge.tokenization import needed_length
    m_tok = __import__("albert_edge.runtime", fromlist=["TFLiteModel"]).TFLiteModel(model).tokenizer
    truncating = sum(needed_length(m_tok.tokenize(a), m_tok.tokenize(b)) > max(seq_lens) for a, b in pairs)
    assert truncating >= 80
    delta = np.abs(got - expected)
    worst = int(np.argmax(delta))
    assert delta.max() <= TOLERANCE, (f"max |dp| {delta.max():.2e} at pair {worst} {pairs[worst]}: "
                                      f"jvm {got[worst]} python {expected[worst]}")
    return got, one_order


@pytest.mark.slow
@pytest.mark.parametrize("variant", ["fp32", "int8"])
def test_jvm_path_equals_python_on_real_pairs(mini_exports, pairs_file, variant):
    pairs, path = pairs_file
    model = mini_exports / f"albert_tiny_{variant}.tflite"
    got, one_order = check_parity(model, pairs, path)
    # the mean of orders is real: the network's one-order score differs from it somewhere
    assert np.abs(one_order - got).max() > 1e-4


@pytest.mark.slow
def test_jvm_path_equals_python_on_the_bundled_model(tmp_path):
    """The trained ALBERT-tiny (lengths 32/64/128) through the same path, int8 (the app's default),
    on a part of the pairs: every 8th LCQMC pair plus all long, one-character and punctuation
    pairs (the full 2,141 pairs run on the mini exports above; this export alone takes minutes)."""
    from albert_edge.export.pipeline import ExportOptions, export
    export(ExportOptions(checkpoint=str(REPO / "models" / "albert_tiny_lcqmc"), out=str(tmp_path / "export"),
                         variants=("int8",), stages=("freeze", "convert"), threads=(1,), progress=False))
    pairs = real_pairs()
    pairs = pairs[:2000:8] + pairs[2000:]
    path = write_pairs(tmp_path / "pairs.tsv", pairs)
    check_parity(tmp_path / "export" / "albert_tiny_int8.tflite", pairs, path, min_pairs=300)


@pytest.mark.slow
def test_scores_are_symmetric_and_accelerator_fallback_is_reported(mini_exports):
    model = mini_exports / "albert_tiny_fp32.tflite"
    pairs = real_pairs()[:40]
    fwd = parse_jvm(run_jvm(["--model", str(model)], "".join(f"{a}\t{b}\n" for a, b in pairs).encode()))[0]
    rev = parse_jvm(run_jvm(["--model", str(model)], "".join(f"{b}\t{a}\n" for a, b in pairs).encode()))[0]
    assert np.abs(fwd - rev).max() <= 1e-6
    for acc in ("npu", "gpu"):
        got, _, ran, fallbacks = parse_jvm(run_jvm(["--model", str(model), "--accelerator", acc, "--verbose"],
                                                   "".join(f"{a}\t{b}\n" for a, b in pairs).encode()))
        assert len(ran) == 1
        if ran[0] != f"accelerator: {acc.upper()}":
            # never silent: what was asked for and why it did not run is printed (and on the phone shown)
            assert ran == ["accelerator: CPU"]
            assert fallbacks and fallbacks[0].startswith(f"fallback: {acc.upper()}"), fallbacks
            assert np.abs(got - fwd).max() <= 1e-6


@pytest.mark.slow
def test_npu_order_with_an_aot_model_is_reported_step_by_step(mini_exports, tmp_path):
    """--soc SM8650 with <model>.sm8650.tflite beside the model: the AOT model is tried first, then
    on-device compilation, then the CPU; here (no NPU in LiteRT's environment) each NPU step is
    reported as not available and the CPU runs the plain model."""
    model = tmp_path / "albert_tiny_fp32.tflite"
    shutil.copy(mini_exports / "albert_tiny_fp32.tflite", model)
    shutil.copy(mini_exports / "albert_tiny_fp32.tflite", tmp_path / "albert_tiny_fp32.sm8650.tflite")
    _, _, ran, fallbacks = parse_jvm(run_jvm(["--model", str(model), "--accelerator", "npu", "--soc", "SM8650",
                                              "--verbose"], "花呗怎么还款\t花呗如何还钱\n".encode()))
    if ran == ["accelerator: CPU"]:
        assert [f.split(":")[1].strip() for f in fallbacks] == ["NPU (AOT-compiled for sm8650)",
                                                                "NPU (compiled on the device)"], fallbacks
    else:
        assert ran == ["accelerator: NPU (AOT-compiled for sm8650)"], ran


@pytest.mark.slow
def test_bad_input_and_models_exit_2_with_a_message(mini_exports, tmp_path):
    model = mini_exports / "albert_tiny_fp32.tflite"
    corrupt = tmp_path / "corrupt.tflite"
    corrupt.write_bytes(model.read_bytes()[:4096])
    garbage = tmp_path / "garbage.tflite"
    garbage.write_bytes(b"\x00" * 4 + b"TFL3" + os.urandom(2000))
    cases = [
        (["--model", str(tmp_path / "missing.tflite")], b"a\tb\n", "model file not found"),
        (["--model", str(corrupt)], b"a\tb\n", str(corrupt)),
        (["--model", str(garbage)], b"a\tb\n", str(garbage)),
        (["--model", str(model)], b"a\tb\n\nc\td\n", "line 2 is empty"),
        (["--model", str(model)], "a\tb\n没有制表符\n".encode(), "line 2 has no TAB"),
        (["--model", str(model)], b"a\tb\n\xe4\xb8\tx\n", "not valid UTF-8"),
        (["--model", str(model)], b"", "no pairs"),
        (["--model", str(model), "--threads", "0"], b"a\tb\n", "--threads"),
        (["--model", str(model), "--accelerator", "nnapi"], b"a\tb\n", "invalid choice"),
        (["--model", str(model), "--soc", "sm 8650"], b"a\tb\n", "--soc"),
        ([], b"a\tb\n", "--model"),
    ]
    for args, stdin, message in cases:
        proc = run_jvm(args, stdin)
        err = proc.stderr.decode()
        assert proc.returncode == 2, (args, stdin, err[-1500:])
        assert message in err, (message, err[-1500:])
        assert "\tat " not in err and "Exception in thread" not in err, err[-1500:]
        assert proc.stdout == b""


@pytest.mark.slow
def test_a_library_that_does_not_load_is_the_apps_message(mini_exports):
    """libLiteRt.so replaced by a file that is no library: UnsatisfiedLinkError inside the app's
    code becomes the message the phone shows (SimilarityModel.nativeRuntimeMissing), exit 2."""
    proc = run_jvm(["--model", str(mini_exports / "albert_tiny_int8.tflite")], b"a\tb\n",
                   LITERT_LIBRARY=str(REPO / "README.md"))
    err = proc.stderr.decode()
    assert proc.returncode == 2, err
    assert "LiteRT's runtime could not be loaded on this device (UnsatisfiedLinkError" in err
    assert "\tat " not in err


# ----------------------------------------------------------------------------- AI pack
def _fake_export(folder: Path, model: Path, socs: Sequence[str]) -> Path:
    folder.mkdir()
    shutil.copy(model, folder / "albert_tiny_int8.tflite")
    for soc in socs:  # stand-ins for the export's AOT-compiled files: only their names matter here
        (folder / f"albert_tiny_int8.{soc}.tflite").write_bytes(model.read_bytes()[:64] + soc.encode())
    return folder


def run_aipack(export_dir: Path, out: Path, *args: str) -> subprocess.CompletedProcess:
    return subprocess.run(["bash", str(AIPACK), str(export_dir), *args], capture_output=True, text=True,
                          cwd=REPO, timeout=120, env=dict(os.environ, AIPACK_DIR=str(out)))


@pytest.mark.slow
def test_aipack_layout_follows_the_documented_format(mini_exports, tmp_path):
    """Play for On-device AI with device targeting by SoC, as LiteRT's AI-pack exporter writes it:
    <dir>/device_targeting_configuration.xml (config:device-targeting-config, one device-group per
    SoC, system-on-chip selectors, Qualcomm under both "Qualcomm" and "QTI"), <dir>/<pack>/
    src/main/assets/model#group_<group>/<model>.tflite per group, model#group_other holding the CPU
    model, and the pack's build.gradle (com.android.ai-pack, packName, install-time)."""
    cpu = mini_exports / "albert_tiny_int8.tflite"
    export_dir = _fake_export(tmp_path / "export", cpu, ["sm8650", "sm8750", "mt6989"])
    out = tmp_path / "ai_pack"
    proc = run_aipack(export_dir, out)
    assert proc.returncode == 0, proc.stderr
    ns = {"config": "http://schemas.android.com/apk/config"}
    root = ET.parse(out / "device_targeting_configuration.xml").getroot()
    assert root.tag == "{http://schemas.android.com/apk/config}device-targeting-config"
    groups = {g.get("name"): [(s.get("manufacturer"), s.get("model"))
                              for s in g.findall("config:device-selector/config:system-on-chip", ns)]
              for g in root.findall("config:device-group", ns)}
    assert groups == {"Qualcomm_SM8650": [("Qualcomm", "SM8650"), ("QTI", "SM8650")],
                      "Qualcomm_SM8750": [("Qualcomm", "SM8750"), ("QTI", "SM8750")],
                      "Mediatek_MT6989": [("Mediatek", "MT6989")]}
    assert all(len(g.findall("config:device-selector", ns)) <= 5 for g in root.findall("config:device-group", ns))
    assets = out / "albert_tiny_pack" / "src" / "main" / "assets"
    folders = sorted(p.name for p in assets.iterdir())
    assert folders == sorted(["model#group_other"] + [f"model#group_{g}" for g in groups])
    for folder in folders:
        files = sorted(p.name for p in (assets / folder).iterdir())
        assert files == ["albert_tiny_int8.tflite", "target.txt"], (folder, files)
    assert (assets / "model#group_other" / "albert_tiny_int8.tflite").read_bytes() == cpu.read_bytes()
    assert (assets / "model#group_other" / "target.txt").read_text().strip() == "other"
    assert (assets / "model#group_Qualcomm_SM8650" / "albert_tiny_int8.tflite").read_bytes() == \
        (export_dir / "albert_tiny_int8.sm8650.tflite").read_bytes()
    assert (assets / "model#group_Qualcomm_SM8650" / "target.txt").read_text().strip() == "sm8650"
    gradle = (out / "albert_tiny_pack" / "build.gradle").read_text()
    assert 'id "com.android.ai-pack"' in gradle and 'packName = "albert_tiny_pack"' in gradle
    assert 'deliveryType = "install-time"' in gradle
    # the app's Gradle files pick the pack up under the names written here
    app_gradle = (REPO / "android_demo" / "app" / "build.gradle").read_text()
    settings = (REPO / "android_demo" / "settings.gradle").read_text()
    assert 'assetPacks = [":albert_tiny_pack"]' in app_gradle and 'defaultGroup = "other"' in app_gradle
    assert 'include ":albert_tiny_pack"' in settings
    assert "android.experimental.enableDeviceTargetingConfigApi=true" in \
        (REPO / "android_demo" / "gradle.properties").read_text()
    # a second run replaces the pack (a SoC dropped from the export is dropped from the pack)
    (export_dir / "albert_tiny_int8.sm8750.tflite").unlink()
    assert run_aipack(export_dir, out).returncode == 0
    assert not (assets / "model#group_Qualcomm_SM8750").exists()


@pytest.mark.slow
def test_aipack_refuses_unusable_exports(mini_exports, tmp_path):
    cpu = mini_exports / "albert_tiny_int8.tflite"
    out = tmp_path / "ai_pack"
    proc = run_aipack(tmp_path / "nope", out)
    assert proc.returncode == 2 and "make export" in proc.stderr
    no_cpu = _fake_export(tmp_path / "e1", cpu, ["sm8650"])
    (no_cpu / "albert_tiny_int8.tflite").unlink()
    proc = run_aipack(no_cpu, out)
    assert proc.returncode == 2 and "CPU model" in proc.stderr
    unknown = _fake_export(tmp_path / "e2", cpu, ["exynos2400"])
    proc = run_aipack(unknown, out)
    assert proc.returncode == 2 and "unknown SoC vendor" in proc.stderr
    assert not out.exists()
