"""``nst batch``: many photos stylized as Dask tasks, on this machine or a cluster (docs/video.md).

::

    nst batch INPUT [INPUT ...] STYLE -o OUTDIR [stylize options] [--workers N | --scheduler tcp://HOST:8786]
    nst batch INPUT [INPUT ...] --model MODEL.keras -o OUTDIR [--size PX] [--workers N | --scheduler ...]

An INPUT may be a folder (its PNG/JPEG/WebP/TIFF/BMP images). Each output is ``OUTDIR/<input name>.png``
(``--format jpg`` for JPEG); one that exists is skipped, so a re-run does only what is left. Results are
reported in input order as they stream back, with a progress bar; a failed item is reported with its
reason and the others go on (exit 1 if any failed). Arguments are checked before any worker starts: bad
ones give one ``error:`` line and exit 2; so is every photo's header, against ``--max-memory`` (the budget of
one photo's run; the memory available now without it).
"""
from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Callable

from .cli_common import EXIT_FAILURE, EXIT_OK, UsageError, check_network_pass, input_file, load_styles, number
from .config import StyleConfig, config_fields
from .errors import MemoryBudgetError, NSTError
from .fast_settings import check_model_file
from .images import read_image_header
from .memory import BASE_BYTES, check_input_decoding, check_local_workers, check_plan, plan_run
from .paths import check_new_files, check_writable
from .startup import import_tensorflow_quietly

IMAGE_SUFFIXES = (".png", ".jpg", ".jpeg", ".webp", ".tif", ".tiff", ".bmp")
#: stylize options that make no sense for a batch
_NOT_FOR_BATCH = ("time_budget",)


def add_batch_parser(subparsers, add_config_flags: Callable[[argparse.ArgumentParser], None]) -> None:
    """Add ``nst batch`` (``add_config_flags`` adds the ``nst stylize`` flags)."""
    p = subparsers.add_parser("batch", help="stylize many photos as Dask tasks (local worker processes or a cluster)")
    p.add_argument("inputs", nargs="+", metavar="INPUT", help="photos or folders of photos, then STYLE (unless --model)")
    p.add_argument("-o", "--output", required=True, metavar="OUTDIR", help="folder for the results (created if missing)")
    add_config_flags(p)
    p.add_argument("--model", metavar="MODEL.keras", help="a trained fast-transfer network (nst train) instead of optimisation")
    p.add_argument("--workers", type=number(int), metavar="N", help="local Dask worker processes (default: 1)")
    p.add_argument("--scheduler", metavar="tcp://HOST:8786", help="an existing Dask cluster instead of local workers")
    p.add_argument("--format", choices=("png", "jpg"), default="png", help="output image format (default: png)")
    p.add_argument("--quiet", action="store_true", help="no progress bar; only failures are reported")
    p.add_argument("--debug", action="store_true", help="show Python tracebacks")


def _expand(inputs: list[str]) -> list[Path]:
    photos: list[Path] = []
    for text in inputs:
        path = Path(text).expanduser()
        if path.is_dir():
            found = sorted(p for p in path.iterdir() if p.suffix.lower() in IMAGE_SUFFIXES and p.is_file())
            if not found:
                raise UsageError(f"folder {text!r} holds no image ({', '.join(IMAGE_SUFFIXES)})")
            photos.extend(found)
        elif path.is_file():
            photos.append(path)
        else:
            raise UsageError(f"input {text!r} does not exist")
    return photos


def _pairs(photos: list[Path], outdir: Path, extension: str, others: dict[str, str | None]) -> list[tuple[str, str]]:
    """(photo, result) pairs; refused before any work when two photos share a result's name, or a result would
    be an input — a photo, the style, the model — as the same file on disk (hard links, symbolic links and
    ``..`` included: nst_lib/paths.py; an existing result is skipped, so it must not be an input either)."""
    outputs = [outdir / f"{photo.stem}.{extension}" for photo in photos]
    seen: dict[Path, Path] = {}
    for photo, output in zip(photos, outputs):
        if output in seen:
            raise UsageError(f"{seen[output]} and {photo} would both be written to {output}; rename one of them")
        seen[output] = photo
    inputs = [*((f"the input {str(photo)!r}", photo) for photo in photos),
              *((what, path) for what, path in others.items() if path is not None)]
    check_new_files(outputs, inputs)
    if outputs:  # the folder takes a new file with the longest result name (probe with the writers' temporary name)
        check_writable(max(outputs, key=lambda o: len(o.name)) if outdir.is_dir() else outdir, "-o")
    return [(str(p), str(o)) for p, o in zip(photos, outputs)]


