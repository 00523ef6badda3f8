"""The web page of nst_lib: neural style transfer (Gatys et al.) in the browser.

Start it with ``make web`` (or ``streamlit run apps/streamlit_app.py``). The page only wires widgets:
validation, defaults, progress text and encoding live in `apps/app_logic.py` (tested), and the
transfer itself is :func:`nst_lib.stylize` — the same call as the notebooks and the ``nst`` CLI.

Shareable links preselect settings and can run once on load, for example
``http://localhost:8501/?demo=1&size=64&steps=5`` or ``?content=coffee&style=swirls,cubist&run=1``
(any of size, steps, seed, scales, time_budget, content_weight, style_weight, tv_weight, style_scale,
learning_rate, optimizer, preserve_colors, init, backbone).
"""
from __future__ import annotations

import warnings
from typing import Any

import streamlit as st
from streamlit.logger import get_logger

import nst_lib as nst
import app_logic as logic
from nst_lib import data
from nst_lib.images import to_uint8

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
    "top half": "top half (second style below)",
    "centre ellipse": "centre ellipse (second style around it)",
    "upload": "upload a mask (white = first style)",
}
UPLOAD_TYPES = ["image"]  # the browser's file dialog shows images; app_logic checks type and content


# ------------------------------------------------------------------------------------------- caching
@st.cache_resource(show_spinner="Finding the VGG weights (a first visit with internet downloads them)…")
def _resolved_weights(backbone: str) -> logic.WeightsSummary:
    summary = logic.summarize_weights(backbone)
    if summary.error:  # raising keeps a failure out of the cache: weights put in place later are found
        raise nst.WeightsError(summary.error)
    return summary


def weights_summary(backbone: str) -> logic.WeightsSummary:
    """Resolved once per server process (nst_lib itself caches the built network per process, so only the
    first run of a server pays for building VGG and loading its weights)."""
    try:
        return _resolved_weights(backbone)
    except nst.WeightsError as exc:
        return logic.WeightsSummary(backbone, "no ImageNet weights available", error=str(exc))


@st.cache_data(show_spinner=False, max_entries=32)
def example(kind: str, name: str) -> logic.InputImage:
    return logic.example_image(kind, name)


@st.cache_data(show_spinner=False, max_entries=16)
def uploaded(name: str, content: bytes, role: str) -> logic.InputImage:
    return logic.read_upload(name, content, role=role)


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
        state["_auto_run"] = query.run
        for key, value in query.values.items():
            state[key] = value
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
    sb.caption("Hover over a ? for what a setting does. Larger sizes and more steps take longer; "
               "the time budget stops a run early and keeps the best image so far.")

    sb.subheader("Size and time")
    sb.number_input("Size (long side, px)", min_value=nst.config.MIN_SIZE, max_value=logic.MAX_WEB_SIZE,
                    step=32, key="size", help=help_("size"))
    sb.number_input("Steps", min_value=1, max_value=5000, step=10, key="steps", help=help_("steps"))
    sb.radio("Optimiser", nst.config.OPTIMIZERS, key="optimizer", horizontal=True,
             format_func={"lbfgs": "L-BFGS", "adam": "Adam"}.get, help=help_("optimizer"))
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
    return summary


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
        try:
            image = uploaded(file.name, file.getvalue(), "content image")
        except nst.NSTError as exc:
            show_error(exc)
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
        for file in files[: logic.MAX_STYLES]:
            try:
                images.append(uploaded(file.name, file.getvalue(), "style image"))
            except nst.NSTError as exc:
                show_error(exc)
    if not images:
        st.info("Choose or upload at least one style image.")
        return []
    st.image([to_uint8(i.preview) for i in images], caption=[i.label.replace("_", " ") for i in images],
             width="stretch" if len(images) == 1 else 160)
    return images


