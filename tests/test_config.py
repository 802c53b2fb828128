"""tfgen.config: a run's options resolved once (recipe -> overrides -> --config -> --set -> given) and checked once."""

import dataclasses
import json

import pytest

from tfgen.catalog import flags_of
from tfgen.config import SMOKE, RunConfig, RunWarning, TrainingOptions, constructor_options, run_options
from tfgen.models import MODELS


def test_every_source_overrides_the_one_before():
    recipe = MODELS["cvae"].recipe
    config = RunConfig.resolve("cvae", out="run")
    assert (config.epochs, config.batch_size, config.learning_rate) == (recipe.epochs, recipe.batch_size,
                                                                         recipe.learning_rate)
    assert dict(config.model) == recipe.model and config.explicit == {"out"}
    config = RunConfig.resolve(
        "cvae", out="run",
        overrides={"epochs": 2, "batch_size": 50, "plot_every": 7, "latent_dim": 3, "beta": 0.5},
        config_file={"epochs": 3, "batch_size": 60, "model": {"latent_dim": 4}},
        assignments=[("epochs", 4), ("latent_dim", 5)],
        batch_size=70)
    assert config.epochs == 4 and config.batch_size == 70 and config.plot_every == 7
    assert config.model["latent_dim"] == 5 and config.model["beta"] == 0.5
    assert config.model["conditioning"] == recipe.model["conditioning"]


def test_a_name_that_is_a_run_option_and_a_constructor_argument():
    # --set seed=N is the model's own seed (the flag --seed is the run's); a keyword argument is the run's.
    config = RunConfig.resolve("cvae", out="run", assignments=[("seed", 11)], seed=3)
    assert config.seed == 3 and config.model["seed"] == 11
    config = RunConfig.resolve("cvae", out="run", model={"seed": 12})
    assert config.seed == MODELS["cvae"].recipe.seed and config.model["seed"] == 12


@pytest.mark.parametrize("options, message", [
    ({"epochs": 0}, "epochs must be a positive integer. Received: epochs=0"),
    ({"batch_size": 2.0}, "batch_size must be a positive integer. Received: batch_size=2.0"),
    ({"smoke": "false"}, "smoke must be True or False. Received: smoke='false'"),
    ({"eager": 1}, "eager must be True or False. Received: eager=1"),
    ({"learning_rate": float("nan")}, "learning_rate must be a positive number"),
    ({"beta_1": 1.0}, "beta_1 must be a finite number >= 0 and < 1"),
    ({"seed": 2**63 - 1}, "seed must be an integer in"),
    ({"precision": "float64"}, "Unknown precision 'float64'"),
    ({"strategy": "tpu"}, "Unknown strategy 'tpu'"),
    ({"binarization": "otsu"}, "Unknown binarization 'otsu'"),
    ({"image_size": "64by48"}, "image_size must be N or HxW"),
    ({"channels": 2}, "channels must be 1 (grey) or 3 (RGB). Received: channels=2"),
    ({"reference_runs": {"VAE": "runs/vae"}}, "reference_runs applies to vhe, vhe_unsupervised only, not to 'vae'"),
    ({"split_seed": 3}, "split_seed applies to cgan, conditional_diffusion, cvae, gumbel_ssvae, ssvae, vhe only, not to 'vae'"),
    ({"latnt_dim": 3}, "'vae' takes no option ['latnt_dim']"),
    ({"labels_per_class": 10}, "labels_per_class applies to the semi-supervised models only"),
    ({"discriminator_learning_rate": 1e-3}, "discriminator_learning_rate applies to the GANs only"),
    ({"jit": True, "eager": True}, "choose one"),
])
def test_a_bad_option_is_refused_naming_it(options, message):
    with pytest.raises(ValueError) as error:
        RunConfig.resolve("vae", out="run", **options)
    assert message in str(error.value)


def test_a_value_of_the_wrong_kind_is_refused_where_the_option_applies():
    with pytest.raises(ValueError, match="reference_runs must be a {name: run folder} dict of strings"):
        RunConfig.resolve("vhe", out="run", reference_runs=["runs/vae"])


def test_the_same_option_given_twice_with_different_values_is_refused():
    with pytest.raises(ValueError, match="latent_dim is given twice with different values: 3 \\(--set\\) and 4"):
        RunConfig.resolve("vae", out="run", assignments=[("latent_dim", 3)], latent_dim=4)
    with pytest.raises(ValueError, match="epochs is given twice with different values"):
        RunConfig.resolve("vae", out="run", assignments=[("epochs", 3), ("epochs", 4)])
    # The same value twice is not a conflict, and the --config file is a base the others override.
    assert RunConfig.resolve("vae", out="run", assignments=[("epochs", 3)], epochs=3).epochs == 3
    assert RunConfig.resolve("vae", out="run", config_file={"epochs": 2}, epochs=3).epochs == 3


