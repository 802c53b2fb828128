"""Mixed precision and XLA training (`Trainer(precision=..., jit=...)`, `tfgen train --precision/--jit`).

The runs of every model in mixed bfloat16, of one model of each family under
XLA and of the VAE and DCGAN in mixed float16 happen in one child process (child_precision.py's runs, in the
child of conformance/child_distribute.py, started by conftest.py when the session starts); the rest runs here
on tiny models.
"""

import json
import os
import re

import keras
import numpy as np
import pytest
import tensorflow as tf

from conftest import MODEL_NAMES, create_model, example_batch, synthetic_dataset
from conformance.support import TWO_CPUS, child_models, model_report
from precision.conftest import STATE
from tfgen import cli
from tfgen.export import export_run
from tfgen.training import RunDirectoryError, Trainer, facts, restore_model
from tfgen.training import precision as precision_lib

#: The models trained in mixed float16 (float16 kernels on CPU fall back to Eigen: slow, so two of them).
FLOAT16_MODELS = ("dcgan", "vae")
#: The models trained under XLA: one of each of the package's four families (tfgen/plotting has one module per
#: family), whose steps, networks and random draws the others of the family share: the VAEs (vae; mmd_vae adds
#: an MMD kernel of plain matmuls), the conditional and semi-supervised VAEs (ssvae: labelled and unlabelled
#: streams, the label enumeration; cvae and gumbel_ssvae), the GANs (dcgan: the two-player step of cgan and
#: infogan) and the VHEs (vhe_unsupervised: the class-set draws and the KMeans codes of vhe). XLA compiles a
#: model's step for 10-40 s on two cores (cvae 22, gumbel_ssvae 20, cgan 29, infogan 38): all ten would add about
#: 3 minutes of CPU to a suite that must stay under 10 minutes. Mixed bfloat16, which compiles nothing, trains
#: every model.
XLA_MODELS = ("dcgan", "ssvae", "vae", "vhe_unsupervised")


def _child():
    child = STATE.get("child")
    if child is None:
        pytest.fail("the precision child process was not started (see tests/precision/conftest.py)")
    return child


#: Lighter networks for the runs here than the descriptors' (`_trainer`): what these tests check (policies, loss
#: scaling, the run's config and its resume rules) is the Trainer's, the same for any model, and the VAE with
#: small MLPs builds, traces and steps for ~30% less CPU than the convolutional one. The child's runs train
#: every model's descriptor.
LIGHT_KWARGS = {"vae": {"networks": "mlp", "hidden_units": [16]}}


def _trainer(folder, name="vae", **options):
    keras.utils.set_random_seed(0)
    options = {"epochs": 1, "batch_size": 8, "learning_rate": 1e-3, "verbose": 0, **options}
    return Trainer(create_model(name, **LIGHT_KWARGS.get(name, {})), synthetic_dataset(16), str(folder), **options)


def _recipe_changes(trainer, stored):
    """What resuming the run whose config.json is `stored` with `trainer` would change of its recipe."""
    return facts.recipe_changes(stored, trainer._config(), type(trainer.model))


def _variables(model):
    """(path, shape, dtype) of every variable in order; the seed generators' names carry a per-process counter."""
    return [(re.sub(r"seed_generator_\d+", "seed_generator", v.path), tuple(v.shape), v.dtype) for v in model.variables]


def test_float32_is_the_default_and_changes_nothing(tmp_path):
    """precision="float32" is the default: the same variables (names, shapes, order), policies and losses
    bit for bit, and the policy of the model itself (its config, hence its exports) stays float32 under any."""
    default, explicit = _trainer(tmp_path / "a"), _trainer(tmp_path / "b", precision="float32")
    assert _variables(default.model) == _variables(explicit.model)
    batch = next(iter(default.batches(default.train_data, epoch=0)))
    for trainer in (default, explicit):
        assert {layer.compute_dtype for layer in trainer.model._flatten_layers()} == {"float32"}
    first, second = (trainer._train_batch(batch)[0] for trainer in (default, explicit))
    assert {key: float(value) for key, value in first.items()} == {key: float(value) for key, value in second.items()}
    mixed = _trainer(tmp_path / "c", precision="mixed_bfloat16")
    unnamed = lambda config: {key: value for key, value in config.items() if key != "name"}  # noqa: E731
    assert unnamed(mixed.model.get_config()) == unnamed(default.model.get_config())
    assert _variables(mixed.model) == _variables(default.model)
    assert keras.config.dtype_policy().name == "float32", "no global policy is left behind"


