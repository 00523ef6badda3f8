"""The web page of nst_lib: neural style transfer (Gatys et al.) in the browser.

The page only wires widgets:
validation, defaults, progress text and encoding live in `apps/app_logic.py` (tested), and the
transfer itself is :func:`nst_lib.stylize` — the same call as the notebooks and the ``nst`` CLI.

Start it with ``make web`` (``streamlit run apps/serve.py``: loopback only, framing forbidden; see
docs/safety.md). Shareable links preselect settings (a link never starts a run: only the Run button does),
for example ``http://localhost:8501/?demo=1&size=64&steps=5`` or ``?content=coffee&style=swirls,cubist``
(any of size, steps, seed, scales, time_budget, content_weight, style_weight, tv_weight, style_scale,
learning_rate, optimizer, preserve_colors, init, backbone).

One server serves every open tab (a Streamlit *session*). Runs go through one server-wide
:class:`run_queue.RunQueue` (limits from the ``NST_WEB_*`` variables, see :class:`app_logic.ServerSettings`):
Run queues a job that a worker thread executes, and a fragment of the page polls the session's ticket
for its place in the queue, progress and live preview. Everything a session uploads or produces lives in
its own ``st.session_state``; the only shared objects are the queue, the bundled examples and the
resolved weights.
"""
from __future__ import annotations

import os
from typing import Any

import streamlit as st
from streamlit import runtime
from streamlit.logger import get_logger
from streamlit.runtime.scriptrunner import get_script_run_ctx

import nst_lib as nst
import app_logic as logic
import fast_models
from run_plan import plan_view
from fast_plan import fast_plan_view, fast_request
from nst_lib import data
from nst_lib.images import to_uint8
from run_queue import RunQueue, State, Ticket, heartbeat_liveness
from run_worker import WorkerPool, shared_pool

LOG = get_logger("nst_lib.app")  # Streamlit's console handler: tracebacks go to the server log

st.set_page_config(page_title="Neural style transfer · nst_lib", page_icon="🎨", layout="wide")

INTRO = """
**Neural style transfer** (Gatys, Ecker & Bethge, 2015) repaints a photo in the style of another image.
A VGG network trained on ImageNet describes both pictures: its deep feature maps capture the **content**
(what is where), and the correlations between its feature maps — *Gram matrices* — capture the **style**
(colours, textures, brush strokes). Starting from the photo, the pixels are optimised until the image's
features match the photo's content and the style image's Gram matrices. Nothing is trained: every image is
optimised from scratch, on this server's CPU.

Pick or upload a content photo and one or more style images, adjust the settings in the sidebar, and press
**Run**.
"""
COLOR_LABELS = {
    "none": "none (take the style's colours)",
    "luminance": "luminance (keep the photo's colours)",
    "histogram": "histogram (recolour the style to the photo's)",
}
MASK_LABELS = {
    "none": "everywhere",
    "left half": "left half (second style on the right)",
    "right half": "right half (second style on the left)",
    "top half": "top half (second style below)",
    "bottom half": "bottom half (second style above)",
    "centre disc": "centre disc (second style around it)",
    "centre ellipse": "centre ellipse (second style around it)",
    "upload": "upload a mask (white = first style)",
}
STATISTIC_LABELS = {
    "gram": "Gram matrix (Gatys et al.)",
    "mean_std": "mean and standard deviation (AdaIN)",
    "wasserstein": "Wasserstein of Gaussian fits",
    "sliced_wasserstein": "sliced Wasserstein (Heitz et al.)",
}
METHOD_LABELS = {"optimise": "Optimise the pixels (Gatys et al.)", "fast": "A trained fast network (one pass)"}
UPLOAD_TYPES = ["image"]  # the browser's file dialog shows images; app_logic checks type and content


# ------------------------------------------------------------------------------------------- caching
@st.cache_resource(show_spinner="Finding the VGG weights (a first visit with internet downloads them)…")
def _resolved_weights(backbone: str) -> logic.WeightsSummary:
    summary = logic.summarize_weights(backbone)
    if summary.error:  # raising keeps a failure out of the cache: weights put in place later are found
        raise summary.error
    return summary


def weights_summary(backbone: str) -> logic.WeightsSummary:
    """Resolved once per server process, for the "Feature network" line and the layer pickers (the runs
    resolve them again in their worker process, which builds VGG once and keeps it)."""
    try:
        return _resolved_weights(backbone)
    except nst.WeightsError as exc:
        return logic.WeightsSummary(backbone, "no ImageNet weights available", error=exc)


