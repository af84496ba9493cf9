"""`make android-check` (android_demo/android_check.sh) builds a signed debug APK of the demo from
Debian's Android tools, and what it claims is checked here again, independently: the APK is a zip
whose model is stored uncompressed and 4-byte aligned (the app opens it with AssetManager.openFd)
and byte-identical to the export, classes.dex holds the app and core but none of the LiteRT classes
it was compiled against and no call site (so no invoke-custom), and zipalign / apksigner / aapt
accept the result.

The APK has no LiteRT runtime inside: this proves resources, manifest, dex and packaging, not
inference on a phone (android_demo/README.md; the inference path runs here through
app/similarity-jvm, tests/test_android_jvm.py). Tools come from android_demo/install_deps.sh (`make test`);
without them the test skips, except under CI=true.
"""

from __future__ import annotations

import os
import shutil
import struct
import subprocess
import zipfile
from pathlib import Path

import pytest

from conftest import missing_tool  # noqa: E402  (tests/ is on sys.path under pytest)

REPO = Path(__file__).resolve().parents[1]
CHECK = REPO / "android_demo" / "android_check.sh"
TOOLS = ["javac", "keytool", "aapt", "aapt2", "zipalign", "apksigner", "dalvik-exchange", "dexdump", "zip"]
ANDROID_JAR = Path("/usr/lib/android-sdk/platforms/android-23/android.jar")
FRAMEWORK_RES = Path("/usr/share/android-framework-res/framework-res.apk")

# dex map_list item types (Dalvik executable format): call sites and method handles exist only for
# invoke-custom / invoke-polymorphic, i.e. for lambdas that were not desugared.
TYPE_CALL_SITE_ID_ITEM = 0x0007
TYPE_METHOD_HANDLE_ITEM = 0x0008


def _require_tools():
    missing = [t for t in TOOLS if shutil.which(t) is None]
    missing += [str(p) for p in (ANDROID_JAR, FRAMEWORK_RES) if not p.is_file()]
    if missing:
        message = f"missing {', '.join(missing)}: run android_demo/install_deps.sh as root"
        missing_tool(message)


def _uleb128(data: bytes, pos: int) -> tuple[int, int]:
    value = shift = 0
    while True:
        byte = data[pos]
        pos += 1
        value |= (byte & 0x7F) << shift
        if byte < 0x80:
            return value, pos
        shift += 7


def read_dex(data: bytes) -> tuple[list[str], dict[int, int]]:
    """(class descriptors defined, {map item type: count}) of a classes.dex."""
    assert data[:4] == b"dex\n" and data[7] == 0, "not a dex file"
    string_ids_off, = struct.unpack_from("<I", data, 0x3C)
    type_ids_off, = struct.unpack_from("<I", data, 0x44)
    class_defs_size, class_defs_off = struct.unpack_from("<II", data, 0x60)
    map_off, = struct.unpack_from("<I", data, 0x34)

    def string(idx: int) -> str:
        data_off, = struct.unpack_from("<I", data, string_ids_off + 4 * idx)
        _, pos = _uleb128(data, data_off)  # utf16 length, then MUTF-8 up to NUL
        return data[pos:data.index(b"\0", pos)].decode("utf-8", errors="replace")

    classes = []
    for i in range(class_defs_size):
        type_idx, = struct.unpack_from("<I", data, class_defs_off + 32 * i)
        descriptor_idx, = struct.unpack_from("<I", data, type_ids_off + 4 * type_idx)
        classes.append(string(descriptor_idx))
    size, = struct.unpack_from("<I", data, map_off)
    items = {}
    for i in range(size):
        item_type, _, count, _ = struct.unpack_from("<HHII", data, map_off + 4 + 12 * i)
        items[item_type] = count
    return classes, items


def _data_offset(apk: Path, info: zipfile.ZipInfo) -> int:
    """Where an entry's bytes start: after its local header (30 bytes + name + extra)."""
    with open(apk, "rb") as fh:
        fh.seek(info.header_offset)
        header = fh.read(30)
    name_len, extra_len = struct.unpack_from("<HH", header, 26)
    return info.header_offset + 30 + name_len + extra_len


@pytest.fixture(scope="module")
def apk_build(exported, tmp_path_factory):
    _require_tools()
    _, opts = exported
    out = tmp_path_factory.mktemp("android-check")
    proc = subprocess.run(["bash", str(CHECK), opts.out, str(out)], capture_output=True, text=True,
                          cwd=REPO, timeout=600)
    return proc, Path(opts.out), out