def test_a_loss_scale_overflow_is_not_divergence_but_a_nonfinite_loss_is(tmp_path):
    # A scale of 1e38 makes the scaled loss (~540 * 1e38) overflow even float32: every step's scaled gradients
    # are infinite, the LossScaleOptimizer halves the scale and skips the update, and that is not counted.
    optimizer = keras.optimizers.LossScaleOptimizer(keras.optimizers.Adam(1e-3), initial_scale=1e38)
    trainer = _trainer(tmp_path, optimizer=optimizer, precision="mixed_float16", max_nonfinite_steps=1)
    model = trainer.model
    batch = next(iter(trainer.batches(trainer.train_data, epoch=0)))
    before = [variable.numpy().copy() for variable in model.variables]
    for _ in range(3):
        sums, _ = trainer._train_batch(batch)
        assert np.isfinite(float(sums["loss"]))
    assert int(trainer._nonfinite_steps.numpy()) == 0 and float(trainer._skipped_updates.numpy()) == 0.0
    assert all(np.array_equal(old, new.numpy()) for old, new in zip(before, model.variables)), "no update was applied"
    assert int(optimizer.iterations.numpy()) == 0
    assert float(optimizer.dynamic_scale.numpy()) == pytest.approx(1e38 / 8, rel=1e-6)  # halved three times
    # At a reasonable scale the next step updates the weights.
    optimizer.dynamic_scale.assign(2.0**10)
    trainer._train_batch(batch)
    assert int(optimizer.iterations.numpy()) == 1 and int(trainer._nonfinite_steps.numpy()) == 0
    # A NaN in the output bias makes the loss itself NaN: counted, as without loss scaling.
    bias = model.decoder.trainable_variables[-1]
    bias.assign(tf.fill(bias.shape, float("nan")))
    trainer._train_batch(batch)
    assert int(trainer._nonfinite_steps.numpy()) == 1 and float(trainer._skipped_updates.numpy()) == 1.0
    assert int(optimizer.iterations.numpy()) == 1


def test_an_overflow_at_a_scale_of_one_counts(tmp_path):
    # At scale 1 the scaled gradient is the gradient itself: a non-finite one counts; above 1 it is an overflow.
    optimizer = keras.optimizers.LossScaleOptimizer(keras.optimizers.Adam(1e-3), initial_scale=1.0)
    model = _trainer(tmp_path, optimizer=optimizer, precision="mixed_float16").model
    variables = model.trainable_variables
    gradients = [tf.fill(variable.shape, float("inf")) for variable in variables]
    assert float(model.apply_gradients_if_finite(optimizer, tf.constant(1.0), gradients, variables)) == 1.0
    optimizer.dynamic_scale.assign(4.0)
    assert float(model.apply_gradients_if_finite(optimizer, tf.constant(1.0), gradients, variables)) == 0.0
    assert float(optimizer.dynamic_scale.numpy()) == 2.0 and int(optimizer.iterations.numpy()) == 0


def test_gan_wraps_both_optimizers(tmp_path):
    trainer = _trainer(tmp_path, name="dcgan", precision="mixed_float16")
    g, d = trainer.model.g_optimizer, trainer.model.d_optimizer
    assert isinstance(g, keras.optimizers.LossScaleOptimizer) and isinstance(d, keras.optimizers.LossScaleOptimizer)
    assert g is not d and g.inner_optimizer is not d.inner_optimizer
    config = trainer._config()["training"]
    assert config["optimizer"]["class_name"] == config["discriminator_optimizer"]["class_name"] == "Adam"
    # A discriminator optimizer passed to compile (as runs.train does) is wrapped too, its settings kept.
    trainer = _trainer(tmp_path, name="dcgan", precision="mixed_float16",
                       compile_kwargs={"d_optimizer": keras.optimizers.Adam(2e-4, beta_1=0.5)})
    d_optimizer = trainer.model.d_optimizer
    assert isinstance(d_optimizer, keras.optimizers.LossScaleOptimizer)
    assert trainer._config()["training"]["discriminator_optimizer"]["config"]["beta_1"] == 0.5
    assert float(d_optimizer.learning_rate.numpy()) == pytest.approx(2e-4)


def _fit(folder, **options):
    trainer = _trainer(folder, steps_per_epoch=1, **options)
    trainer.fit()
    return trainer


def _config(folder):
    with open(os.path.join(folder, "config.json")) as stream:
        return json.load(stream)