@st.cache_data(show_spinner=False, max_entries=32)
def example(kind: str, name: str) -> logic.InputImage:
    return logic.example_image(kind, name)


def uploaded(widget_key: str, files: list[Any], role: str) -> list[logic.InputImage | nst.NSTError]:
    """The checked uploads of one file uploader, decoded once per file and kept in this session only.

    (A process-wide cache would keep one person's photos in the server's memory for the next visitor.)
    Bad files give their error, which the caller shows; entries for removed files are dropped.
    """
    store = st.session_state.setdefault("_uploads", {})
    previous = store.get(widget_key, {})
    try:  # decoding an upload is counted against NST_WEB_MAX_MEMORY together with the runs
        reserve = get_queue(server_settings()).reserve_memory
    except nst.NSTError:
        reserve = None
    current: dict[str, logic.InputImage | nst.NSTError] = {}
    for file in files:
        if file.file_id not in previous:
            try:
                previous[file.file_id] = logic.read_upload(file.name, file.getvalue(), role=role, reserve=reserve)
            except nst.NSTError as exc:
                previous[file.file_id] = exc
        current[file.file_id] = previous[file.file_id]
    store[widget_key] = current
    return list(current.values())


# ------------------------------------------------------------------------------------ the server queue
#: Seconds between two looks of a session's page at its ticket (queue position, progress, preview).
#: Every look is a script run on the server, for every waiting or running tab: once a second is prompt
#: for a person and cheap for the server.
POLL_SECONDS = 1.0
#: Without Streamlit's runtime (AppTest), an owner is alive while its page polled in the last minute.
_HEARTBEAT = heartbeat_liveness(60.0)


def session_alive(ticket: Ticket) -> bool:
    """True while the ticket's session is connected (a closed tab disconnects it at once)."""
    if runtime.exists():
        return runtime.get_instance().is_active_session(ticket.owner)
    return _HEARTBEAT(ticket)


def log_queue_event(ticket: Ticket, event: str) -> None:
    """One line per queue event in the server's log (no file names or settings: only numbers)."""
    if event == "started":
        detail = f" after {ticket.queue_wait:.1f} s in the queue"
    elif event in ("done", "stopped", "failed") and ticket.started_at is not None:
        detail = f" after {ticket.finished_at - ticket.started_at:.1f} s"
    elif event == "queued":
        detail = f" at position {ticket.position}" if ticket.position else ""
    else:
        detail = ""
    LOG.info("run #%d of session %s: %s%s", ticket.number, ticket.owner[:8], event, detail)


@st.cache_resource(show_spinner=False)
def server_queue(max_running: int, memory_budget: int, max_waiting: int, grace: float) -> RunQueue:
    """The one queue of this server process, shared by every session (created on first use)."""
    return RunQueue(max_running, memory_budget=memory_budget, admission=logic.run_admission,
                    max_waiting=max_waiting, is_alive=session_alive, grace=grace, on_event=log_queue_event)


@st.cache_resource(show_spinner=False)
def _server_settings(variables: tuple[tuple[str, str], ...]) -> logic.ServerSettings:
    return logic.ServerSettings.from_env(dict(variables))


def server_settings() -> logic.ServerSettings:
    """The sharing settings, read once per server process: the default memory budget is a share of the
    memory available when the server starts, not at every page view (and so one queue serves them all).

    Raises:
        InvalidSettingError: an ``NST_WEB_*`` value is not allowed (not cached: fixed values are read again).
    """
    return _server_settings(tuple((name, os.environ.get(name, "")) for name in logic.SERVER_VARIABLES))


def get_queue(settings: logic.ServerSettings) -> RunQueue:
    return server_queue(settings.max_running, settings.memory_budget, settings.max_waiting,
                        settings.disconnect_grace)


def get_pool(settings: logic.ServerSettings) -> WorkerPool:
    """The worker processes that execute the runs (one per concurrent run; see apps/run_worker.py)."""
    return shared_pool(settings.max_running)


def serves_only_this_machine() -> bool:
    """True when the server listens on the loopback address only (the project's default settings)."""
    return str(st.get_option("server.address")) in ("localhost", "127.0.0.1", "::1")


def session_id() -> str:
    ctx = get_script_run_ctx()
    return ctx.session_id if ctx is not None else "no-session"


