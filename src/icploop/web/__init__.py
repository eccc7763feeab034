"""The web app and REST API: pages rendered on the server and JSON under ``/api/v1``.

Surfaces render; they do not compute. Every page and endpoint calls the same domain functions the
CLI calls (``icploop.store.fit_tags``, ``icploop.flags``, ``icploop.icp.versions``,
``icploop.metrics``, ``icploop.segments``), so both show the same numbers. The app is built by
``icploop.web.app.create_app``; the package itself imports nothing, so the command line can use
its password helpers without loading the web framework.
"""