def test_config_records_precision_and_jit_and_resume_rules(tmp_path):
    run = tmp_path / "run"
    _fit(run, precision="mixed_bfloat16")
    training = _config(run)["training"]
    assert training["precision"] == "mixed_bfloat16" and training["jit"] is False
    assert training["optimizer"]["class_name"] == "Adam"
    # To or from mixed_float16: refused, even with allow_changes, and nothing is written.
    before = _config(run)
    trainer = _trainer(run, steps_per_epoch=1, epochs=2, precision="mixed_float16")
    with pytest.raises(RunDirectoryError, match="precision='mixed_bfloat16'.*loss scaling of mixed_float16"):
        trainer.fit(resume=True, allow_changes=True)
    assert _config(run) == before
    # float32 <-> mixed_bfloat16: a change of recipe, listed, accepted with allow_changes and recorded.
    with pytest.raises(RunDirectoryError, match=r"precision: 'mixed_bfloat16' -> 'float32'"):
        _trainer(run, steps_per_epoch=1, epochs=2).fit(resume=True)
    _trainer(run, steps_per_epoch=1, epochs=2).fit(resume=True, allow_changes=True)
    config = _config(run)
    assert config["training"]["precision"] == "float32"
    assert config["changes"][-1]["changed"] == {"precision": {"from": "mixed_bfloat16", "to": "float32"}}
    # jit, like eager, may change freely (built only: no step, no XLA compilation).
    assert _recipe_changes(_trainer(run, steps_per_epoch=1, epochs=2, jit=True), config) == {}


def test_an_old_run_without_the_keys_resumes_as_float32(tmp_path):
    run = tmp_path / "run"
    _fit(run)
    config = _config(run)
    for key in ("precision", "jit"):
        del config["training"][key]
    (run / "config.json").write_text(json.dumps(config))
    with pytest.raises(RunDirectoryError, match="precision='float32'"):
        _trainer(run, steps_per_epoch=1, epochs=2, precision="mixed_float16").fit(resume=True)
    assert _recipe_changes(_trainer(run, steps_per_epoch=1, epochs=2, precision="mixed_bfloat16"), config) == {
        "precision": ("float32", "mixed_bfloat16")}
    _trainer(run, steps_per_epoch=1, epochs=2).fit(resume=True)
    assert _config(run)["training"]["precision"] == "float32"


def test_a_mixed_float16_run_resumes_with_its_loss_scale(tmp_path):
    run = tmp_path / "run"
    optimizer = keras.optimizers.LossScaleOptimizer(keras.optimizers.Adam(1e-3), initial_scale=2.0**7)
    _fit(run, optimizer=optimizer, precision="mixed_float16")
    resumed = _trainer(run, steps_per_epoch=1, epochs=2, precision="mixed_float16")  # initial scale 2**15
    resumed._checkpoints.restore()
    assert float(resumed.optimizer.dynamic_scale.numpy()) == 2.0**7, "the checkpoint holds the loss scale"
    assert int(resumed.optimizer.iterations.numpy()) == 1


def test_export_of_a_mixed_run_is_a_float32_model(tmp_path):
    run = tmp_path / "run"
    _fit(run, precision="mixed_bfloat16")
    model, _ = restore_model(str(run))
    assert {layer.compute_dtype for layer in model._flatten_layers()} == {"float32"}
    path = export_run(str(run), "vae", str(tmp_path / "saved_models"))
    loaded = tf.saved_model.load(path)
    outputs = loaded.signatures["decode"](z=tf.zeros([2, 2]))
    assert all(value.dtype == tf.float32 and bool(tf.reduce_all(tf.math.is_finite(value))) for value in outputs.values())


def test_xla_names_an_op_it_cannot_compile(tmp_path):
    from tfgen.models import VAE

    class StringVAE(VAE):  # a step with an op that has no XLA kernel (AsString), beside a differentiable loss
        def compute_losses(self, batch, seed=None, training=False):
            metrics = super().compute_losses(batch, seed=seed, training=training)
            digits = tf.cast(tf.strings.length(tf.strings.as_string(metrics["loss"])), tf.float32)
            return {**metrics, "loss": metrics["loss"] + 0.0 * digits}

    model = StringVAE(latent_dim=2)
    trainer = Trainer(model, synthetic_dataset(16), str(tmp_path / "run"), batch_size=8, verbose=0, jit=True)
    batch = next(iter(trainer.batches(trainer.train_data, epoch=0)))
    with pytest.raises(ValueError, match=r"XLA cannot compile the training step of StringVAE: the op AsString has no "
                                         r"XLA kernel.*without --jit"):
        trainer._train_batch(batch)


def test_bad_arguments(tmp_path):
    data = synthetic_dataset(16)
    with pytest.raises(ValueError, match=r"precision.*\['float32', 'mixed_float16', 'mixed_bfloat16'\].*float64"):
        Trainer(create_model("vae"), data, str(tmp_path / "a"), batch_size=8, precision="float64")
    with pytest.raises(ValueError, match="jit must be True or False"):
        Trainer(create_model("vae"), data, str(tmp_path / "a"), batch_size=8, jit="yes")
    with pytest.raises(ValueError, match="choose one"):
        Trainer(create_model("vae"), data, str(tmp_path / "a"), batch_size=8, jit=True, eager=True)
    strategy = tf.distribute.MirroredStrategy(["/cpu:0"])
    with strategy.scope():
        model = create_model("vae")
    with pytest.raises(ValueError, match="needs every replica on a GPU"):
        Trainer(model, data, str(tmp_path / "a"), batch_size=8, jit=True, strategy=strategy)
    assert not (tmp_path / "a").exists()