def mask_input(content: logic.InputImage | None) -> tuple[Any, str | None]:
    """The spatial-control mask for stylize (None, a preset array or uploaded bytes) and its file name."""
    with st.expander("Spatial control (optional)", expanded=st.session_state["mask_kind"] != "none"):
        kind = st.selectbox("Style region", logic.MASK_PRESETS, key="mask_kind", format_func=MASK_LABELS.get,
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
            try:
                mask = uploaded(file.name, file.getvalue(), "mask")
            except nst.NSTError as exc:
                show_error(exc)
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
def run_transfer(content: logic.InputImage, styles: list[logic.InputImage], mask: Any, mask_name: str | None,
                 config: nst.StyleConfig) -> None:
    """Call stylize with a live progress bar and preview; store the outcome in session state."""
    progress = st.progress(0.0, text="Preparing: loading the images and the VGG network…")
    live = st.empty()
    every = logic.preview_every(config.steps)

    def on_iterate(event) -> None:
        shown = logic.format_progress(event, config)
        progress.progress(shown.fraction, text=shown.text)
        if logic.preview_due(event.iteration, config.steps, every):
            live.image(to_uint8(event.image()), caption=f"Live preview, iteration {event.iteration}",
                       width="stretch")

    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        result = nst.stylize(content.source, [s.source for s in styles], config=config, mask=mask,
                             callback=on_iterate)
    progress.empty()
    live.empty()
    notes = sorted({str(w.message) for w in caught if w.category.__name__ != "BackboneSubstitutionWarning"})
    labels = [s.label for s in styles]
    st.session_state["result"] = {
        "png": logic.png_bytes(result.image),
        "image": to_uint8(result.image),
        "file_name": logic.download_name(content.label, labels),
        "summary": (f"{result.message[0].upper()}{result.message[1:]}: {result.iterations} iterations in "
                    f"{result.elapsed:.1f} s on {result.backbone.upper()}, "
                    f"{result.image.shape[1]}×{result.image.shape[0]} px."),
        "chart": logic.loss_chart_data(result.history, result.config),
        "chart_note": "Weighted content and style terms; they add up to the loss that is minimised."
        + (" The jump is where the run moves from the coarse scale to the full size."
           if len(result.scale_shapes) > 1 else ""),
        "cli": logic.cli_command(result.config, content, styles, logic.download_name(content.label, labels),
                                 mask=mask_name),
        "notes": notes,
    }


def show_result(details: Any) -> None:
    """The result, its download and summary here; the loss curve and CLI line in ``details``."""
    outcome = st.session_state.get("result")
    if outcome is None:
        st.caption("The result appears here, with a live preview while it is computed.")
        return
    st.image(outcome["image"], caption=outcome["file_name"], width="stretch")
    st.download_button("⬇ Download PNG", data=outcome["png"], file_name=outcome["file_name"], mime="image/png",
                       on_click="ignore", type="primary", key="download")
    st.caption(outcome["summary"])
    for note in outcome["notes"]:
        st.warning(note)
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
    st.markdown(INTRO)
    for problem in st.session_state.get("_query_problems", []):
        st.warning(f"Link parameter {problem}.")

    inputs, right = st.columns([2, 1.3], gap="large")
    with inputs:
        left, middle = st.columns(2, gap="medium")
        with left:
            content = content_input(content_names)
        with middle:
            styles = style_inputs(style_names)
            mask, mask_name = mask_input(content)
        details = st.container()  # filled with the loss curve and CLI line once there is a result
    summary = sidebar(len(styles), [s.label for s in styles])

    with right:
        st.subheader("3 · Result")
        if summary.error:
            st.error(logic.error_sentence(nst.WeightsError(summary.error)))
        else:
            st.caption(f"Feature network: {summary.short}.", help=summary.description)
        ready = content is not None and bool(styles) and not summary.error
        clicked = st.button("▶ Run style transfer", type="primary", disabled=not ready, key="run",
                            width="stretch")
        auto = ready and st.session_state.pop("_auto_run", False)
        if clicked or auto:
            st.session_state.pop("result", None)
            try:
                config = logic.make_config(form_values(len(styles)), n_styles=len(styles))
                run_transfer(content, styles, mask, mask_name, config)
            except Exception as exc:  # noqa: BLE001 - the page shows one sentence, never a traceback
                show_error(exc)
        show_result(details)


try:
    main()
except Exception as exc:  # noqa: BLE001 - a bug must not put a traceback on the page; it goes to the log
    show_error(exc)