@pytest.mark.slow
def test_android_check_builds_a_signed_aligned_apk(apk_build):
    proc, _, out = apk_build
    assert proc.returncode == 0, proc.stdout + proc.stderr
    steps = [line for line in proc.stdout.splitlines() if line.startswith("ok: ")]
    assert len(steps) == 7, proc.stdout
    assert "no LiteRT runtime inside" in proc.stdout
    apk = out / "albert_edge_demo-debug.apk"
    assert subprocess.run(["zipalign", "-c", "-p", "4", str(apk)], capture_output=True).returncode == 0
    verify = subprocess.run(["apksigner", "verify", "--verbose", str(apk)], capture_output=True, text=True)
    assert verify.returncode == 0 and "Verified using v2 scheme (APK Signature Scheme v2): true" in verify.stdout
    badging = subprocess.run(["aapt", "dump", "badging", str(apk)], capture_output=True, text=True).stdout
    assert "package: name='org.albertedge.demo' versionCode='1' versionName='0.1.0'" in badging
    assert "sdkVersion:'23'" in badging and "targetSdkVersion:'35'" in badging
    assert "launchable-activity: name='org.albertedge.demo.MainActivity'" in badging


@pytest.mark.slow
def test_apk_assets_are_the_export_and_the_model_is_mappable(apk_build):
    proc, export_dir, out = apk_build
    assert proc.returncode == 0, proc.stdout + proc.stderr
    apk = out / "albert_edge_demo-debug.apk"
    with zipfile.ZipFile(apk) as zf:
        names = set(zf.namelist())
        for name in ("AndroidManifest.xml", "resources.arsc", "classes.dex", "res/layout/activity_main.xml",
                     "assets/albert_tiny_int8.tflite", "assets/albert_tiny_int8.json", "assets/vocab.txt"):
            assert name in names, f"{name} missing from the APK"
        assert not any(n.startswith("lib/") for n in names), "no native libraries: LiteRT is not inside"
        model = zf.getinfo("assets/albert_tiny_int8.tflite")
        assert model.compress_type == zipfile.ZIP_STORED, "the model must be stored for AssetManager.openFd"
        assert _data_offset(apk, model) % 4 == 0, "the stored model must start 4-byte aligned"
        assert zf.read(model) == (export_dir / "albert_tiny_int8.tflite").read_bytes()
        assert zf.getinfo("resources.arsc").compress_type == zipfile.ZIP_STORED  # targetSdk >= 30
        assert zf.read("assets/albert_tiny_int8.json") == (export_dir / "albert_tiny_int8.json").read_bytes()


@pytest.mark.slow
def test_classes_dex_has_the_app_and_no_invoke_custom(apk_build):
    proc, _, out = apk_build
    assert proc.returncode == 0, proc.stdout + proc.stderr
    with zipfile.ZipFile(out / "albert_edge_demo-debug.apk") as zf:
        classes, items = read_dex(zf.read("classes.dex"))
    for needed in ("Lorg/albertedge/demo/MainActivity;", "Lorg/albertedge/demo/SimilarityModel;",
                   "Lorg/albertedge/demo/R$string;", "Lorg/albertedge/core/FullTokenizer;"):
        assert needed in classes
    assert not [c for c in classes if c.startswith("Lcom/google/ai/edge/litert/")], \
        "the JVM implementation of LiteRT's API was packaged"
    assert items.get(TYPE_CALL_SITE_ID_ITEM, 0) == 0, "call sites: a lambda survived as invoke-custom"
    assert items.get(TYPE_METHOD_HANDLE_ITEM, 0) == 0


@pytest.mark.slow
def test_the_dex_check_sees_a_lambda(tmp_path):
    """read_dex can fail: a class with a lambda, dexed the same way, has a call site."""
    _require_tools()
    src = tmp_path / "Lambda.java"
    src.write_text("public class Lambda { Runnable r = () -> {}; }\n")
    subprocess.run(["javac", "--release", "8", "-d", str(tmp_path / "classes"), str(src)], check=True)
    subprocess.run(["dalvik-exchange", "--dex", "--min-sdk-version=26", f"--output={tmp_path / 'l.dex'}",
                    str(tmp_path / "classes")], check=True, capture_output=True)
    classes, items = read_dex((tmp_path / "l.dex").read_bytes())
    assert classes == ["LLambda;"] and items.get(TYPE_CALL_SITE_ID_ITEM, 0) == 1


@pytest.mark.slow
def test_android_check_without_an_export_says_how_to_make_one(tmp_path):
    _require_tools()
    proc = subprocess.run(["bash", str(CHECK), str(tmp_path / "nothing"), str(tmp_path / "out")],
                          capture_output=True, text=True, cwd=REPO, timeout=60)
    assert proc.returncode == 2
    assert "make export" in proc.stderr and "Traceback" not in proc.stderr