# -------------------------------------------------------------------------------------------- state
def init_state(content_names: list[str], style_names: list[str]) -> None:
    """Put every widget's initial value in session state; query parameters win, once per session."""
    state = st.session_state
    if "_initialised" not in state:
        query = logic.parse_query_params(
            {key: st.query_params.get_all(key) for key in st.query_params}, content_names, style_names
        )
        state["_initialised"] = True
        state["_query_problems"] = query.problems
        state["_link_asked_run"] = query.run  # a link preselects; only a click starts a run (docs/safety.md)
        for key, value in query.values.items():
            state[key] = value
        if "style_loss" in query.values and "style_weight" not in query.values:  # the statistic's own scale
            state["style_weight"] = logic.style_weight_for(query.values["style_loss"])
        if query.content:
            state["content_source"], state["content_example"] = "Example", query.content
        if query.styles:
            state["style_source"], state["style_examples"] = "Examples", query.styles
    for key, value in logic.form_defaults().items():
        state.setdefault(key, value)
    state.setdefault("content_source", "Example")
    state.setdefault("content_example", content_names[0])
    state.setdefault("style_source", "Examples")
    state.setdefault("style_examples", [style_names[0]])
    state.setdefault("mask_kind", "none")
    state.setdefault("method", "optimise")
    state.setdefault("layer_naming", "Gatys (conv4_2)")


def keep_valid(key: str, options: list[str]) -> None:
    """Drop stored choices that a changed option list no longer has (e.g. after a backbone switch)."""
    value = st.session_state.get(key)
    if isinstance(value, list):
        st.session_state[key] = [v for v in value if v in options]


# ------------------------------------------------------------------------------------------ sidebar
def sidebar(n_styles: int, style_labels: list[str]) -> logic.WeightsSummary:
    """Every setting, read back from session state by :func:`form_values`."""
    state = st.session_state
    help_ = logic.field_help
    sb = st.sidebar
    sb.header("Settings")
    sb.radio("Method", list(METHOD_LABELS), key="method", format_func=METHOD_LABELS.get,
             help="Optimising repaints the photo from scratch for any style (minutes on a CPU); a network trained "
                  "once for one style (nst train, notebook 10) stylizes in a fraction of a second.")
    if state["method"] == "fast":
        sb.number_input("Size (long side, px)", min_value=nst.config.MIN_SIZE, max_value=logic.MAX_WEB_SIZE,
                        step=32, key="size", help=help_("size"))
        sb.caption("A fast network has its style built in: the style images and the optimiser's settings do "
                   "not apply.")
        return weights_summary(state["backbone"])
    sb.caption("Hover over a ? for what a setting does. Larger sizes and more steps take longer; "
               "the time budget stops a run early and keeps the best image so far.")

    sb.subheader("Size and time")
    sb.number_input("Size (long side, px)", min_value=nst.config.MIN_SIZE, max_value=logic.MAX_WEB_SIZE,
                    step=32, key="size", help=help_("size"))
    sb.number_input("Steps", min_value=1, max_value=5000, step=10, key="steps", help=help_("steps"))
    sb.radio("Optimiser", nst.config.OPTIMIZERS, key="optimizer", horizontal=True,
             format_func={"lbfgs": "L-BFGS", "adam": "Adam", "lbfgs-scipy": "L-BFGS (SciPy)",
                          "lbfgs-tf": "L-BFGS (TensorFlow)"}.get, help=help_("optimizer"))
    sb.number_input("Time budget (s, 0 = none)", min_value=0.0, max_value=86400.0, step=30.0, format="%.0f",
                    key="time_budget", help=help_("time_budget"))

    sb.subheader("Loss weights")
    sb.number_input("Content weight", min_value=0.0, format="%g", step=1000.0, key="content_weight",
                    help=help_("content_weight"))
    sb.number_input("Style weight", min_value=0.0, format="%g", step=0.001, key="style_weight",
                    help=help_("style_weight"))
    sb.number_input("Total-variation weight", min_value=0.0, format="%g", step=0.1, key="tv_weight",
                    help=help_("tv_weight"))

    sb.subheader("Style")
    sb.selectbox("Style statistic", nst.config.STYLE_LOSSES, key="style_loss", format_func=STATISTIC_LABELS.get,
                 on_change=_statistic_changed, help=help_("style_loss") + " (notebook 09). Choosing one sets "
                 "its default style weight.")
    sb.slider("Style scale", min_value=0.25, max_value=4.0, step=0.05, key="style_scale",
              help=help_("style_scale"))
    sb.radio("Colour preservation", nst.config.COLOR_MODES, key="preserve_colors",
             format_func=COLOR_LABELS.get, help=help_("preserve_colors"))
    if n_styles > 1:
        sb.caption("Blend weights (normalised to sum 1)")
        for index, label in enumerate(style_labels):
            state.setdefault(f"blend_{index}", 1.0)
            sb.slider(f"Weight of {label}", 0.0, 1.0, step=0.05, key=f"blend_{index}", help=help_("style_blend"))

    summary = weights_summary(state["backbone"])
    options = logic.layer_options(summary.backbone)
    keep_valid("content_layers", options)
    keep_valid("style_layers", options)
    with sb.expander("Layers", expanded=False):
        naming = st.radio("Layer names", ["Gatys (conv4_2)", "Keras (block4_conv2)"], key="layer_naming",
                          horizontal=True)
        as_label = (lambda name: logic.layer_label(name, "gatys" if naming.startswith("Gatys") else "keras"))
        st.multiselect("Content layer(s)", options, key="content_layers", format_func=as_label,
                       help=help_("content_layers"))
        st.multiselect("Style layers", options, key="style_layers", format_func=as_label,
                       help=help_("style_layers"))
        if state["style_layers"]:
            st.caption("Per-layer style weights (normalised to sum 1)")
            columns = st.columns(2)
            for index, layer in enumerate(state["style_layers"]):
                state.setdefault(f"layer_weight_{layer}", 1.0)
                columns[index % 2].number_input(as_label(layer), min_value=0.0, max_value=100.0, step=0.5,
                                                key=f"layer_weight_{layer}", help=help_("style_layer_weights"))

    with sb.expander("Advanced", expanded=False):
        st.selectbox("Start image", nst.config.INITS, key="init", help=help_("init"))
        st.number_input("Seed", min_value=0, max_value=2**31 - 1, step=1, key="seed", help=help_("seed"))
        st.number_input("Scales (coarse to fine)", min_value=1, max_value=6, step=1, key="scales",
                        help=help_("scales"))
        st.number_input("Adam learning rate", min_value=0.0001, max_value=10.0, format="%g", step=0.005,
                        key="learning_rate", disabled=state["optimizer"] != "adam", help=help_("learning_rate"))
        st.radio("Feature network", nst.config.BACKBONES, key="backbone", horizontal=True,
                 format_func=str.upper, help=help_("backbone"))
        st.radio("Precision", nst.config.PRECISIONS, key="precision", horizontal=True, help=help_("precision"))
    return summary