def _cli_error(capsys, argv):
    try:
        code = cli.main(argv)
    except SystemExit as exit_:  # argparse errors
        code = exit_.code
    captured = capsys.readouterr()
    return code, captured.err


def test_cli_flags(capsys, tmp_path):
    code, err = _cli_error(capsys, ["train", "vae", "--precision", "float64", "--out", str(tmp_path / "run")])
    assert code == 2 and "--precision: invalid choice: 'float64'" in err and len(err.strip().splitlines()) == 1
    code, err = _cli_error(capsys, ["train", "vae", "--jit", "--eager", "--out", str(tmp_path / "run")])
    assert code == 2 and "choose one" in err and len(err.strip().splitlines()) == 1
    assert not (tmp_path / "run").exists()
    from tfgen.runs import RUN_OPTIONS

    assert {"precision", "jit"} <= set(RUN_OPTIONS)


def test_policy_is_applied_to_layers_not_globally():
    model = create_model("cvae")
    precision_lib.apply_policy(model, "mixed_bfloat16")
    model.build_from_batch(example_batch(model))
    kept = {layer.name for layer in model._flatten_layers(include_self=False) if layer.compute_dtype == "float32"}
    # The networks' outputs, the label projection joined to z and the sampling layer stay float32.
    assert {"dense", "deconv3", "label_projection", "sampling"} <= kept
    assert model.compute_dtype == "float32" and keras.config.dtype_policy().name == "float32"
    losses = model.compute_losses(example_batch(model), seed=tf.constant([1, 2], tf.int64), training=False)
    assert {value.dtype for value in losses.values()} == {tf.float32}


# ------------------------------------------ the child's runs (last: the child runs meanwhile)

def _check_run(entry, name, steps=2):
    assert entry["steps"] == steps
    bad = {key: value for key, value in entry["metrics"].items() if not np.isfinite(value)}
    assert not bad, f"{name}: non-finite metrics {bad}"
    assert entry["metrics"]["train/skipped_updates"] == 0.0
    assert entry["finite_variables"]
    assert entry["moved"] == entry["variables"] > 0, f"{name}: {entry['moved']} of {entry['variables']} variables moved"
    assert entry["variable_dtypes"] == ["float32"], "variables stay float32 under every policy"
    assert entry["loss_dtypes"] == ["float32"], "every metric (loss, log-density, KL...) is float32"


@pytest.mark.background  # reads the child started with the session (tests/precision/conftest.py)
@pytest.mark.parametrize("name", child_models(MODEL_NAMES))
def test_every_model_trains_in_mixed_bfloat16(name):
    """Under MirroredStrategy on two logical CPUs: test_distribute.py's run (conformance/child_distribute.py)."""
    _child()  # the child started
    if "distribute" not in TWO_CPUS:
        pytest.fail("the two-CPU child was started without the MirroredStrategy runs (conformance/support.py)")
    entry = model_report(TWO_CPUS["distribute"], name)
    _check_run(entry, name, steps=4)
    assert entry["replicas"] == 2 and entry["out_of_sync"] == []
    assert "bfloat16" in entry["compute_dtypes"], "the layers compute in bfloat16"
    assert "LossScaleOptimizer" not in entry["optimizers"], "bfloat16 needs no loss scale"


@pytest.mark.background  # reads the child started with the session (tests/precision/conftest.py)
@pytest.mark.parametrize("name", XLA_MODELS)
def test_every_model_family_trains_with_xla(name):
    entry = model_report(_child(), name, "jit")
    _check_run(entry, name)
    assert entry["compute_dtypes"] == ["float32"]


@pytest.mark.background  # reads the child started with the session (tests/precision/conftest.py)
@pytest.mark.parametrize("name", FLOAT16_MODELS)
def test_mixed_float16_trains(name):
    entry = model_report(_child(), name, "float16")
    _check_run(entry, name)
    assert "float16" in entry["compute_dtypes"]
    assert entry["optimizers"] == ["LossScaleOptimizer"], "each optimizer (both of a GAN) scales the loss"


@pytest.mark.background  # reads the child started with the session (tests/precision/conftest.py)
@pytest.mark.parametrize("name", ("dcgan",))
def test_mixed_float16_trains_under_mirrored_strategy(name):
    # Two replicas (logical CPUs), both optimizers of a GAN loss-scaled: the guard and the LossScaleOptimizer
    # decide alike on both replicas, which stay in sync.
    entry = model_report(_child(), name, "mirrored_float16")
    _check_run(entry, name)
    assert entry["replicas"] == 2 and entry["out_of_sync"] == []
    assert entry["optimizers"] == ["LossScaleOptimizer"]
