"""marshmallow schemas of every request and response, one module per resource: the single source of the OpenAPI
document.

The submission itself is the domain's ``eligibility.schemas.SubmissionSchema`` (the same schema the
command line validates with). Request schemas (``ReviewRequestSchema``, ``KeyRequestSchema`` and the
query arguments) load and validate. Response schemas only describe: every body is serialised once by
``services.documents.dumps`` (orjson), never dumped through these, and the test suite validates every
response against the generated document so the two cannot drift.

``base`` holds what every module uses, ``paging`` the one paging schema, ``problems`` the error body; the
others are one resource each: ``evaluations`` (with the review queue), ``reviews``, ``keys``, ``audit``,
``policies``, ``health``.
"""
