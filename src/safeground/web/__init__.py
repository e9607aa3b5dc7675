"""The web application: a FastAPI app over the services layer (``safeground serve``).

Layers: ``services <- web``. Handlers call services and return their documents; they never run SQL. Errors
raised anywhere below are :class:`safeground.domain.errors.SafeGroundError` and leave as RFC 9457 problem
documents carrying the same stable code the CLI prints (:mod:`safeground.web.problems`).

FastAPI (with pydantic, already the configuration's validator) gives typed handlers and an OpenAPI document
for free; uvicorn serves it.
"""