def _statistic_changed() -> None:
    """Each statistic has its own scale: move the style weight to the chosen one's default."""
    st.session_state["style_weight"] = logic.style_weight_for(st.session_state["style_loss"])


def form_values(n_styles: int) -> dict[str, Any]:
    state = st.session_state
    values = {key: state[key] for key in logic.FORM_FIELDS if key in state}
    values["style_layer_weights"] = [state.get(f"layer_weight_{layer}", 1.0) for layer in state["style_layers"]]
    values["style_blend"] = [state.get(f"blend_{i}", 1.0) for i in range(n_styles)]
    return values


# ------------------------------------------------------------------------------------------- inputs
def show_error(exc: BaseException) -> None:
    if not isinstance(exc, nst.NSTError):
        LOG.exception("unexpected error on the page")
    st.error(logic.error_sentence(exc))


def content_input(content_names: list[str]) -> logic.InputImage | None:
    st.subheader("1 · Content")
    source = st.radio("Content source", ["Example", "Upload"], key="content_source", horizontal=True,
                      label_visibility="collapsed")
    if source == "Example":
        name = st.selectbox("Example photo", content_names, key="content_example")
        image = example("content", name)
    else:
        file = st.file_uploader(f"Content photo (up to {logic.MAX_UPLOAD_MB} MB)", type=UPLOAD_TYPES,
                                key="content_upload", max_upload_size=logic.MAX_UPLOAD_MB)
        if file is None:
            st.info("Upload a photo, or switch to an example.")
            return None
        image = uploaded("content_upload", [file], "content image")[0]
        if isinstance(image, nst.NSTError):
            show_error(image)
            return None
    st.image(to_uint8(image.preview), caption=image.caption, width="stretch")
    return image


