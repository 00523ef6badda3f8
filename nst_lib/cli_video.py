"""``nst video``: a video (or a folder of frames) stylized without flicker (notebook 13, docs/video.md).

::

    nst video INPUT STYLE [STYLE ...] -o OUTPUT [stylize options] [--frames A:B] [--fps F]
              [--temporal-weight W] [--steps-first N] [--steps N] [--save-state DIR | --resume DIR]
    nst video INPUT --model MODEL.keras -o OUTPUT [--size PX] [--blend B] [--workers N | --scheduler URL]

INPUT is a video file (MP4, MOV, WebM, MKV, AVI, GIF) or a folder of PNG/JPEG frames sorted by name;
OUTPUT is an ``.mp4``, a ``.gif`` or a folder (frames ``00000.png`` …). Every input and the output are
checked before TensorFlow is imported; bad input gives one ``error:`` line and exit 2. Ctrl-C keeps every
finished frame (a shorter video, or the frames so far) and exits 130; with ``--save-state DIR`` a killed
run continues at its first unfinished frame with ``--resume DIR``.
"""
from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any, Callable

from .cli_common import (EXIT_INTERRUPTED, EXIT_OK, UsageError, check_files, check_network_pass, input_files,
                         load_styles, number, remove_stale_temporaries)
from .config import StyleConfig, config_fields
from .fast_settings import check_model_file
from .frames import (DEFAULT_FPS, STATE_RECORD, FrameSource, check_video_output, frame_name, open_frames, output_kind,
                     parse_range, state_frame_name)
from .memory import BASE_BYTES, check_input_decoding, check_local_workers, check_plan, plan_run
from .paths import check_new_files, check_writable, same_file
from .startup import import_tensorflow_quietly

#: stylize options that mean nothing for video (one run per frame sets them itself)
_NOT_FOR_VIDEO = ("time_budget", "init")


def add_video_parser(subparsers, add_config_flags: Callable[[argparse.ArgumentParser], None]) -> None:
    """Add ``nst video`` (``add_config_flags`` adds the ``nst stylize`` flags, one per StyleConfig field)."""
    p = subparsers.add_parser("video", help="stylize a video or a folder of frames without flicker")
    p.add_argument("input", metavar="INPUT", help="a video file (.mp4 .mov .webm .mkv .avi .gif) or a folder of frames")
    p.add_argument("styles", nargs="*", metavar="STYLE", help="style image(s): paths or example:NAME")
    p.add_argument("-o", "--output", required=True, help="an .mp4, a .gif, or a folder (frames 00000.png …)")
    add_config_flags(p)
    for action in p._actions:  # the same flag, a video's meaning
        if action.dest == "steps":
            action.help = "iterations for every frame after the first (default: half of --steps-first)"
    p.add_argument("--frames", metavar="A:B", help="only frames A … B−1 (0-based; either end may be left out)")
    p.add_argument("--fps", type=number(float), metavar="F", help="frames per second of an .mp4/.gif output "
                   "(default: the input's, 25 for a folder of frames)")
    p.add_argument("--temporal-weight", type=number(float), metavar="W",
                   help="weight of the temporal loss that holds each frame to the previous one warped by the optical "
                        "flow (0: the warped start alone; default: 1e9, measured in docs/video.md)")
    p.add_argument("--steps-first", type=number(int), metavar="N", help="iterations for the first frame (default: 300)")
    p.add_argument("--blend", type=number(float), metavar="B", help="with --model: share of the warped previous output "
                   "kept where the flow is reliable, in [0, 1) (default: 0.5)")
    p.add_argument("--model", metavar="MODEL.keras", help="a trained fast-transfer network (nst train) instead of optimisation")
    p.add_argument("--workers", type=number(int), metavar="N", help="with --model: run the network on N local Dask workers")
    p.add_argument("--scheduler", metavar="tcp://HOST:8786", help="with --model: run the network on this Dask cluster")
    p.add_argument("--save-state", metavar="DIR", help="keep every finished frame in DIR so that --resume DIR can continue")
    p.add_argument("--resume", metavar="DIR", help="continue the video saved in DIR (same input and settings)")
    p.add_argument("--quiet", action="store_true", help="no progress bar and no notes")
    p.add_argument("--debug", action="store_true", help="show Python tracebacks")


