"""The ``nst`` command line (see the README, "Command line").

``nst stylize CONTENT STYLE [STYLE ...] -o OUT [options]``: the options are derived from
:class:`~nst_lib.config.StyleConfig`, so every setting of :func:`~nst_lib.stylize` is reachable and the
help text is the field's one-line doc. Images may be paths or ``example:NAME`` (``nst examples`` lists
them). Contract: exit 0 only with a complete output file; exit 2 with one ``error: …`` line on stderr for
bad input or arguments; exit 130 after Ctrl-C, having written the best image so far; never a traceback
unless ``--debug`` is given, and never a partial output file (images are written to a temporary file and
renamed).
"""
from __future__ import annotations

import argparse
import os
import re
import sys
from pathlib import Path
from typing import Any, Sequence

from . import data
from .config import (BACKBONES, COLOR_MODES, INITS, OPTIMIZERS, POOLINGS, STYLE_LOSSES, StyleConfig, config_fields,
                     normalize_weights)
from .cli_common import (  # noqa: F401 - EXIT_* and UsageError are part of nst_lib.cli's interface
    EXIT_FAILURE,
    EXIT_INTERRUPTED,
    EXIT_OK,
    EXIT_USAGE,
    Parser,
    UsageError,
    check_files,
    check_output_path_json,
    float_list,
    input_file,
    input_files,
    load_source,
    name_list,
    number,
    remove_stale_temporaries,
)
from .cli_train import add_model_option, add_train_parser, cmd_stylize_model, cmd_train
from .cli_batch import add_batch_parser, cmd_batch
from .cli_video import add_video_parser, cmd_video
from .errors import NSTError, OutputError
from .paths import same_file
from .images import MIN_SIDE, MIN_SOURCE_SIDE, check_output_path, output_bit_depth, read_image_header, read_mask, save_image
from .layers import layer_catalogue, to_keras_names
from .memory import check_input_decoding, check_plan, plan_run
from .precision import PRECISIONS, cpu_description, describe_precision
from .resume import RunState, StateWriter, resumed_config
from .weights import resolved_weights_description
from .startup import import_tensorflow_quietly

_CHOICES = {"optimizer": OPTIMIZERS, "preserve_colors": COLOR_MODES, "backbone": BACKBONES,
            "style_loss": STYLE_LOSSES, "pooling": POOLINGS,
            "precision": PRECISIONS}
_METAVARS = {"size": "PX", "steps": "N", "time_budget": "SECONDS", "seed": "N", "weights": "PATH",
             "max_memory": "SIZE", "init": "{" + ",".join(INITS) + "}|IMAGE", "learning_rate_end": "RATE",
             "average_decay": "DECAY", "scale_factor": "RATIO"}


def _add_config_flags(parser: argparse.ArgumentParser) -> None:
    """One flag per StyleConfig field: ``time_budget`` → ``--time-budget``; lists are comma-separated."""
    defaults = StyleConfig()
    for f in config_fields():
        flag = "--" + f.name.replace("_", "-")
        default = getattr(defaults, f.name)
        help_text = f.metadata.get("doc", "")
        kwargs: dict[str, Any] = {"dest": f.name, "default": None}
        if f.name in _CHOICES:
            kwargs["choices"] = _CHOICES[f.name]
        elif f.name.endswith("_layers"):
            kwargs["type"], kwargs["metavar"] = name_list, "L,..."
        elif f.name.endswith("_weights") or f.name == "style_blend":
            kwargs["type"], kwargs["metavar"] = float_list, "W,..."
        elif isinstance(default, bool):
            kwargs["action"] = argparse.BooleanOptionalAction
        elif isinstance(default, int):
            kwargs["type"] = number(int)
        elif isinstance(default, float) or str(f.type).startswith("float"):  # also `float | None` fields
            kwargs["type"] = number(float)
            kwargs.setdefault("metavar", "W" if f.name.endswith("weight") else None)
        if f.name in _METAVARS:
            kwargs["metavar"] = _METAVARS[f.name]
        if kwargs.get("metavar") is None:
            kwargs.pop("metavar", None)
        shown = ",".join(map(str, default)) if isinstance(default, tuple) else default
        parser.add_argument(flag, help=f"{help_text} (default: {shown})", **kwargs)