def test_a_config_file_is_read_and_checked(tmp_path):
    path = tmp_path / "run.json"
    path.write_text(json.dumps({"epochs": 2, "model": {"latent_dim": 7}}))
    config = RunConfig.resolve("vae", out="run", config_file=str(path))
    assert config.epochs == 2 and config.model["latent_dim"] == 7
    path.write_text(json.dumps({"epochz": 2}))
    with pytest.raises(ValueError, match=r"Unknown options \['epochz'\]"):
        RunConfig.resolve("vae", out="run", config_file=str(path))
    path.write_text("[1, 2]")
    with pytest.raises(ValueError, match="must hold a JSON object"):
        RunConfig.resolve("vae", out="run", config_file=str(path))
    with pytest.raises(ValueError, match="Cannot read the --config file"):
        RunConfig.resolve("vae", out="run", config_file=str(tmp_path / "missing.json"))


def test_smoke_overrides_the_length_of_the_run_whatever_else_is_asked():
    with pytest.warns(RunWarning, match="epochs=20 is ignored"):  # reported in one line
        config = RunConfig.resolve("dcgan", out="run", smoke=True, epochs=20, train_examples=512)
    assert (config.epochs, config.steps_per_epoch, config.classifier_epochs) == (
        SMOKE["epochs"], SMOKE["steps_per_epoch"], SMOKE["classifier_epochs"])
    assert config.train_examples == 512  # a default of smoke runs, not an override
    assert RunConfig.resolve("dcgan", out="run", smoke=True).train_examples == SMOKE["train_examples"]
    assert RunConfig.resolve("vae", out="run", resume_from="ckpt-4").resume is True


def test_the_config_is_frozen_and_round_trips_through_json():
    config = RunConfig.resolve("vhe", out="run", reference_runs={"VAE": "runs/vae"}, image_size="32x16")
    with pytest.raises(dataclasses.FrozenInstanceError):
        config.epochs = 3
    with pytest.raises(TypeError):
        config.model["latent_dim"] = 3
    assert config.image_size == (32, 16)
    values = config.to_json()
    assert json.loads(json.dumps(values)) == values and values["image_size"] == [32, 16]
    assert "labels_per_class" not in values and "discriminator_beta_1" not in values  # not options of the VHE
    run = {name: value for name, value in values.items() if name != "model_name"}
    assert RunConfig.resolve("vhe", config_file=run).to_json() == values


def test_training_options_made_directly_take_the_default_recipe_and_are_checked():
    options = TrainingOptions()
    assert (options.epochs, options.batch_size, options.learning_rate, options.seed) == (10, 32, 1e-4, 0)
    with pytest.raises(ValueError, match="max_checkpoints must be a positive integer"):
        TrainingOptions(max_checkpoints=0)
    with pytest.raises(TypeError):
        TrainingOptions(latent_dim=2)  # not a training option
    assert TrainingOptions(epochs=3).replace(batch_size=8).epochs == 3


@pytest.mark.parametrize("name", sorted(MODELS))
def test_the_flags_are_the_options_that_apply_to_the_model(name):
    model_class = MODELS[name]
    flags = {field.name for field in flags_of(model_class)}
    assert {"epochs", "batch_size", "seed", "dataset", "smoke"} <= flags
    assert ("labels_per_class" in flags) == bool(model_class.semi_supervised)
    assert ("discriminator_learning_rate" in flags) == ("d_optimizer" in model_class.optimizer_names)
    assert flags <= {field.name for field in run_options()}
    assert not flags & set(constructor_options(model_class)) - {"seed"}


def test_a_preset_replaces_the_default_recipe_and_the_rest_still_overrides_it():
    default = RunConfig.resolve("cvae", out="run")
    assert (default.model["conditioning"], default.model["encoder_sees_label"], default.model["beta"]) == (
        "concat", True, 2.0)
    seed_post = RunConfig.resolve("cvae", out="run", preset="seed-post")
    assert (seed_post.model["conditioning"], seed_post.model["beta"]) == ("projection", 1e-5)
    assert seed_post.epochs == MODELS["cvae"].presets["seed-post"].epochs
    assert RunConfig.resolve("cvae", out="run", preset="seed-post", beta=0.5).model["beta"] == 0.5
    recorded = {name: value for name, value in seed_post.to_json().items() if name != "model_name"}
    assert RunConfig.resolve("cvae", config_file=recorded).to_json() == seed_post.to_json()
    with pytest.raises(ValueError, match="no preset 'seed_post'.*'seed-post'"):
        RunConfig.resolve("cvae", out="run", preset="seed_post")
    with pytest.raises(ValueError, match="preset"):
        RunConfig.resolve("mmd_vae", out="run", preset="seed-post")  # the MMD-VAE has none: the option does not apply
    assert "preset" in {field.name for field in flags_of(MODELS["cvae"])}
    assert "preset" not in {field.name for field in flags_of(MODELS["mmd_vae"])}
