"""The FastAPI application: pages, the API, static files, security headers, error shapes."""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from typing import Any

from fastapi import Depends, FastAPI, Request, Response
from fastapi.openapi.utils import get_openapi
from fastapi.responses import JSONResponse
from fastapi.staticfiles import StaticFiles

from icploop import __version__
from icploop.config import Settings
from icploop.web import api, api_experiments, errors
from icploop.web.deps import guard_api
from icploop.web.pressure import GATE_WAIT, Gate
from icploop.web.routes import (
    accounts,
    alignment,
    analyses,
    audit,
    auth,
    dashboard,
    flags,
    icp,
    reasons,
    review,
    segments,
    tokens,
    watch,
)
from icploop.web.state import HERE, PinGeneration, WebState

# Everything is served from this origin: no CDN, no external fonts or scripts.
CSP = (
    "default-src 'self'; img-src 'self' data:; style-src 'self'; script-src 'self'; "
    "form-action 'self'; frame-ancestors 'none'; base-uri 'none'"
)


def create_app(settings: Settings) -> FastAPI:
    """The web app over one workspace (its store is migrated on start)."""
    app = FastAPI(
        lifespan=_scheduled(settings),
        title="icploop",
        version=__version__,
        description="The ICP refinement loop: accounts, fit tags, flags, ICP versions, metrics.",
        docs_url=None,
        redoc_url=None,
        openapi_url=None,  # served below, behind a token like the rest of the API
    )
    app.state.web = WebState(settings)
    errors.install(app)
    # each request reads one generation of the warehouse, whatever a load does meanwhile
    app.add_middleware(PinGeneration, state=app.state.web)
    # outermost: a request beyond the server's capacity is answered 503 before any work
    app.add_middleware(Gate, max_active=settings.web_max_active, wait=GATE_WAIT)

    @app.middleware("http")
    async def security_headers(
        request: Request, call_next: Callable[[Request], Awaitable[Response]]
    ) -> Response:
        response = await call_next(request)
        response.headers.setdefault("Content-Security-Policy", CSP)
        response.headers["X-Content-Type-Options"] = "nosniff"
        response.headers["X-Frame-Options"] = "DENY"
        response.headers["Referrer-Policy"] = "same-origin"
        if not request.url.path.startswith("/static/"):
            response.headers["Cache-Control"] = "no-store"
        return response

    app.mount("/static", StaticFiles(directory=str(HERE / "static")), name="static")
    app.include_router(auth.public)
    for module in (
        auth,
        dashboard,
        accounts,
        flags,
        icp,
        review,
        segments,
        analyses,
        reasons,
        alignment,
        audit,
        tokens,
        watch,
    ):
        app.include_router(module.router)
    app.include_router(api.router)
    app.include_router(api_experiments.router)

    @app.get(
        "/openapi.json", name="openapi", include_in_schema=False, dependencies=[Depends(guard_api)]
    )
    def openapi() -> JSONResponse:
        """The OpenAPI document of ``/api/v1``."""
        if app.openapi_schema is None:
            schema: dict[str, Any] = get_openapi(
                title=app.title, version=app.version, description=app.description, routes=app.routes
            )
            schema.setdefault("components", {}).setdefault("securitySchemes", {})["bearer"] = {
                "type": "http",
                "scheme": "bearer",
            }
            schema["security"] = [{"bearer": []}]
            app.openapi_schema = schema
        return JSONResponse(app.openapi_schema)

    return app


def _scheduled(settings: Settings) -> Callable[[FastAPI], AbstractAsyncContextManager[None]]:
    """The app's lifespan: the daily run on ``settings.schedule`` while it serves, if set."""

    @asynccontextmanager
    async def lifespan(_app: FastAPI) -> AsyncIterator[None]:
        if not settings.schedule:
            yield
            return
        from icploop.web.schedule import start_schedule

        scheduler = start_schedule(settings, settings.schedule)
        try:
            yield
        finally:
            scheduler.shutdown(wait=False)

    return lifespan


def app_from_env() -> FastAPI:
    """The app over the workspace named by ``ICPLOOP_WORKSPACE`` (uvicorn's factory entry)."""
    from icploop.config import load_settings

    return create_app(load_settings())