def build_parser() -> argparse.ArgumentParser:
    parser = Parser(prog="nst", description="Neural style transfer (Gatys et al.) from the command line.")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", parser_class=Parser)
    sub.required = True

    p = sub.add_parser("stylize", help="stylize CONTENT with one or more STYLE images")
    p.add_argument("content", help="content image: a path, or example:NAME (see 'nst examples')")
    p.add_argument("styles", nargs="*", metavar="STYLE", help="style image(s): paths or example:NAME")
    p.add_argument("-o", "--output", required=True, help="output image (.png, .jpg, .webp, …)")
    _add_config_flags(p)
    p.add_argument("--mask", action="append", metavar="IMAGE", help="where the style applies (white); repeat once per style")
    p.add_argument("--save-every", type=number(int), metavar="N",
                   help="also write every N-th iteration as OUT_0050.png … (OUT_scale1_0050.png … with several scales)")
    p.add_argument("--history", metavar="JSON", help="write the settings and the loss history to this JSON file")
    p.add_argument("--bit-depth", type=number(int), metavar="{8,16}",
                   help="bits per channel of the output: 16 needs .png, .tif or .tiff (default: 16 for .tif/.tiff, 8 otherwise)")
    p.add_argument("--save-state", metavar="RUN.npz",
                   help="write the run's state to this file as it goes (at most every minute, after every tile and at "
                        "the end) so that --resume can continue it after a crash or a kill")
    p.add_argument("--resume", metavar="RUN.npz",
                   help="continue the run saved in this file, with its settings (only --time-budget, --max-memory and "
                        "--steps may change) and the same images; L-BFGS restarts its history")
    p.add_argument("--quiet", action="store_true", help="no progress bar and no notes")
    p.add_argument("--debug", action="store_true", help="show Python tracebacks")
    add_model_option(p)
    add_train_parser(sub)
    add_video_parser(sub, _add_config_flags)
    add_batch_parser(sub, _add_config_flags)

    sub.add_parser("examples", help="list the bundled example images (use them as example:NAME)")
    lp = sub.add_parser("layers", help="list the VGG layers with their Gatys names")
    lp.add_argument("--backbone", choices=BACKBONES, default="vgg19")
    sub.add_parser("weights", help="say which VGG weights 'imagenet' resolves to on this machine")
    ip = sub.add_parser("info", help="this machine: the processor, the VGG weights, and the precision runs use")
    ip.add_argument("--precision", choices=PRECISIONS, default="auto", help="the setting to explain (default: auto)")
    return parser


def _config_from_args(args: argparse.Namespace) -> StyleConfig:
    if args.init is not None and args.init not in INITS and not os.path.isfile(args.init):
        raise UsageError(f"--init must be one of {', '.join(INITS)} or an image file; got {args.init!r} (no such file)")
    changes = {f.name: getattr(args, f.name) for f in config_fields() if getattr(args, f.name) is not None}
    if args.time_budget is not None and args.steps is None:
        changes["steps"] = None  # a budget alone means "the best image you can make in that time"
    return StyleConfig(**changes)


def _checkpoint_path(output: Path, iteration: int, scale: int = 0, scales: int = 1) -> Path:
    """``OUT_0050.png``; with several scales ``OUT_scale1_0050.png`` (1 = coarsest), so a coarse checkpoint
    is never taken for a full-size one."""
    where = f"_scale{scale + 1}" if scales > 1 else ""
    return output.with_name(f"{output.stem}{where}_{iteration:04d}{output.suffix}")