def _config(args: argparse.Namespace) -> StyleConfig | None:
    given = {f.name: getattr(args, f.name) for f in config_fields() if getattr(args, f.name) is not None}
    given.pop("steps", None)  # --steps is the later frames' count (VideoSettings)
    if args.model is not None:
        extra = sorted(set(given) - {"size"}) + [flag for flag in ("temporal_weight", "steps_first", "steps")
                                                  if getattr(args, flag) is not None]
        if args.styles or extra:
            what = ", ".join(["STYLE"] * bool(args.styles) + ["--" + n.replace("_", "-") for n in extra])
            raise UsageError(f"{what} cannot be used with --model (the network has learnt its style; only --size, "
                             "--blend and the video options apply)")
        return None
    refused = [name for name in _NOT_FOR_VIDEO if name in given]
    if refused:
        raise UsageError(f"{', '.join('--' + n.replace('_', '-') for n in refused)} cannot be used with nst video "
                         "(each frame starts from the previous one, warped)")
    if not args.styles:
        raise UsageError("video needs at least one STYLE image after INPUT (or --model MODEL.keras)")
    for flag in ("blend", "workers", "scheduler"):
        if getattr(args, flag) is not None:
            raise UsageError(f"--{flag} needs --model (optimisation-based video is sequential: each frame needs the "
                             "previous one)")
    return StyleConfig(**{**given, "size": given.get("size", StyleConfig().size)})


def _state(args: argparse.Namespace) -> tuple[Path | None, bool]:
    if args.save_state and args.resume:
        raise UsageError("give --save-state DIR for a new video or --resume DIR to continue one, not both")
    folder = args.resume or args.save_state
    if folder is None:
        return None, False
    path = Path(folder).expanduser()
    if path.exists() and not path.is_dir():
        raise UsageError(f"--{'resume' if args.resume else 'save-state'}: {folder!r} is a file; give a folder")
    if args.resume and not (path / "video.json").is_file():
        raise UsageError(f"--resume: {folder!r} holds no saved video (start one with --save-state {folder})")
    return path, bool(args.resume)


def _checked(args: argparse.Namespace) -> dict[str, Any]:
    """Every argument and input checked, before TensorFlow: the pieces of the job."""
    config = _config(args)
    state_dir, resume = _state(args)
    size = config.size if config is not None else (args.size or StyleConfig().size)
    StyleConfig(size=size)  # the size limits of stylize
    # each frame's decoding at the run's size, counted from the headers before a frame is decoded (docs/safety.md)
    budget = None if config is None else config.max_memory  # (with --model: the memory available now)
    source: FrameSource = open_frames(args.input, lambda headers: check_input_decoding([(h, size) for h in headers], budget))
    indices = parse_range(args.frames, source.count)
    output = check_video_output(args.output, source)
    _check_paths(args, source, output, indices)
    _check_state_folder(args, state_dir, source, output, indices)
    if args.fps is not None and not 0 < args.fps <= 240:
        raise UsageError(f"--fps must be in (0, 240], got {args.fps}")
    if args.model is not None:  # the network's pass over a frame at the run's size (on each local worker), before any work
        needed = check_network_pass(check_model_file(args.model), [(source.height, source.width)], size)
        check_local_workers(None if args.scheduler is not None else args.workers, BASE_BYTES + needed)
    styles = load_styles(args.styles, config) if config is not None else []
    if config is not None:  # the run of one frame, planned from the frames' size (as nst stylize plans from headers)
        check_plan(plan_run(config, (source.height, source.width), style_shapes=[s.shape[:2] for s in styles]))
    return dict(config=config, state_dir=state_dir, resume=resume, source=source, indices=indices, output=output,
                size=size, styles=styles)


def _check_paths(args: argparse.Namespace, source: FrameSource, output: Path, indices: range) -> None:
    """Before any work (docs/safety.md): the output's folder takes a new file (a probe with the writers'
    temporary name), and nothing written is an input — the video, a frame of the input folder, a style, the
    model — as the same file on disk (hard links, symbolic links and ``..`` included; nst_lib/paths.py)."""
    inputs = {what: path for what, path in input_files(args).items() if what != "--resume"}  # --resume: a folder
    inputs["the input video" if source.kind == "video" else "the input folder"] = str(source.path)
    if output_kind(output) != "folder":
        check_files({"-o": str(output)}, inputs)
        return
    check_writable(output / frame_name(0) if output.is_dir() else output, "-o")
    named = [(what, path) for what, path in inputs.items() if path is not None]
    frames = [("a frame of the input", str(file)) for file in source.files]
    check_new_files((output / frame_name(index - indices.start) for index in indices), [*named, *frames])