def style_inputs(style_names: list[str]) -> list[logic.InputImage]:
    st.subheader("2 · Style")
    source = st.radio("Style source", ["Examples", "Upload"], key="style_source", horizontal=True,
                      label_visibility="collapsed")
    images: list[logic.InputImage] = []
    if source == "Examples":
        names = st.multiselect(f"Style image(s), up to {logic.MAX_STYLES}", style_names, key="style_examples",
                               max_selections=logic.MAX_STYLES)
        images = [example("style", name) for name in names]
    else:
        files = st.file_uploader(f"Style image(s), up to {logic.MAX_STYLES}, {logic.MAX_UPLOAD_MB} MB each",
                                 type=UPLOAD_TYPES, accept_multiple_files=True, key="style_upload",
                                 max_upload_size=logic.MAX_UPLOAD_MB)
        if len(files) > logic.MAX_STYLES:
            st.warning(f"Only the first {logic.MAX_STYLES} style images are used.")
        for item in uploaded("style_upload", files[: logic.MAX_STYLES], "style image"):
            if isinstance(item, nst.NSTError):
                show_error(item)
            else:
                images.append(item)
    if not images:
        st.info("Choose or upload at least one style image.")
        return []
    st.image([to_uint8(i.preview) for i in images], caption=[i.label.replace("_", " ") for i in images],
             width="stretch" if len(images) == 1 else 160)
    return images


def model_input() -> tuple[str, str] | None:
    """The trained network to run: ``(path, name)`` from the models folder or an upload, or None."""
    st.subheader("2 · Fast network")
    found = fast_models.list_models()
    choices = [*found, "upload"]
    choice = st.selectbox("Trained model", choices, key="model_choice",
                          format_func=lambda c: "upload a .keras file" if c == "upload" else c,
                          help=f"Models in {fast_models.models_dir()} (train one with: nst train STYLE -o "
                               "models/NAME.keras), or upload one. Files are opened in Keras' safe mode.")
    if choice != "upload":
        return str(found[choice]), choice
    file = st.file_uploader(f"Model (.keras, up to {fast_models.MAX_MODEL_MB} MB)", type=["keras"],
                            key="model_upload", max_upload_size=fast_models.MAX_MODEL_MB)
    if file is None:
        if not found:
            st.info(f"No trained models in {fast_models.models_dir().name}/ yet: upload a .keras file made by "
                    "nst train.")
        return None
    try:
        path = fast_models.save_uploaded_model(file.getvalue(), file.name)
    except nst.NSTError as exc:
        show_error(exc)
        return None
    return str(path), file.name.rsplit(".", 1)[0]


def show_plan(settings: logic.ServerSettings | None, content: logic.InputImage | None,
              styles: list[logic.InputImage], backbone: str) -> bool:
    """The run's memory plan against the server's budget, before Run; False when it cannot fit."""
    if settings is None or content is None or not styles:
        return True
    try:
        config = logic.make_config(form_values(len(styles)), n_styles=len(styles))
        view = plan_view(config, content.shape, settings.memory_budget, [s.shape for s in styles], backbone)
    except nst.NSTError as exc:
        show_error(exc)
        return False
    (st.caption if view.fits else st.error)(view.text)
    return view.fits


def show_fast_plan(settings: logic.ServerSettings | None, content: logic.InputImage | None,
                   model: tuple[str, str] | None) -> bool:
    """A fast run's memory against the server's budget, before Run (the queue admits it the same way)."""
    if settings is None or content is None or model is None:
        return True
    try:
        view = fast_plan_view(fast_request(content, model[0], int(st.session_state["size"])), settings.memory_budget)
    except nst.NSTError as exc:
        show_error(exc)
        return False
    (st.caption if view.fits else st.error)(view.text)
    return view.fits