class _Progress:
    """tqdm bar + checkpoints: the CLI's callback (the core never prints)."""

    def __init__(self, total: int | None, quiet: bool, save_every: int | None, output: Path,
                 budget: float | None = None):
        # the bar appears with the first iteration: an error before it (bad weights, a bad mask…) must
        # leave exactly one "error: …" line on stderr, not a half-drawn bar in front of it
        self.bar = None
        self.total, self.quiet = total, quiet
        self.budget = budget if total is None else None  # no step limit: the bar counts seconds of the budget
        self.save_every, self.output = save_every, output

    def __call__(self, event) -> None:
        if self.bar is None and not self.quiet:
            from tqdm import tqdm

            if self.budget:
                self.bar = tqdm(total=round(self.budget), unit="s", file=sys.stderr, dynamic_ncols=True,
                                leave=False, bar_format="{l_bar}{bar}| {n:.0f}/{total} s{postfix}")
            else:
                self.bar = tqdm(total=self.total, unit="it", file=sys.stderr, dynamic_ncols=True, leave=False)
        if self.bar is not None:
            h, w = event.shape
            loss = f"{w}×{h} loss {event.losses['total']:.4g}"
            if self.budget:
                self.bar.n = min(float(event.elapsed), float(self.bar.total))
                self.bar.set_postfix_str(f"iteration {event.iteration}, {loss}", refresh=False)
                self.bar.refresh()
            else:
                self.bar.update(event.iteration - self.bar.n)
                self.bar.set_postfix_str(loss, refresh=False)
        if self.save_every and event.iteration % self.save_every == 0:
            save_image(event.image(), _checkpoint_path(self.output, event.iteration, event.scale, event.scales))

    def close(self) -> None:
        if self.bar is not None:
            self.bar.close()


def _cmd_stylize(args: argparse.Namespace) -> int:
    if args.model is not None:  # a trained fast-transfer network (nst_lib/cli_train.py)
        return cmd_stylize_model(args)
    if not args.styles:
        raise UsageError("stylize needs at least one STYLE image after CONTENT (or --model MODEL.keras)")

    state = None
    if args.resume:
        state = RunState.load(args.resume)
        given = {f.name: getattr(args, f.name) for f in config_fields() if getattr(args, f.name) is not None}
        config = resumed_config(state, given)
    else:
        config = _config_from_args(args)
    if args.save_every is not None and args.save_every < 1:
        raise UsageError(f"--save-every must be a whole number >= 1, got {args.save_every}")
    output = _check_stylize_outputs(args)
    # layer names are checked before the slow TensorFlow import (VGG19 names; VGG16 lacks block5_conv4)
    to_keras_names(config.content_layers, config.backbone)
    to_keras_names(config.style_layers, config.backbone)
    normalize_weights("style_blend", config.style_blend, len(args.styles))  # one weight per style
    content, styles, masks, notes = _load_inputs(args, config)

    # the memory plan, before TensorFlow: a run that cannot fit is refused at once
    plan = check_plan(plan_run(config, content.shape[:2], style_shapes=[s.shape[:2] for s in styles]))
    plan_note = plan.message[0].upper() + plan.message[1:] + "."
    if plan.mode == "tiled" and not args.quiet:
        print(f"note: {plan_note}", file=sys.stderr)
    remove_stale_temporaries([output, args.history, args.save_state], args.quiet,
                             _checkpoint_pattern(output) if args.save_every else None)

    import_tensorflow_quietly()
    from .transfer import stylize  # lazy: imports TensorFlow (docs/architecture.md, "Lazy TensorFlow")

    total = plan.total_iterations if plan.mode == "tiled" else config.steps
    progress = _Progress(total, args.quiet, args.save_every, output, budget=config.time_budget)
    writer = StateWriter(args.save_state, keep_going=True)  # a failed state write must not cost the image
    try:
        result = stylize(content, styles, config=config, mask=masks, callback=progress, resume=state,
                         save_state=writer)
    finally:
        progress.close()
    if not args.quiet:
        for note in notes + result.notes:
            if note != plan_note:  # already shown before the run
                print(f"note: {note}", file=sys.stderr)
    return _write_results(args, result, output, writer)


