"""The web app and REST API: pages rendered on the server and JSON under ``/api/v1``.

Surfaces render; they do not compute. Every page and endpoint calls the same domain functions the
CLI calls (``icploop.store.fit_tags``, ``icploop.flags``, ``icploop.icp.versions``,
``icploop.metrics``, ``icploop.segments``), so both show the same numbers.
"""

from icploop.web.app import create_app

__all__ = ["create_app"]