def mask_input(content: logic.InputImage | None) -> tuple[Any, str | None]:
    """The spatial-control mask for stylize (None, a preset array or uploaded bytes) and its file name."""
    with st.expander("Spatial control (optional)", expanded=st.session_state["mask_kind"] != "none"):
        kind = st.selectbox("Style region", logic.MASK_CHOICES, key="mask_kind", format_func=MASK_LABELS.get,
                            help="With one style, black areas keep the photo's look; with two styles, the second "
                                 "style fills the black part; with three, upload is not enough: use the CLI's "
                                 "--mask once per style.")
        if kind == "none":
            return None, None
        if kind == "upload":
            file = st.file_uploader("Mask image (white = first style)", type=UPLOAD_TYPES, key="mask_upload",
                                    max_upload_size=logic.MAX_UPLOAD_MB)
            if file is None:
                return None, None
            mask = uploaded("mask_upload", [file], "mask")[0]
            if isinstance(mask, nst.NSTError):
                show_error(mask)
                return None, None
            st.image(to_uint8(mask.preview), caption="mask", width=160)
            return mask.source, mask.label
        if content is None:
            return None, None
        height, width = content.preview.shape[:2]
        mask = logic.preset_mask(kind, height, width)
        st.image(to_uint8(mask), caption="mask (white = first style)", width=160)
        return mask, f"{kind.replace(' ', '_')}_mask.png"


# ------------------------------------------------------------------------------------------- running
def queue_run(settings: logic.ServerSettings, content: logic.InputImage, styles: list[logic.InputImage],
              mask: Any, mask_name: str | None, config: nst.StyleConfig, backbone: str) -> None:
    """Put this session's run in the server's queue (refused at once if it cannot fit in memory).

    The run plans its memory with the server's budget (``max_memory``), as its admission did: what was
    admitted is what runs (whole, or in tiles).
    """
    config = config.replace(max_memory=settings.memory_per_run)
    request = logic.RunRequest(config, content.shape, tuple(s.shape for s in styles), backbone,
                               decode_bytes=max(item.header.decode_bytes(config.size) if item.header else 0
                                                for item in [content, *styles]))
    job = logic.style_transfer_job(content, styles, mask, mask_name, config, get_pool(settings))
    st.session_state["ticket"] = get_queue(settings).submit(session_id(), job, request)


def collect(ticket: Ticket) -> None:
    """Move a finished ticket's outcome into this session's state."""
    state = st.session_state
    state.pop("ticket", None)
    if ticket.state is State.DONE and ticket.outcome is None:
        state["run_notice"] = "Stopped before the first image was ready; nothing to show."
    elif ticket.state is State.DONE:
        state["result"] = ticket.outcome
        if ticket.queue_wait and ticket.queue_wait >= 1:
            state["result"]["summary"] += f" It waited {ticket.queue_wait:.0f} s in the queue."
    elif ticket.state is State.FAILED:
        if not isinstance(ticket.error, nst.NSTError):
            LOG.error("style transfer failed", exc_info=ticket.error)
        state["run_error"] = logic.error_sentence(ticket.error)
    elif ticket.end_reason == "abandoned":
        state["run_notice"] = "This page stopped answering for a while, so its run gave up its place; run again."
    else:
        state["run_notice"] = "You left the queue; nothing was run."


@st.fragment(run_every=POLL_SECONDS)
def run_status(queue: RunQueue) -> None:
    """The session's place in the queue, or its progress and live preview, refreshed every poll."""
    ticket: Ticket | None = st.session_state.get("ticket")
    if ticket is None:
        return
    ticket.touch()
    if ticket.active:
        if ticket.state is State.WAITING:
            status = queue.status()
            waited = queue.clock() - ticket.submitted_at
            position = ticket.position
            if position:
                st.info(logic.queue_message(position, status.running, status.max_running, waited),
                        icon=":material/hourglass_top:")
            leave = st.button("✖ Leave the queue", key="cancel", width="stretch")
        else:
            since = queue.clock() - ticket.started_at
            preparing = f"Preparing: loading the images and the VGG network… ({since:.0f} s)"
            shown = ticket.progress or logic.Progress(0.0, preparing)
            st.progress(shown.fraction, text=shown.text)
            preview = ticket.preview
            if preview is not None:
                st.image(preview[0], caption=f"Live preview, iteration {preview[1]}", width="stretch")
            label = ("Stopping at the next iteration…" if ticket.stop_requested
                     else "■ Stop (keep the best image so far)")
            leave = st.button(label, key="cancel", width="stretch", disabled=ticket.stop_requested)
        if leave:
            ticket.cancel()  # a waiting ticket leaves at once; a running job stops at its next iteration
        if ticket.active:
            return
    collect(ticket)
    st.rerun()  # the whole page: the result, or the message, replaces the progress


