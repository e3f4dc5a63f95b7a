from flask import Blueprint, jsonify, render_template_string

from webapp.api.spec import openapi_document

docs = Blueprint("api_docs", __name__)

# A readable page over the same document; no third-party UI is bundled.
DOCS_PAGE = """<!doctype html><html lang="en"><head><meta charset="utf-8">
<title>Matterflow API</title><link rel="stylesheet" href="{{ url_for('static', filename='css/app.css') }}">
</head><body class="docs"><main class="container"><h1>Matterflow API</h1>
<p>Machine-readable: <a href="{{ url_for('api_docs.openapi') }}">/api/openapi.json</a>.
Authenticate with <code>Authorization: Bearer &lt;token&gt;</code>.</p>
{% for path, ops in doc.paths.items() %}{% for method, op in ops.items() %}
<section class="card api-op"><h3><span class="badge">{{ method|upper }}</span> <code>{{ path }}</code></h3>
<p>{{ op.summary }}</p></section>{% endfor %}{% endfor %}</main></body></html>"""


@docs.get("/api/openapi.json")
def openapi():
    return jsonify(openapi_document("/api/v1"))


@docs.get("/api/docs")
def api_docs():
    return render_template_string(DOCS_PAGE, doc=openapi_document("/api/v1"))
