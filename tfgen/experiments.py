"""End-to-end runs: data, model, training loop and plots wired together.

The CLI (`tfgen train`) and the example scripts call `train`; everything it
does is also available piece by piece (`tfgen.data`, `tfgen.models`,
`tfgen.training.Trainer`, `tfgen.plotting`).
"""


from tfgen import data as data_lib
from tfgen.models import get_model_spec
from tfgen.plotting import PlotCallback
from tfgen.training import Trainer
from tfgen.training.run_dir import check_run_dir


def train(
    model_name,
    *,
    dataset="mnist",
    out="runs/run",
    epochs=10,
    batch_size=32,
    learning_rate=1e-4,
    seed=0,
    binarization=None,
    eager=False,
    resume=False,
    plot_every=10,
    data_dir=None,
    source_dir=None,
    max_steps=None,
    train_examples=None,
    checkpoint_every_steps=None,
    verbose=1,
    **model_kwargs,
):
    """Trains the registered model `model_name` on `dataset`; returns the `Trainer`.

    Args:
        model_name: a name from `tfgen.models.MODELS` ("vae", "mmd_vae", ...).
        dataset: "mnist" or "fashion_mnist".
        out: the run directory.
        epochs, batch_size, learning_rate, seed, binarization, eager,
            checkpoint_every_steps: see `Trainer`.
        resume: continue the run in `out`.
        plot_every: write the figures every this many epochs (and at the end).
        data_dir: the TFDS data folder.
        source_dir: folder with the original `.gz` files (offline build).
        max_steps: stop after this many steps (smoke runs).
        train_examples: train on the first N training examples only (smoke runs).
        **model_kwargs: the model's constructor arguments (e.g. latent_dim).
    """
    spec = get_model_spec(model_name)
    if dataset not in data_lib.DATASETS:
        raise ValueError(f"Unknown dataset {dataset!r}. Expected one of {list(data_lib.DATASETS)}.")
    if not isinstance(epochs, int) or epochs <= 0:
        raise ValueError(f"epochs must be a positive integer. Received: epochs={epochs!r}")
    spec.check_run_options(**model_kwargs)
    check_run_dir(out, resume)  # fail before loading any data
    train_data = data_lib.load(dataset, "train", data_dir=data_dir, source_dir=source_dir)
    test_data = data_lib.load(dataset, "test", data_dir=data_dir, source_dir=source_dir)
    if train_examples:
        train_data = train_data.take(train_examples)
        test_data = test_data.take(train_examples)
    model, train_data, test_data = spec.build_run(train_data, test_data, batch_size=batch_size, **model_kwargs)
    trainer = Trainer(
        model,
        train_data,
        out,
        test_data=test_data,
        epochs=epochs,
        batch_size=batch_size,
        learning_rate=learning_rate,
        seed=seed,
        binarization=binarization,
        eager=eager,
        checkpoint_every_steps=checkpoint_every_steps,
        callbacks=[PlotCallback(every=plot_every)],
        verbose=verbose,
    )
    trainer.fit(resume=resume, max_steps=max_steps)
    return trainer
