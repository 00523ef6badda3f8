"""Video frames in and out: a folder of PNG/JPEG frames, or a video file (``nst video``, notebook 13).

**In.** A folder (frames sorted by name) or a video file (MP4, MOV, WebM, MKV, AVI, GIF), decoded with
PyAV. PyAV, not imageio-ffmpeg: its wheels carry FFmpeg's libraries inside the package (nothing to
download or find on the PATH after ``make install``), it decodes in-process (no ``ffmpeg`` subprocess to
start, feed and watch) and its errors are Python exceptions, so an unreadable file or codec becomes one
clear ``error:`` line. Every input is checked before any work: no frames, frames of different sizes and an
undecodable file are refused with :class:`~nst_lib.errors.InvalidImageError`. What the frames declare (each
file's header, or a video stream's width × height) is read before any frame is decoded, so ``nst video``
refuses frames its memory budget cannot decode up front (:func:`open_frames`' ``check_headers``). A frame far
larger than the run's size is shrunk by a whole factor right after decoding, as image files are.

**Out.** A folder (``00000.png``, ``00001.png``, … written as each frame is finished), an ``.mp4``
(H.264, yuv420p, through PyAV) or a ``.gif`` (Pillow, one palette for the whole clip so the colours do not
flicker). Video files are written to a temporary file and renamed (:func:`nst_lib.fileio.atomic_file`):
complete or untouched.

PyAV is imported inside the functions that need it: it is an optional extra (``pip install
'nst-lib[video]'``; ``make install`` installs it), and a folder of frames works without it.
"""
from __future__ import annotations

import os
import re
from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path
from typing import Callable, Iterable, Iterator, Sequence

import numpy as np
from PIL import Image

from .errors import InvalidImageError, InvalidSettingError, OutputError
from .fileio import atomic_file
from .images import ImageHeader, decoded_frame_at_size, load_image, read_image_header, save_image, to_uint8
from .paths import same_file

FRAME_SUFFIXES = (".png", ".jpg", ".jpeg")
VIDEO_SUFFIXES = (".mp4", ".mov", ".webm", ".mkv", ".avi", ".gif")
OUTPUT_SUFFIXES = (".mp4", ".gif")
#: frames per second of the output when the input (a folder) has none
DEFAULT_FPS = 25.0
INSTALL_HINT = "pip install 'nst-lib[video]' (make install does it)"


def frame_name(index: int) -> str:
    """``00000.png``: the name of frame ``index`` in an output folder."""
    return f"{index:05d}.png"


#: the record a video's state folder (``--save-state DIR``) keeps of its input and settings
STATE_RECORD = "video.json"


def state_frame_name(index: int) -> str:
    """``00000.npy``: the name of finished frame ``index`` (of the input) in a video's state folder."""
    return f"{index:05d}.npy"


def _pyav():
    try:
        import av
    except ImportError:
        raise InvalidSettingError(f"reading and writing video files needs PyAV: {INSTALL_HINT}") from None
    return av


def parse_range(text: str | None, count: int) -> range:
    """``--frames A:B`` → the frame indices A … B−1 of ``count`` (either end may be left out; Python's rule)."""
    if text is None:
        return range(count)
    match = re.fullmatch(r"\s*(\d*)\s*:\s*(\d*)\s*", str(text))
    if not match:
        raise InvalidSettingError(f"--frames must be A:B with whole numbers (either may be left out), got {text!r}")
    start = int(match.group(1)) if match.group(1) else 0
    stop = int(match.group(2)) if match.group(2) else count
    chosen = range(count)[start:stop]
    if len(chosen) == 0:
        raise InvalidImageError(f"--frames {text} selects no frame: the input has {count} frame(s) (0:{count})")
    return chosen


@dataclass(frozen=True)
class FrameSource:
    """A checked input: where the frames are, how many, their size and rate (use :func:`open_frames`)."""

    path: Path
    kind: str  # "folder" or "video"
    files: tuple[Path, ...]  # a folder's frames in order (empty for a video file)
    count: int
    width: int
    height: int
    fps: float | None  # None for a folder

    def read(self, size: int | None, indices: Iterable[int] | None = None) -> Iterator[tuple[int, np.ndarray]]:
        """(index, float32 frame with long side ``size``) for each wanted index, in order (decoded lazily)."""
        wanted = set(range(self.count) if indices is None else indices)
        if self.kind == "folder":
            for index, file in enumerate(self.files):
                if index in wanted:
                    yield index, load_image(file, size)
            return
        for index, frame in enumerate(_decode(self.path)):
            if index in wanted:
                yield index, decoded_frame_at_size(frame.to_image(), size, f"frame {index} of {str(self.path)!r}")
            if index >= max(wanted, default=-1):
                return