def _check_stylize_outputs(args: argparse.Namespace) -> Path:
    """Every file ``stylize`` will write: a writable place of its own, none of them an input (before any work)."""
    output = check_output_path(args.output)
    output_bit_depth(output, args.bit_depth)
    if args.history:
        check_output_path_json(args.history)
    if args.save_state:
        check_output_path_json(args.save_state, "--save-state", "run.npz")
    check_files({"-o": args.output, "--history": args.history, "--save-state": args.save_state},
                input_files(args), may_overwrite={"--save-state": "--resume"})
    if args.save_every:
        _check_checkpoint_names(output, input_files(args))
    return output


def _checkpoint_pattern(output: Path) -> re.Pattern:
    """The names ``--save-every`` writes beside ``OUT.png``: ``OUT_0050.png``, ``OUT_scale1_0050.png``, …"""
    return re.compile(rf"^{re.escape(output.stem)}(_scale\d+)?_\d{{4,}}{re.escape(output.suffix)}$")


def _check_checkpoint_names(output: Path, inputs: dict[str, str | None]) -> None:
    """``--save-every`` writes ``OUT_0050.png``, ``OUT_scale1_0050.png``, …: none of them may be an input."""
    pattern = _checkpoint_pattern(output)
    for what, path in inputs.items():
        if path is None or not pattern.match(Path(path).name):
            continue
        if same_file(Path(path).parent, output.parent):
            raise UsageError(f"--save-every would write checkpoints named like {Path(path).name!r}, which is "
                             f"{what}; choose another -o name (nothing was written)")


def _load_inputs(args: argparse.Namespace, config: StyleConfig):
    """Content, styles and masks at the sizes the run uses (checked before TensorFlow is imported)."""
    _check_input_memory(args, config)
    content = load_source(args.content, config.size)
    # styles at the size the run uses them (stylize resizes them to size × style_scale anyway): an 11000×9000
    # style is reduced right after decoding instead of becoming 1.2 GB of floats (docs/safety.md)
    style_side = round(config.size * config.style_scale)
    style_size = style_side if style_side >= MIN_SIDE else None  # (examples are loaded with the default min_side)
    styles = [load_source(s, style_size, min_side=MIN_SOURCE_SIDE) for s in args.styles]
    masks, notes = args.mask, []
    if masks:
        h, w = content.shape[:2]
        loaded = [read_mask(m, h, w) for m in masks]  # refuse non-images before the long run
        masks = [mask for mask, _ in loaded]
        notes = [note for _, note in loaded if note]
    return content, styles, masks, notes


def _check_input_memory(args: argparse.Namespace, config: StyleConfig) -> None:
    """From the files' headers, before a pixel is decoded: decoding each input must fit in the budget, and so
    must the run (its plan, from the sizes the files declare); refused up front otherwise (docs/safety.md)."""
    style_side = round(config.size * config.style_scale)
    wanted = [(args.content, config.size), *[(style, style_side) for style in args.styles],
              *[(mask, config.size) for mask in args.mask or []]]
    if config.init not in INITS:
        wanted.append((config.init, config.size))
    # files given by path and your photos in images/yours/ (example:NAME); the bundled examples are small
    headers = {path: read_image_header(file) for path, _ in wanted if (file := input_file(path)) is not None}
    check_input_decoding([(headers[path], size) for path, size in wanted if path in headers], config.max_memory)
    if args.content in headers:
        style_shapes = [headers[s].upright_shape if s in headers else None for s in args.styles]
        check_plan(plan_run(config, headers[args.content].upright_shape,
                            style_shapes=None if None in style_shapes else style_shapes))


