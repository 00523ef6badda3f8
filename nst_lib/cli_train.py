"""``nst train`` and ``nst stylize --model``: the command line of fast style transfer (notebook 10).

::

    nst train STYLE -o MODEL.keras [--size PX] [--steps N] [--time-budget SECONDS] [--batch-size N]
              [--content-weight W] [--style-weight W] [--tv-weight W] [--style-layers L,...]
              [--content-layers L,...] [--images DIR] [--resume MODEL.keras] [--seed N] [--quiet]
    nst stylize CONTENT --model MODEL.keras -o OUT [--size PX] [--bit-depth 8|16]

The ``train`` flags are derived from :class:`~nst_lib.fast_settings.TrainSettings` (so every setting of
:func:`~nst_lib.fast.train_fast` is reachable, with its one-line doc as help). Same contract as
``nst stylize``: every input is checked before TensorFlow is imported; bad input gives one ``error: …``
line and exit 2; the model file is written atomically (every ``--checkpoint-every`` steps and at the end),
so there is never a partial file; Ctrl-C stops after the current step, writes the checkpoint and exits 130.
"""
from __future__ import annotations

import argparse
import sys
import time
from typing import Any

from .cli_common import (EXIT_INTERRUPTED, EXIT_OK, UsageError, check_files, check_network_pass, input_file, input_files,
                         load_source, name_list, number, remove_stale_temporaries)
from .config import BACKBONES, PRECISIONS, STYLE_LOSSES, StyleConfig, config_fields
from .fast_data import list_image_folder
from .fast_settings import TrainSettings, check_model_file, check_model_path, train_fields
from .images import check_output_path, output_bit_depth, read_image_header, save_image
from .memory import check_input_decoding
from .layers import to_keras_names
from .startup import import_tensorflow_quietly

_METAVARS = {"size": "PX", "steps": "N", "time_budget": "SECONDS", "batch_size": "N", "seed": "N",
             "style_size": "PX", "checkpoint_every": "N", "weights": "PATH", "width": "N", "residual_blocks": "N",
             "learning_rate": "LR"}
_CHOICES = {"backbone": BACKBONES, "style_loss": STYLE_LOSSES, "precision": PRECISIONS}


# ------------------------------------------------------------------------------------------- parsers
def add_train_parser(subparsers) -> None:
    """Add ``nst train`` to the ``nst`` subcommands."""
    p = subparsers.add_parser("train", help="train a fast-transfer network for STYLE (then: nst stylize --model)")
    p.add_argument("style", metavar="STYLE", help="style image: a path, or example:NAME (see 'nst examples')")
    p.add_argument("-o", "--output", required=True, metavar="MODEL.keras",
                   help="the model file, written every --checkpoint-every steps and at the end")
    defaults = TrainSettings()
    for f in train_fields():
        default = getattr(defaults, f.name)
        kwargs: dict[str, Any] = {"dest": f.name, "default": None}
        if f.name in _CHOICES:
            kwargs["choices"] = _CHOICES[f.name]
        elif f.name.endswith("_layers"):
            kwargs["type"], kwargs["metavar"] = name_list, "L,..."
        elif isinstance(default, float) or f.name == "time_budget":
            kwargs["type"] = number(float)
            kwargs["metavar"] = "W" if f.name.endswith("weight") else None
        elif isinstance(default, int) or f.name == "steps":
            kwargs["type"] = number(int)
        if f.name in _METAVARS:
            kwargs["metavar"] = _METAVARS[f.name]
        if kwargs.get("metavar") is None:
            kwargs.pop("metavar", None)
        shown = ",".join(map(str, default)) if isinstance(default, tuple) else default
        p.add_argument("--" + f.name.replace("_", "-"), help=f"{f.metadata.get('doc', '')} (default: {shown})", **kwargs)
    p.add_argument("--images", metavar="DIR",
                   help="folder of training photos (default: the offline sample photos; grace_hopper and chelsea are held out)")
    p.add_argument("--resume", metavar="MODEL.keras",
                   help="continue training this model (weights, optimizer state, step count); its settings are the defaults")
    p.add_argument("--quiet", action="store_true", help="no progress bar and no notes")
    p.add_argument("--debug", action="store_true", help="show Python tracebacks")


def add_model_option(stylize_parser) -> None:
    """Add ``--model`` to ``nst stylize``."""
    stylize_parser.add_argument("--model", metavar="MODEL.keras",
                                help="stylize in one pass with a network made by 'nst train' (no STYLE; only --size and --bit-depth apply)")


# ------------------------------------------------------------------------------------------- train
def _settings_from_args(args: argparse.Namespace, saved: dict | None) -> TrainSettings:
    changes = {f.name: getattr(args, f.name) for f in train_fields() if getattr(args, f.name) is not None}
    if args.time_budget is not None and args.steps is None and saved is None:
        changes["steps"] = None  # a budget alone means "train for that long"
    base = TrainSettings.from_dict(saved) if saved is not None else TrainSettings()
    if saved is not None and args.time_budget is not None and args.steps is None:
        changes.setdefault("steps", base.steps)
    if saved is not None and args.time_budget is None:
        changes.setdefault("time_budget", None)  # a saved budget was for the earlier run
    return base.replace(**changes)