def _unreadable(path: Path, exc: Exception) -> InvalidImageError:
    reason = getattr(exc, "strerror", None) or " ".join(str(exc).split())
    return InvalidImageError(f"cannot decode {str(path)!r}: {reason} (an unreadable file or an unsupported codec)")


def _decode(path: Path) -> Iterator:
    """Every frame of a video file as PyAV decoded it (``av.VideoFrame``), in order."""
    av = _pyav()
    try:
        with av.open(str(path)) as container:
            stream = container.streams.video[0]
            yield from container.decode(stream)
    except av.FFmpegError as exc:
        raise _unreadable(path, exc) from None


#: what :func:`open_frames` calls with the frames' headers before it decodes any frame
HeaderCheck = Callable[[Sequence[ImageHeader]], None]


def _stream_header(path: Path, stream) -> ImageHeader | None:
    """A video stream's frame size and pixel format from the container's header (None if it gives none)."""
    context = stream.codec_context
    if not context.width or not context.height:
        return None
    return ImageHeader(f"the frames of {str(path)!r}", context.width, context.height, context.pix_fmt or "video", None)


def _probe_video(path: Path, check_headers: HeaderCheck | None) -> FrameSource:
    av = _pyav()
    try:
        with av.open(str(path)) as container:
            if not container.streams.video:
                raise InvalidImageError(f"{str(path)!r} has no video stream")
            stream = container.streams.video[0]
            rate = stream.average_rate or stream.guessed_rate
            header = _stream_header(path, stream)
            if header is not None and check_headers is not None:
                check_headers([header])  # before a frame is decoded
            count = 0
            for frame in container.decode(stream):  # counting by decoding: container counts are often missing
                if header is None:  # (a container that does not say: the first frame's size, before any conversion)
                    header = ImageHeader(f"the frames of {str(path)!r}", frame.width, frame.height, frame.format.name, None)
                    if check_headers is not None:
                        check_headers([header])
                count += 1
    except av.FFmpegError as exc:
        raise _unreadable(path, exc) from None
    if count == 0 or header is None:
        raise InvalidImageError(f"no frames: {str(path)!r} holds no decodable video frame")
    return FrameSource(path, "video", (), count, header.width, header.height, float(rate) if rate else None)


def _probe_folder(path: Path, check_headers: HeaderCheck | None) -> FrameSource:
    files = tuple(sorted(p for p in path.iterdir() if p.suffix.lower() in FRAME_SUFFIXES and p.is_file()))
    if not files:
        raise InvalidImageError(f"no frames: folder {str(path)!r} holds no {'/'.join(s[1:].upper() for s in FRAME_SUFFIXES)} file")
    headers = [read_image_header(file) for file in files]  # (no pixel decoded)
    if check_headers is not None:
        check_headers(headers)
    sizes = [(header.width, header.height) for header in headers]
    odd = next((i for i, size in enumerate(sizes) if size != sizes[0]), None)
    if odd is not None:
        (w0, h0), (w1, h1) = sizes[0], sizes[odd]
        raise InvalidImageError(f"frames of different sizes: {files[0].name} is {w0}×{h0} px but {files[odd].name} is "
                                f"{w1}×{h1} px; every frame must have the size of the first")
    return FrameSource(path, "folder", files, len(files), sizes[0][0], sizes[0][1], None)


def open_frames(path: str | os.PathLike, check_headers: HeaderCheck | None = None) -> FrameSource:
    """Check a video input (a frame folder or a video file) and describe it; nothing heavy is loaded.

    ``check_headers``, if given, is called with what the frames declare (each file's header; for a video file
    one header from the stream, standing for every frame) before any frame is decoded; ``nst video`` refuses
    there, from the headers, frames its memory budget cannot decode (docs/safety.md).

    Raises:
        InvalidImageError: a missing path, no frames, frames of different sizes, an unsupported file type,
            or a file that cannot be decoded.
    """
    target = Path(path).expanduser()
    if target.is_dir():
        return _probe_folder(target, check_headers)
    if not target.exists():
        raise InvalidImageError(f"input {str(target)!r} does not exist (give a video file or a folder of frames)")
    if target.suffix.lower() not in VIDEO_SUFFIXES:
        allowed = ", ".join(s[1:].upper() for s in VIDEO_SUFFIXES)
        raise InvalidImageError(f"input {str(target)!r} is neither a folder of frames nor a video file ({allowed})")
    return _probe_video(target, check_headers)


# ----------------------------------------------------------------------------------------------- output
def output_kind(path: str | os.PathLike) -> str:
    """``"mp4"``, ``"gif"`` or ``"folder"`` (a path without one of the two video suffixes)."""
    suffix = Path(path).suffix.lower()
    return suffix[1:] if suffix in OUTPUT_SUFFIXES else "folder"


