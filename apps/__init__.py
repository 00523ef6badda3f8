"""The Streamlit page and its helpers (a front end of nst_lib; `make web`). A package only so that the
import contracts in pyproject.toml can name it: the page imports its helpers as top-level modules."""
