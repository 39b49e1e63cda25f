"""Routes outside the KIS gateway: the master-file download host and the simulator's stats.

`GET /common/master/<name>` stands in for KIS's public download host (SPEC §14: no
authentication, no rate limit), so `KIS_MASTER_URL` can point at `<rest_url>/common/master`.
`GET /sim/stats` reports what `SimState.snapshot()` holds; `POST /sim/stats/reset` zeroes it.
"""

from __future__ import annotations

from aiohttp import web

from kis_pipeline.simulator.corrupt import corrupt_master
from kis_pipeline.simulator.masters import master_file
from kis_pipeline.simulator.state import SimState


def add_admin_routes(app: web.Application, state: SimState) -> None:
    async def master(request: web.Request) -> web.Response:
        name = request.match_info["name"]
        content = master_file(state.market, name)
        if content is None:
            raise web.HTTPNotFound(text=f"no master file named {name!r}")
        content = corrupt_master(content, name, state.config.faults.corrupt)
        kind = "application/zip" if name.endswith(".zip") else "application/octet-stream"
        return web.Response(body=content, content_type=kind)

    async def stats(request: web.Request) -> web.Response:
        return web.json_response(state.snapshot())

    async def reset(request: web.Request) -> web.Response:
        state.reset_stats()
        return web.json_response({"reset": True})

    app.router.add_get("/common/master/{name}", master)
    app.router.add_get("/sim/stats", stats)
    app.router.add_post("/sim/stats/reset", reset)
