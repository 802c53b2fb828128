"""The `tfgen` command line: argument parsing only; the work is in tfgen's modules."""

import argparse
import sys

from tfgen.data import BINARIZATIONS, DATASETS


def _positive_int(text):
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a positive integer, received {text!r}") from None
    if value <= 0:
        raise argparse.ArgumentTypeError(f"expected a positive integer, received {value}")
    return value


def _labels_per_class(text):
    return None if text == "all" else _positive_int(text)


def _parser():
    from tfgen.models import MODELS

    parser = argparse.ArgumentParser(prog="tfgen", description="Train, export and sample tfgen models.")
    commands = parser.add_subparsers(dest="command", required=True)

    train = commands.add_parser("train", help="train a model end to end")
    train.add_argument("model", choices=sorted(MODELS), help="the model to train")
    train.add_argument("--dataset", choices=DATASETS, default="mnist")
    train.add_argument("--epochs", type=_positive_int, default=10)
    train.add_argument("--latent-dim", type=_positive_int, default=2)
    train.add_argument("--batch-size", type=_positive_int, default=32)
    train.add_argument("--learning-rate", type=float, default=1e-4)
    train.add_argument("--binarization", choices=BINARIZATIONS, default=None,
                       help="default: the model's own (dynamic for the VAE, none for the MMD-VAE)")
    train.add_argument("--seed", type=int, default=0)
    train.add_argument("--out", required=True, help="the run directory")
    train.add_argument("--eager", action="store_true", help="run the steps eagerly (debugging)")
    train.add_argument("--resume", action="store_true", help="continue the run in --out")
    train.add_argument("--plot-every", type=_positive_int, default=10)
    train.add_argument("--checkpoint-every-steps", type=_positive_int, default=None)
    train.add_argument("--data-dir", default=None, help="folder with the original .gz files (offline build)")
    train.add_argument("--tfds-dir", default=None, help="the TFDS data folder")
    train.add_argument("--max-steps", type=_positive_int, default=None, help="stop after this many steps")
    train.add_argument("--train-examples", type=_positive_int, default=None, help="use only the first N examples")
    train.add_argument("--labels-per-class", type=_labels_per_class, default=argparse.SUPPRESS,
                       help="semi-supervised models (ssvae, gumbel_ssvae): labels kept per class, or 'all' (default 10)")

    export = commands.add_parser("export", help="export a run as a TF Serving SavedModel")
    export.add_argument("run_dir")
    export.add_argument("--name", required=True, help="the folder under --saved-models-dir")
    export.add_argument("--saved-models-dir", default="saved_models")
    export.add_argument("--xla", action="store_true", help="compile every signature with XLA (jit_compile)")

    sample = commands.add_parser("sample", help="draw a grid of samples from an exported model (no training, no data)")
    sample.add_argument("--model", required=True, help="saved_models/<name> (its newest complete version) or a version folder")
    sample.add_argument("--label", type=int, default=None,
                        help="the class to draw (conditional models); default: one row per class")
    sample.add_argument("--columns", type=_positive_int, default=8, help="samples per row")
    sample.add_argument("--rows", type=_positive_int, default=None, help="rows (default: one per class, or --columns)")
    sample.add_argument("--seed", type=int, default=0, help="the first seed; image i uses seed + i")
    sample.add_argument("--out", required=True, help="the PNG file to write")
    return parser


def main(argv=None):
    args = _parser().parse_args(argv)
    from tfgen import data as data_lib
    from tfgen.training import RunDirectoryError

    try:
        if args.command == "train":
            from tfgen import experiments

            run_options = {"labels_per_class": args.labels_per_class} if "labels_per_class" in args else {}
            experiments.train(
                args.model,
                dataset=args.dataset,
                out=args.out,
                epochs=args.epochs,
                batch_size=args.batch_size,
                learning_rate=args.learning_rate,
                seed=args.seed,
                binarization=args.binarization,
                eager=args.eager,
                resume=args.resume,
                plot_every=args.plot_every,
                data_dir=args.tfds_dir,
                source_dir=args.data_dir,
                max_steps=args.max_steps,
                train_examples=args.train_examples,
                checkpoint_every_steps=args.checkpoint_every_steps,
                latent_dim=args.latent_dim,
                **run_options,
            )
            print(f"Run written to {args.out}")
        elif args.command == "export":
            from tfgen.export import export_run

            path = export_run(args.run_dir, args.name, args.saved_models_dir, jit_compile=args.xla)
            print(f"Exported to {path}")
        elif args.command == "sample":
            from tfgen.serving import sample_grid

            path, images = sample_grid(args.model, args.out, label=args.label, columns=args.columns,
                                       rows=args.rows, seed=args.seed)
            print(f"Wrote {len(images)} samples to {path}")
    except (RunDirectoryError, data_lib.DataUnavailableError, FileNotFoundError, FileExistsError, ValueError) as error:
        print(f"tfgen {args.command}: error: {error}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