def _check_state_folder(args: argparse.Namespace, state_dir: Path | None, source: FrameSource, output: Path,
                        indices: range) -> None:
    """The state folder (``--save-state``/``--resume DIR``) writes ``DIR/video.json`` and ``DIR/00000.npy`` … (one
    per frame of the run): none of them may be an input — the video, a frame, a style, the model; the same file
    on disk, hard and symbolic links included — nor the output, and DIR may not be the input folder of frames.
    Inputs kept in DIR under other names are left alone (docs/safety.md)."""
    if state_dir is None:
        return
    flag = "--resume" if args.resume else "--save-state"
    if source.kind == "folder" and same_file(state_dir, source.path):
        raise UsageError(f"{flag} {str(state_dir)!r} is the input folder of frames; keep the video's state in a "
                         "folder of its own (nothing was written)")
    names = {STATE_RECORD, *(state_frame_name(index) for index in indices)}
    if output.name in names and same_file(output.parent, state_dir):
        raise UsageError(f"-o {str(output)!r} is a file the state folder {flag} {str(state_dir)!r} writes; choose "
                         "another -o (nothing was written)")
    inputs = [(what, path) for what, path in input_files(args).items() if path is not None and what != "--resume"]
    inputs += [("the input video" if source.kind == "video" else "the input folder", str(source.path))]
    inputs += [("a frame of the input", str(file)) for file in source.files]
    check_new_files((state_dir / name for name in sorted(names)), inputs, flag)


def _written_files(checked: dict[str, Any]) -> list[Path]:
    """Every file the run writes: the ``.mp4``/``.gif`` or the frames of an ``-o`` folder, and the state
    folder's record and frames."""
    output, indices, state_dir = checked["output"], checked["indices"], checked["state_dir"]
    files = [output] if output_kind(output) != "folder" else [output / frame_name(i - indices.start) for i in indices]
    if state_dir is not None:
        files += [state_dir / STATE_RECORD, *(state_dir / state_frame_name(index) for index in indices)]
    return files


def _video_module():
    try:
        from . import video  # lazy: imports TensorFlow (docs/architecture.md, "Lazy TensorFlow")
    except ImportError as exc:
        raise UsageError(f"nst video needs its optional packages ({exc.name}): pip install 'nst-lib[video]' "
                         "(make install does it)") from None
    return video


def _results(args, video, frames, previous, *, config, styles, settings):
    """The finished frames, in order: by optimisation, or by the network (here or on Dask) and the blend."""
    if args.model is None:
        return video.stylize_frames(frames, styles, config=config, settings=settings, previous=previous)
    if args.workers is not None or args.scheduler is not None:
        try:
            from .batch import dask_network_outputs  # lazy: imports TensorFlow (docs/architecture.md, "Lazy TensorFlow")
        except ImportError as exc:
            raise UsageError(f"--workers/--scheduler need Dask ({exc.name}): pip install 'nst-lib[video]'") from None
        outputs = dask_network_outputs(args.model, frames, workers=args.workers, scheduler=args.scheduler)
    else:
        outputs = video.network_outputs(video.load_model(args.model), frames)
    return video.blend_frames(outputs, blend=settings.blend, previous=previous)


def run_video(args: argparse.Namespace, checked: dict[str, Any]):
    """Stylize the frames (resuming from the state folder), saving each; → (finished, total, output)."""
    from tqdm import tqdm

    config, state_dir, source, indices, output = (checked[k] for k in ("config", "state_dir", "source", "indices", "output"))

    video = _video_module()
    settings = video.VideoSettings(**{k: v for k, v in (("temporal_weight", args.temporal_weight),
                                                         ("steps_first", args.steps_first), ("steps", args.steps),
                                                         ("blend", args.blend)) if v is not None})
    fps = args.fps or source.fps or DEFAULT_FPS
    job = video.VideoJob(source, output, indices, fps, state_dir,
                         video.describe_settings(config, settings, args.styles, args.model))
    done = video.prepare_state(job, checked["resume"])
    previous = video.resume_point(job, done, checked["size"])
    frames = source.read(checked["size"], indices[done:])
    results = _results(args, video, frames, previous, config=config, styles=checked["styles"], settings=settings)
    kept = [] if state_dir is None and output_kind(output) != "folder" else None
    finished = done
    bar = tqdm(total=len(indices), initial=done, unit="frame", file=sys.stderr, dynamic_ncols=True, leave=False,
               disable=args.quiet)
    try:
        for result in video.finished_frames(job, results, done):
            if kept is not None:
                kept.append(result.image)
            finished += 1
            bar.update(1)
    except KeyboardInterrupt:
        pass
    finally:
        bar.close()
    if finished:
        video.write_output(job, kept, finished)
    return finished, len(indices), output


def cmd_video(args: argparse.Namespace) -> int:
    """``nst video``: check everything, then stylize frame by frame (nst_lib.video)."""
    checked = _checked(args)
    remove_stale_temporaries(_written_files(checked), args.quiet)
    import_tensorflow_quietly()
    finished, total, output = run_video(args, checked)
    if finished < total:
        resume = f"; continue with --resume {checked['state_dir']}" if checked["state_dir"] else ""
        print(f"interrupted: kept the {finished} finished frame(s) of {total} in {output}{resume}", file=sys.stderr)
        return EXIT_INTERRUPTED
    if not args.quiet:
        print(f"wrote {output}: {total} frame(s)")
    return EXIT_OK
