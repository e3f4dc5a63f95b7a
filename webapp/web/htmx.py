"""Answering HTMX requests: a named block of the page, several blocks out of band, a
redirect the browser follows, or an error shown where the person acted."""

from typing import Any

from flask import Response, make_response, redirect, render_template, request
from jinja2_fragments.flask import render_block
from werkzeug.wrappers import Response as BaseResponse

# The glue in static/js/app.js shows a response carrying this header next to the
# element that made the request, instead of swapping it over the page.
INLINE_ERROR_HEADER = "X-Matterflow-Error"


def is_htmx() -> bool:
    return request.headers.get("HX-Request") == "true"


def page_or_block(page: str, block: str, /, **context: Any) -> Any:
    """The whole page for a normal request, only `block` for an HTMX one."""
    if is_htmx():
        return render_block(page, block, **context)
    return render_template(page, **context)


def blocks(page: str, parts: list[tuple[str, dict[str, Any]]], /, **context: Any) -> str:
    """Several blocks of one page, each with its own extra context (e.g. one step group)."""
    return "".join(render_block(page, name, **{**context, **extra}) for name, extra in parts)


def redirect_to(url: str) -> BaseResponse:
    """HTMX follows HX-Redirect with a full page load; a plain form gets a 303."""
    if is_htmx():
        response = make_response("", 200)
        response.headers["HX-Redirect"] = url
        return response
    return redirect(url, code=303)


def inline_error(status: int, message: str) -> Response:
    response = make_response(
        render_template("errors/inline.html", status=status, message=message), status
    )
    response.headers[INLINE_ERROR_HEADER] = str(status)
    response.headers["HX-Reswap"] = "none"
    return response


def error_page(status: int, message: str) -> Response:
    if is_htmx():
        return inline_error(status, message)
    return make_response(
        render_template("errors/error.html", status=status, message=message), status
    )
