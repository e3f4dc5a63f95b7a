import json

import yaml
from flask import Response, request
from flask.typing import ResponseReturnValue
from flask_login import current_user

from webapp.api import schemas as s
from webapp.api.blueprint import api
from webapp.api.paging import TEXT_CURSOR, after_text_arg, page_args
from webapp.api.serialize import (
    dry_run_out,
    instance_out,
    respond,
    run_out,
    template_out,
    template_summary,
)
from webapp.api.spec import PAGE, TEXT_MEDIA, Query, endpoint, one_of
from webapp.services import dsl_io, instances, migration, templates

TAG = "Templates"


@endpoint(
    api,
    "/templates",
    "GET",
    summary="List templates (latest version of each)",
    tag=TAG,
    response=s.TemplateList,
    query={
        "q": Query("matches name, key or description"),
        "status": one_of("only this status", "DRAFT", "PUBLISHED", "ARCHIVED"),
        "allVersions": Query("true to list every version", {"type": "boolean"}),
        "after": Query(
            "keyset cursor (by name): pass the key of the last template of the previous "
            "page; the next page starts after that template's name and key",
            TEXT_CURSOR,
        ),
        **PAGE,
    },
)
def list_templates() -> ResponseReturnValue:
    limit, offset = page_args()
    after = after_text_arg("key")
    latest_only = request.args.get("allVersions") != "true"
    rows, total = templates.list_templates(
        current_user,
        request.args.get("q"),
        request.args.get("status"),
        latest_only=latest_only,
        limit=limit,
        offset=offset,
        after_key=after,
    )
    counts = templates.step_counts([t.id for t in rows])
    items = [template_summary(t, counts[t.id]) for t in rows]
    return respond(s.TemplateList(items=items, total=total))


@endpoint(
    api,
    "/templates",
    "POST",
    summary="Create a draft template",
    tag=TAG,
    body=s.TemplateIn,
    response=s.TemplateOut,
    status=201,
)
def create_template(body: s.TemplateIn) -> ResponseReturnValue:
    template = templates.create_template(
        current_user, body.name, body.steps, body.description, body.key
    )
    return respond(template_out(template), 201)


@endpoint(
    api,
    "/templates/<int:template_id>",
    "GET",
    summary="Get a template version",
    tag=TAG,
    response=s.TemplateOut,
)
def get_template(template_id: int) -> ResponseReturnValue:
    return respond(template_out(templates.get_template(template_id, current_user)))


@endpoint(
    api,
    "/templates/<int:template_id>",
    "PATCH",
    summary="Edit a draft; editing a published version creates the next draft (201)",
    tag=TAG,
    body=s.TemplatePatch,
    response=s.TemplateOut,
    also={201: "The version was published: the edit created and returns the next draft"},
)
def patch_template(template_id: int, body: s.TemplatePatch) -> ResponseReturnValue:
    command = templates.Update(body.name, body.description, body.steps)
    changed = templates.perform(current_user, template_id, command)
    return respond(template_out(changed.template), 201 if changed.created else 200)


@endpoint(
    api,
    "/templates/<int:template_id>/publish",
    "POST",
    summary="Publish a draft, at once or going live at effectiveFrom",
    tag=TAG,
    body=s.PublishIn,
    response=s.TemplateOut,
)
def publish_template(template_id: int, body: s.PublishIn) -> ResponseReturnValue:
    command = templates.Publish(body.effective_from)
    changed = templates.perform(current_user, template_id, command)
    return respond(template_out(changed.template))


@endpoint(
    api,
    "/templates/<int:template_id>/archive",
    "POST",
    summary="Archive a version",
    tag=TAG,
    response=s.TemplateOut,
)
def archive_template(template_id: int) -> ResponseReturnValue:
    changed = templates.perform(current_user, template_id, templates.Archive())
    return respond(template_out(changed.template))