def check_video_output(path: str | os.PathLike, source: FrameSource | None = None) -> Path:
    """Refuse an output that cannot be written, before any work: a missing or read-only parent folder, a
    file where a folder is wanted (or the reverse), another file type, or the input itself.

    Raises:
        OutputError: with what was given and what is allowed.
    """
    target = Path(path).expanduser()
    suffix = target.suffix.lower()
    if suffix and suffix not in OUTPUT_SUFFIXES and not target.is_dir() and suffix in (VIDEO_SUFFIXES + FRAME_SUFFIXES):
        raise OutputError(f"output {str(target)!r}: write .mp4, .gif or a folder of frames (got {suffix})")
    if source is not None and same_file(target, source.path):  # hard links and symbolic links included
        raise OutputError(f"output {str(target)!r} is the input; choose another name (inputs are never overwritten)")
    kind = output_kind(target)
    if kind == "folder":
        if target.exists() and not target.is_dir():
            raise OutputError(f"output {str(target)!r} is a file; give a folder for the frames, or a .mp4/.gif name")
        folder = target if target.exists() else target.parent
    else:
        if target.is_dir():
            raise OutputError(f"output {str(target)!r} is a folder; give a file name ending in .{kind}")
        folder = target.parent
    folder = folder if str(folder) else Path(".")
    if not folder.is_dir():
        raise OutputError(f"output {str(target)!r}: folder {str(folder)!r} does not exist")
    if not os.access(folder, os.W_OK):
        raise OutputError(f"output {str(target)!r}: folder {str(folder)!r} is not writable")
    return target


def write_frame(folder: Path, index: int, image: np.ndarray) -> Path:
    """Write frame ``index`` as ``folder/00000.png`` (atomically; the folder is created if needed)."""
    folder.mkdir(parents=True, exist_ok=True)
    return save_image(image, folder / frame_name(index))


def write_video(path: Path, frames: Iterable[np.ndarray], fps: float) -> Path:
    """Write ``frames`` (float32 images of one size) as an ``.mp4`` or ``.gif`` atomically."""
    kind = output_kind(path)
    # fileio's writer: .out.mp4.XXXXXXXX.mp4 beside it (the suffix tells PyAV the container), locked while it is
    # written, so a run killed half-way leaves a temporary the next run removes (docs/safety.md)
    with atomic_file(path, path.suffix) as temporary:
        count = (_write_gif if kind == "gif" else _write_mp4)(temporary, frames, fps)
        if count == 0:
            raise OutputError(f"no frame to write into {str(path)!r}")
    return path


def _write_mp4(path: Path, frames: Iterable[np.ndarray], fps: float) -> int:
    av = _pyav()
    count = 0
    with av.open(str(path), mode="w") as container:
        stream = None
        for image in frames:
            pixels = to_uint8(image)
            # yuv420p (what every player reads) needs even sides: an odd side repeats its last row or column
            pixels = np.pad(pixels, ((0, pixels.shape[0] % 2), (0, pixels.shape[1] % 2), (0, 0)), mode="edge")
            if stream is None:
                stream = container.add_stream("libx264" if "libx264" in av.codecs_available else "mpeg4",
                                              rate=Fraction(fps).limit_denominator(1001))
                stream.width, stream.height, stream.pix_fmt = pixels.shape[1], pixels.shape[0], "yuv420p"
                stream.options = {"crf": "18"}
            for packet in stream.encode(av.VideoFrame.from_ndarray(pixels, format="rgb24")):
                container.mux(packet)
            count += 1
        if stream is not None:
            for packet in stream.encode():
                container.mux(packet)
    return count


def _write_gif(path: Path, frames: Iterable[np.ndarray], fps: float) -> int:
    pictures = [Image.fromarray(to_uint8(image)) for image in frames]
    if not pictures:
        return 0
    # one palette for the whole clip, from a mosaic of up to 8 frames: per-frame palettes would flicker
    sample = pictures[:: max(1, len(pictures) // 8)][:8]
    mosaic = Image.new("RGB", (sample[0].width, sample[0].height * len(sample)))
    for row, picture in enumerate(sample):
        mosaic.paste(picture, (0, row * picture.height))
    palette = mosaic.quantize(colors=256, method=Image.Quantize.MEDIANCUT)
    indexed = [picture.quantize(palette=palette, dither=Image.Dither.NONE) for picture in pictures]
    indexed[0].save(path, format="GIF", save_all=True, append_images=indexed[1:], loop=0,
                    duration=max(20, round(1000 / fps)), optimize=False)
    return len(indexed)