class _TrainBar:
    """tqdm bar for training: steps (or seconds of the budget), the smoothed loss in the postfix."""

    def __init__(self, settings: TrainSettings, first_step: int, quiet: bool):
        self.settings, self.first_step, self.quiet = settings, first_step, quiet
        self.bar = None
        self.smoothed: float | None = None

    def __call__(self, event) -> None:
        total = event.losses["total"]
        self.smoothed = total if self.smoothed is None else 0.9 * self.smoothed + 0.1 * total
        if self.quiet:
            return
        if self.bar is None:
            from tqdm import tqdm

            if self.settings.steps is not None:
                self.bar = tqdm(total=self.settings.steps, initial=self.first_step, unit="step", file=sys.stderr,
                                dynamic_ncols=True, leave=False)
            else:
                self.bar = tqdm(total=round(self.settings.time_budget), unit="s", file=sys.stderr, dynamic_ncols=True,
                                leave=False, bar_format="{l_bar}{bar}| {n:.0f}/{total} s{postfix}")
        postfix = f"loss {self.smoothed:.4g} (style {event.losses['style']:.3g}, content {event.losses['content']:.3g})"
        if self.settings.steps is not None:
            self.bar.update(event.step - self.bar.n)
        else:
            self.bar.n = min(float(event.elapsed), float(self.bar.total))
            postfix = f"step {event.step}, {postfix}"
        self.bar.set_postfix_str(postfix, refresh=False)
        self.bar.refresh()

    def close(self) -> None:
        if self.bar is not None:
            self.bar.close()


def cmd_train(args: argparse.Namespace) -> int:
    """``nst train``: check everything, then train (see the module docstring)."""
    output = check_model_path(args.output)
    # continuing a model into its own file is what --resume is for; any other clash would destroy an input
    check_files({"-o": args.output}, input_files(args), may_overwrite={"-o": "--resume"})
    saved, first_step = None, 0
    if args.resume is not None:
        metadata = check_model_file(args.resume)["config"]["metadata"]  # types and ranges checked there
        saved, first_step = metadata.get("settings") or {}, int(metadata.get("steps_done", 0))
    settings = _settings_from_args(args, saved)
    to_keras_names(settings.content_layers, settings.backbone)
    to_keras_names(settings.style_layers, settings.backbone)
    style = load_source(args.style, settings.style_size)
    if args.images is not None:
        list_image_folder(args.images)
    remove_stale_temporaries([output], args.quiet)

    import_tensorflow_quietly()
    from .fast import train_fast  # lazy: imports TensorFlow (docs/architecture.md, "Lazy TensorFlow")

    bar = _TrainBar(settings, first_step, args.quiet)
    try:
        model = train_fast(style, images=args.images, output=output, resume=args.resume, callback=bar, settings=settings)
    finally:
        bar.close()
    if not args.quiet:
        for note in model.notes:
            print(f"note: {note}", file=sys.stderr)
    interrupted = model.stop_reason == "interrupted"
    if model.stop_reason == "nonfinite":
        print(f"warning: {model.message}", file=sys.stderr)
    if not args.quiet or interrupted:
        last = model.history[-1] if model.history else None
        loss = f", last loss {last['total']:.4g} (style {last['style']:.3g}, content {last['content']:.3g})" if last else ""
        how = "" if model.stop_reason == "steps" else f" ({model.message})"
        print(f"wrote {output}: {model.steps} steps ({model.steps - first_step} in this run), "
              f"{model.train_seconds:.0f} s of training{loss}{how}", file=sys.stderr if interrupted else sys.stdout)
    return EXIT_INTERRUPTED if interrupted else EXIT_OK


# ------------------------------------------------------------------------------------------- stylize --model
#: ``nst stylize`` options that make no sense with ``--model`` (the network has learnt one style and objective).
_NOT_WITH_MODEL = ("mask", "save_every", "history", "resume", "save_state")


def _check_model_memory(content: str, size: int, model_config: dict) -> None:
    """From the content's header, before a pixel is decoded: decoding it at ``size`` and the network's pass over
    it fit in the memory available now (docs/safety.md; the bundled examples are small)."""
    file = input_file(content)
    if file is not None:
        header = read_image_header(file)
        check_input_decoding([(header, size)], None)
        check_network_pass(model_config, [header.upright_shape], size)


def cmd_stylize_model(args: argparse.Namespace) -> int:
    """``nst stylize CONTENT --model MODEL.keras -o OUT [--size PX] [--precision P] [--bit-depth 8|16]``."""
    if args.styles:
        raise UsageError(f"with --model, give no STYLE image (the model has learnt its style); got {' '.join(args.styles)}")
    refused = [f.name for f in config_fields() if f.name not in ("size", "precision")
               and getattr(args, f.name, None) is not None]
    refused += [name for name in _NOT_WITH_MODEL if getattr(args, name, None)]
    if refused:
        flags = ", ".join("--" + name.replace("_", "-") for name in refused)
        raise UsageError(f"{flags} cannot be used with --model (only --size, --precision and --bit-depth apply to a "
                         "trained model)")
    size = args.size if args.size is not None else StyleConfig().size
    StyleConfig(size=size)  # the same size limits as stylize
    output = check_output_path(args.output)
    output_bit_depth(output, args.bit_depth)
    check_files({"-o": args.output}, input_files(args))
    model_config = check_model_file(args.model)
    _check_model_memory(args.content, size, model_config)
    content = load_source(args.content, size)
    remove_stale_temporaries([output], args.quiet)

    import_tensorflow_quietly()
    from .fast import FastModel  # lazy: imports TensorFlow (docs/architecture.md, "Lazy TensorFlow")

    start = time.perf_counter()
    model = FastModel.load(args.model)
    image = model.stylize(content, precision=args.precision or "auto")
    save_image(image, output, args.bit_depth)
    if not args.quiet:
        h, w = image.shape[:2]
        print(f"wrote {output}: {w}×{h} px in {time.perf_counter() - start:.2f} s (model loading included) with "
              f"{args.model}, trained {model.steps} steps, in {model.last_precision.used}")
    return EXIT_OK