def _check_memory(photos: list[Path], fields: dict, workers: int | None) -> None:
    """From every photo's header, before any worker starts (docs/safety.md): decoding it at the run's size fits
    in the budget, and so does its run (optimisation: the memory plan of the costliest photo; a network: its pass
    over the largest photo), and ``workers`` local workers running such runs at once fit together."""
    headers = []
    for photo in photos:
        try:
            headers.append(read_image_header(photo))
        except NSTError:  # an unreadable photo fails alone, with its reason, when its turn comes; the others go on
            pass
    config = StyleConfig(**fields["config"]) if fields.get("config") is not None else None
    check_input_decoding([(header, fields["size"]) for header in headers], None if config is None else config.max_memory)
    if config is None:  # a trained network: its pass over the largest photo (docs/safety.md)
        shapes = [header.upright_shape for header in headers]
        check_local_workers(workers, BASE_BYTES + check_network_pass(check_model_file(fields["model"]), shapes, fields["size"]))
        return
    if not headers:
        return
    # at long side --size, the squarest photo has the most pixels: its run is the costliest of the batch
    squarest = max(headers, key=lambda header: min(header.upright_shape) / max(header.upright_shape))
    try:
        plan = check_plan(plan_run(config, squarest.upright_shape, style_shapes=[style.shape[:2] for style in fields["styles"]]))
    except MemoryBudgetError as exc:
        raise UsageError(f"photo {squarest.label} ({squarest.width}×{squarest.height} px): {exc}") from None
    check_local_workers(workers, plan.estimated_peak_bytes)


def _outdir(text: str) -> Path:
    outdir = Path(text).expanduser()
    if outdir.exists() and not outdir.is_dir():
        raise UsageError(f"-o {text!r} is a file; give a folder for the results")
    parent = outdir if outdir.exists() else outdir.parent
    if not (parent if str(parent) else Path(".")).is_dir():
        raise UsageError(f"-o {text!r}: folder {str(parent)!r} does not exist")
    return outdir


def _job_parts(args: argparse.Namespace) -> tuple[list[str], dict]:
    """(inputs, the BatchJob's fields) from the arguments, checked."""
    given = {f.name: getattr(args, f.name) for f in config_fields() if getattr(args, f.name) is not None}
    if args.workers is not None and args.scheduler is not None:
        raise UsageError("give --workers N (local processes) or --scheduler URL (a cluster), not both")
    if args.workers is not None and not 1 <= args.workers <= 64:
        raise UsageError(f"--workers must be between 1 and 64, got {args.workers}")
    if args.model is not None:
        extra = sorted(set(given) - {"size"})
        if extra:
            raise UsageError(f"{', '.join('--' + n.replace('_', '-') for n in extra)} cannot be used with --model "
                             "(only --size applies to a trained network)")
        check_model_file(args.model)
        if given.get("size") is not None:
            StyleConfig(size=given["size"])
        return list(args.inputs), dict(model=str(Path(args.model).resolve()), size=given.get("size"))
    if len(args.inputs) < 2:
        raise UsageError("batch needs at least one INPUT and then a STYLE image (or --model MODEL.keras)")
    refused = [n for n in _NOT_FOR_BATCH if n in given]
    if refused:
        raise UsageError(f"{', '.join('--' + n.replace('_', '-') for n in refused)} cannot be used with nst batch")
    config = StyleConfig(**given)
    style, = load_styles([args.inputs[-1]], config)
    return list(args.inputs[:-1]), dict(config=config.to_dict(), styles=(style,), size=config.size)


def _report(outcome, quiet: bool, bar) -> None:
    if outcome.status == "failed":
        bar.write(f"failed: {outcome.source}: {outcome.message}", file=sys.stderr)
    elif not quiet:
        what = f"wrote {outcome.output} ({outcome.seconds:.1f} s)" if outcome.status == "written" else \
            f"skipped {outcome.output} (it exists)"
        bar.write(what)
    bar.update(1)


def cmd_batch(args: argparse.Namespace) -> int:
    """``nst batch``: check everything, then stylize every photo as a Dask task (nst_lib.batch)."""
    from tqdm import tqdm

    inputs, fields = _job_parts(args)
    outdir = _outdir(args.output)
    style = None if args.model is not None else input_file(args.inputs[-1])
    pairs = _pairs(_expand(inputs), outdir, args.format, {"the style image": style, "--model": args.model})
    _check_memory([Path(photo) for photo, output in pairs if not Path(output).exists()], fields,
                  None if args.scheduler is not None else args.workers)  # (a cluster's workers have their own memory)
    import_tensorflow_quietly()
    try:
        from . import batch  # lazy: imports TensorFlow (docs/architecture.md, "Lazy TensorFlow")
    except ImportError as exc:
        raise UsageError(f"nst batch needs Dask ({exc.name}): pip install 'nst-lib[video]' (make install does it)") from None
    outdir.mkdir(exist_ok=True)
    missing = any(not Path(output).exists() for _, output in pairs)  # nothing left to do: no cluster to start
    client = batch.open_client(args.workers, args.scheduler) if missing else None
    bar = tqdm(total=len(pairs), unit="photo", file=sys.stderr, dynamic_ncols=True, leave=False, disable=args.quiet)
    try:
        outcomes = batch.run_batch(client, pairs, batch.BatchJob(**fields), lambda o: _report(o, args.quiet, bar))
    finally:
        bar.close()
        if client is not None:
            batch.close_client(client)
    counts = {status: sum(o.status == status for o in outcomes) for status in ("written", "skipped", "failed")}
    if not args.quiet or counts["failed"]:
        print(f"{len(outcomes)} photo(s): {counts['written']} written, {counts['skipped']} skipped (already there), "
              f"{counts['failed']} failed; results in {outdir}", file=sys.stderr if counts["failed"] else sys.stdout)
    return EXIT_FAILURE if counts["failed"] else EXIT_OK
