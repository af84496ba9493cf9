"""MediaPipe's own readers on albert_edge exports; run by the tests under MediaPipe's interpreter.

Why a script run in another interpreter: mediapipe 1.2.3 needs absl-py ~= 2.3 and
tensorflow-model-optimization (the kit's qat variant) needs absl-py ~= 1.2, so the two cannot share
one environment; `make mediapipe-deps` installs MediaPipe into `.tools/mediapipe-venv` and the
tests call this script there (tests/mediapipe_env.py).

    python mediapipe_client.py metadata MODEL...       -> {"MODEL": {"json": ..., "files": [...]}, ...}
    python mediapipe_client.py classify MODEL TEXTFILE -> [{"head": {"label": score, ...}, ...}, ...]

The metadata command uses `MetadataDisplayer` (flatc's parser with MediaPipe's metadata_schema.fbs
turns the buffer into JSON). Its module imports `mediapipe.tasks.cc.metadata.python.
_pywrap_metadata_version`, an extension the 1.2.3 wheel does not ship; only MetadataPopulator
calls it (to compute a min_parser_version), so it is registered here as a module whose one
function raises — the displayer runs unchanged, and anything that would need the missing
extension fails loudly instead of silently.
"""
import json
import sys
import types

MISSING = "mediapipe.tasks.cc.metadata.python._pywrap_metadata_version"


def _register_missing_extension() -> None:
    def unavailable(*_args, **_kwargs):
        raise NotImplementedError(f"{MISSING} is not shipped in this mediapipe wheel")
    parts = MISSING.split(".")
    for i in range(3, len(parts) + 1):   # mediapipe.tasks exists; .cc… do not
        name = ".".join(parts[:i])
        if name not in sys.modules:
            module = types.ModuleType(name)
            module.__path__ = []
            sys.modules[name] = module
            setattr(sys.modules[".".join(parts[:i - 1])], parts[i - 1], module)
    sys.modules[MISSING].GetMinimumMetadataParserVersion = unavailable


def metadata(paths):
    import mediapipe.tasks  # noqa: F401  (the real package first, so only the missing part is registered)
    _register_missing_extension()
    from mediapipe.tasks.python.metadata.metadata import MetadataDisplayer
    out = {}
    for path in paths:
        displayer = MetadataDisplayer.with_model_file(path)
        out[path] = {"json": json.loads(displayer.get_metadata_json()),
                     "files": displayer.get_packed_associated_file_list()}
    return out


def classify(model, text_file):
    from mediapipe.tasks.python.core.base_options import BaseOptions
    from mediapipe.tasks.python.text import text_classifier
    options = text_classifier.TextClassifierOptions(base_options=BaseOptions(model_asset_path=model))
    results = []
    with open(text_file, encoding="utf-8") as f:
        texts = [line.rstrip("\n") for line in f]
    with text_classifier.TextClassifier.create_from_options(options) as classifier:
        for text in texts:
            result = classifier.classify(text)
            results.append({c.head_name: {cat.category_name: cat.score for cat in c.categories}
                            for c in result.classifications})
    return results


if __name__ == "__main__":
    command, args = sys.argv[1], sys.argv[2:]
    result = metadata(args) if command == "metadata" else classify(*args)
    json.dump(result, sys.stdout, ensure_ascii=False)