def show_result(details: Any, weights: logic.WeightsSummary) -> None:
    """The result, its download and summary here; the loss curve and CLI line in ``details``.

    The result's notes are shown as warnings, except the VGG16-for-VGG19 notice that the "Feature
    network" line above already gives.
    """
    outcome = st.session_state.get("result")
    if outcome is None:
        st.caption("The result appears here, with a live preview while it is computed.")
        return
    st.image(outcome["image"], caption=outcome["file_name"], width="stretch")
    st.download_button("⬇ Download PNG", data=outcome["png"], file_name=outcome["file_name"], mime="image/png",
                       on_click="ignore", type="primary", key="download")
    st.caption(outcome["summary"])
    for note in outcome["notes"]:
        if note != weights.notice:
            st.warning(note)
    if outcome.get("chart") is None:  # a fast network's result: no optimisation, no loss curve
        with details, st.expander("Reproduce on the command line"):
            st.code(outcome["cli"], language="bash")
        return
    with details:
        st.markdown("**Loss during the run**")
        st.line_chart(outcome["chart"], x="iteration", x_label="iteration", y_label="weighted loss", height=260)
        st.caption(outcome["chart_note"])
        with st.expander("Reproduce on the command line"):
            st.code(outcome["cli"], language="bash")


# ---------------------------------------------------------------------------------------------- page
def main() -> None:
    content_names, style_names = data.list_content_images(), data.list_style_images()
    init_state(content_names, style_names)

    st.title("Neural style transfer")
    for warning in logic.exposure_warnings(str(st.get_option("server.address") or ""), os.environ):
        st.warning(warning)
    st.markdown(INTRO)
    for problem in st.session_state.get("_query_problems", []):
        st.warning(f"Link parameter {problem}.")

    inputs, right = st.columns([2, 1.3], gap="large")
    with inputs:
        left, middle = st.columns(2, gap="medium")
        with left:
            content = content_input(content_names)
        with middle:
            fast = st.session_state.get("method") == "fast"
            model = model_input() if fast else None
            styles = [] if fast else style_inputs(style_names)
            mask, mask_name = (None, None) if fast else mask_input(content)
        details = st.container()  # filled with the loss curve and CLI line once there is a result
    summary = sidebar(len(styles), [s.label for s in styles])

    with right:
        st.subheader("3 · Result")
        if summary.error:
            st.error(logic.error_sentence(summary.error))
        else:
            # the weights file's path only for the machine's own user, not for a shared page's visitors
            st.caption(f"Feature network: {summary.short}.", help=summary.description if serves_only_this_machine()
                       else None)
        try:
            settings = server_settings()
        except nst.NSTError as exc:
            settings = None
            show_error(exc)
        if settings is not None:
            get_pool(settings).warm_up()  # the first run need not wait for TensorFlow to load
        fits = (show_fast_plan(settings, content, model) if fast
                else show_plan(settings, content, styles, summary.backbone))
        ready = (content is not None and (model is not None if fast else bool(styles)) and fits
                 and not summary.error and settings is not None)
        state = st.session_state
        busy = "ticket" in state
        clicked = st.button("▶ Run style transfer", type="primary", disabled=not ready or busy, key="run",
                            width="stretch", help=settings.describe() if settings else None)
        if state.get("_link_asked_run") and not busy:
            st.info("This link chose the images and settings; press **▶ Run style transfer** to start "
                    "(a link never starts a run by itself).")
        if clicked:
            state.pop("_link_asked_run", None)
            for key in ("result", "run_error", "run_notice"):
                state.pop(key, None)
            try:
                if fast:
                    job = logic.fast_transfer_job(content, model[0], model[1], int(state["size"]), get_pool(settings))
                    request = fast_request(content, model[0], int(state["size"]))  # admitted by its memory
                    state["ticket"] = get_queue(settings).submit(session_id(), job, request)
                else:
                    config = logic.make_config(form_values(len(styles)), n_styles=len(styles))
                    queue_run(settings, content, styles, mask, mask_name, config, summary.backbone)
            except Exception as exc:  # noqa: BLE001 - the page shows one sentence, never a traceback
                show_error(exc)
            else:
                st.rerun()  # draw the page again with Run disabled and the run's status
        if "ticket" in state and settings is not None:
            run_status(get_queue(settings))
        if "run_error" in state:
            st.error(state["run_error"])
        if "run_notice" in state:
            st.info(state["run_notice"])
        show_result(details, summary)


try:
    main()
except Exception as exc:  # noqa: BLE001 - a bug must not put a traceback on the page; it goes to the log
    show_error(exc)