def _write_results(args: argparse.Namespace, result, output: Path, writer: StateWriter) -> int:
    """The image first; then the history; a failed history or state write is reported after it (exit 2)."""
    result.save(output, args.bit_depth)
    failures = []
    if writer.failure is not None:
        failures.append(f"the run state could not be saved to {args.save_state!r} ({writer.failure})")
    if args.history:
        try:
            result.save_history(args.history)
        except OutputError as exc:
            failures.append(f"the history could not be saved to {args.history!r} ({exc})")
    h, w = result.image.shape[:2]
    if result.stop_reason == "nonfinite":
        print(f"warning: {result.message}", file=sys.stderr)
    if not args.quiet or result.stop_reason == "interrupted":
        how = "" if result.stop_reason in ("steps", "converged") else f" ({result.message})"
        print(
            f"wrote {output}: {w}×{h} px, {result.iterations} iterations, {result.elapsed:.1f} s, "
            f"{result.backbone} weights from {result.weights_source}, {result.precision.used}{how}",
            file=sys.stderr if result.stop_reason == "interrupted" or failures else sys.stdout,
        )
    if failures:
        return _fail(f"the image was written to {output}, but " + "; and ".join(failures), EXIT_USAGE)
    return EXIT_INTERRUPTED if result.stop_reason == "interrupted" else EXIT_OK


def _cmd_examples(args: argparse.Namespace) -> int:
    print(data.describe_examples())
    return EXIT_OK


def _cmd_layers(args: argparse.Namespace) -> int:
    print(f"{'Keras name':<14} {'Gatys':<8} {'channels':>8} {'stride':>6} {'receptive field':>16}")
    for info in layer_catalogue(args.backbone):
        print(f"{info.keras_name:<14} {info.gatys_name:<8} {info.channels:>8} {info.stride:>6} {info.receptive_field:>13} px")
    return EXIT_OK


def _cmd_weights(args: argparse.Namespace) -> int:
    print(resolved_weights_description())
    return EXIT_OK


def _cmd_info(args: argparse.Namespace) -> int:
    import_tensorflow_quietly()
    cpu = cpu_description()
    flags = ", ".join(cpu["bfloat16_flags"]) or "none"
    print(f"processor: {cpu['model']} ({cpu['machine']}, {cpu['cpus']} cpus; bfloat16 flags: {flags})")
    print(f"weights: {resolved_weights_description()}")
    print(describe_precision(args.precision))
    return EXIT_OK


def _cmd_train(args: argparse.Namespace) -> int:
    return cmd_train(args)


_COMMANDS = {"stylize": _cmd_stylize, "train": _cmd_train, "video": cmd_video, "batch": cmd_batch, "examples": _cmd_examples,
             "layers": _cmd_layers, "weights": _cmd_weights, "info": _cmd_info}


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the ``nst`` console script; returns the exit code."""
    argv = list(sys.argv[1:] if argv is None else argv)
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")  # TensorFlow's start-up chatter is not for users
    debug = "--debug" in argv
    try:
        args = build_parser().parse_args(argv)
        return _COMMANDS[args.command](args)
    except UsageError as exc:
        return _fail(str(exc), EXIT_USAGE)
    except NSTError as exc:
        if debug:
            raise
        return _fail(str(exc), EXIT_USAGE)
    except KeyboardInterrupt:
        print("interrupted before the optimisation started; nothing was written", file=sys.stderr)
        return EXIT_INTERRUPTED
    except MemoryError:
        return _fail("out of memory; try a smaller --size", EXIT_FAILURE)
    except Exception as exc:  # noqa: BLE001 - the contract is one line, never a traceback
        if debug:
            raise
        return _fail(f"unexpected {type(exc).__name__}: {' '.join(str(exc).split())} (rerun with --debug for details)", EXIT_FAILURE)


def _fail(message: str, code: int) -> int:
    print(f"error: {' '.join(message.split())}", file=sys.stderr)
    return code


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