@endpoint(
    api,
    "/templates/<int:template_id>/versions",
    "GET",
    summary="Every version of a template",
    tag=TAG,
    response=s.TemplateList,
)
def template_versions(template_id: int) -> ResponseReturnValue:
    rows = templates.list_versions(template_id, current_user)
    return respond(s.TemplateList(items=[template_summary(t) for t in rows], total=len(rows)))


@endpoint(
    api,
    "/templates/<int:template_id>/export",
    "GET",
    summary="Export as JSON or YAML",
    tag=TAG,
    query={"format": one_of("json (default) or yaml", "json", "yaml")},
    response=dsl_io.TemplateDocument,
    media=TEXT_MEDIA,
)
def export_template(template_id: int) -> ResponseReturnValue:
    template = templates.get_template(template_id, current_user)
    document = dsl_io.export_template(template, current_user)
    if request.args.get("format") == "yaml":  # json or yaml: check_query refuses the rest
        return Response(
            yaml.safe_dump(document, sort_keys=False, allow_unicode=True),
            mimetype="application/yaml",
        )
    return Response(json.dumps(document, indent=2), mimetype="application/json")


@endpoint(
    api,
    "/templates/import",
    "POST",
    summary="Import a JSON or YAML definition as a draft",
    tag=TAG,
    document=dsl_io.TemplateDocument,
    response=s.TemplateOut,
    status=201,
)
def import_template() -> ResponseReturnValue:
    document = dsl_io.parse_document(request.get_data(as_text=True), request.mimetype)
    template = dsl_io.import_template(current_user, document)
    return respond(template_out(template), 201)


@endpoint(
    api,
    "/dsl/schema",
    "GET",
    summary="The JSON Schema of a template document (export and import), with each action "
    "type's config",
    tag=TAG,
    response=s.JsonSchemaDocument,
    auth=False,
)
def dsl_schema() -> ResponseReturnValue:
    return respond(s.JsonSchemaDocument(dsl_io.document_schema()))


@endpoint(
    api,
    "/templates/<int:template_id>/instantiate",
    "POST",
    summary="Start a workflow on a matter (same requestId: same instance, 200)",
    tag=TAG,
    body=s.InstantiateIn,
    response=s.InstanceOut,
    status=201,
    also={200: "An instance with this requestId exists already: it is returned unchanged"},
)
def instantiate(template_id: int, body: s.InstantiateIn) -> ResponseReturnValue:
    instance, created = instances.instantiate(
        current_user,
        template_id,
        body.matter_id,
        body.title,
        body.parameters,
        body.request_id,
        started_by=instances.API,
    )
    return respond(instance_out(instance, current_user), 201 if created else 200)


@endpoint(
    api,
    "/templates/<int:template_id>/migrations",
    "POST",
    summary="Move every running workflow of fromVersion to this version: a dry run "
    "reports at once (200); a real run is queued for the worker (202)",
    tag=TAG,
    body=s.BulkMigrationIn,
    response=s.BulkMigrationOut,
    also={202: "A real run (dryRun false): queued; GET its id for progress and the report"},
)
def bulk_migration(template_id: int, body: s.BulkMigrationIn) -> ResponseReturnValue:
    if body.dry_run:
        items = migration.dry_run(current_user, template_id, body.from_version)
        target = templates.get_template(template_id, current_user)
        return respond(dry_run_out(target.key, body.from_version, target.version, items))
    run = migration.start_run(current_user, template_id, body.from_version)
    return respond(run_out(run, []), 202)


@endpoint(
    api,
    "/templates/<int:template_id>/migrations/<int:run_id>",
    "GET",
    summary="A bulk migration's progress and its report per workflow",
    tag=TAG,
    response=s.BulkMigrationOut,
)
def bulk_migration_run(template_id: int, run_id: int) -> ResponseReturnValue:
    run, items = migration.get_run(current_user, template_id, run_id)
    return respond(run_out(run, items))
