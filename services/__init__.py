"""The service layer: one function per use case, shared by the HTTP API, the review page and the command line.

Each use case takes a unit of work (``services.unit_of_work.UnitOfWork``), and the library, a clock
and an id maker where it needs them, and owns ids, time, idempotency, storage and audit inside that
one unit of work: an action and its audit row are stored together or not at all. Refusals are
``services.errors`` exceptions, which the API maps to problem responses.

- ``evaluations``: ``evaluate``, ``read_evaluation``, ``queue``
- ``reviews``: ``record_review`` (a first review or an amendment)
- ``keys``: ``create_key``, ``list_keys``, ``revoke_key``, ``first_run_keys``, ``authenticate``
- ``sessions``: ``start_session``, ``resume_session``, ``end_session`` (the review page)
- ``audit``: ``read_audit``, ``export_audit``, ``record_denial``
- ``health``: ``readiness``
- ``courses``: ``start_course``, ``read_course``, ``record``, ``end_course``, ``list_courses``, ``next_step`` (TMS
  courses, their monitoring and their next step through the policies)

``services.memory.InMemoryUnitOfWork`` keeps everything in memory; ``storage.SqlUnitOfWork`` in the
database.
"""
