"""tfgen/catalog.json: the models as the command line shows them, read without TensorFlow."""

import json

import pytest

from tfgen import catalog, cli
from tfgen.models import MODELS


def test_the_catalog_file_is_up_to_date():
    with open(catalog.CATALOG_FILE, encoding="utf-8") as stream:
        stored = json.load(stream)
    built = json.loads(json.dumps(catalog.build()))
    assert stored == built, "tfgen/catalog.json is out of date: run `python -m tfgen.catalog` and commit it"
    assert sorted(stored["models"]) == sorted(MODELS)


def test_a_catalog_that_does_not_match_the_sources_is_built_from_the_classes(tmp_path, monkeypatch):
    stale = tmp_path / "catalog.json"
    stale.write_text(json.dumps({"fingerprint": "another version", "models": {"vae": {}}}))
    monkeypatch.setattr(catalog, "CATALOG_FILE", str(stale))
    assert sorted(catalog.load()["models"]) == sorted(MODELS)
    stale.write_text("{not json")
    assert sorted(catalog.load()["models"]) == sorted(MODELS)


def test_the_parser_from_the_catalog_resolves_a_run_as_the_library_does(monkeypatch):
    from tfgen import runs
    from tfgen.config import RunConfig

    configs = []
    monkeypatch.setattr(runs, "run", configs.append)
    cli.main(["train", "cvae", "--out", "run", "--preset", "seed-post", "--set", "beta=0.5", "--epochs", "3",
              "--latent-dim", "4"])
    expected = RunConfig.resolve("cvae", out="run", preset="seed-post", assignments=[("beta", 0.5)], epochs=3,
                                 model={"latent_dim": 4})
    assert configs[0].to_json() == expected.to_json()
    assert configs[0].model["conditioning"] == "projection"


@pytest.mark.parametrize("argv, message", [
    (["train", "cvae", "--out", "run", "--preset", "seed_post"], "no preset 'seed_post'"),
    (["train", "mmd_vae", "--out", "run", "--preset", "seed-post"], "unrecognized arguments: --preset"),
])
def test_a_bad_preset_is_one_line(argv, message, capsys):
    try:
        code = cli.main(argv)
    except SystemExit as exit_:
        code = exit_.code
    err = capsys.readouterr().err
    assert code == 2 and message in err and len(err.strip().splitlines()) == 1, err
