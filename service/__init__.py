"""The kvpareto prediction service: FastAPI over the torch-free `models` package.

Build the app with `service.main.create_app()`; serve it with
`uvicorn --factory service.main:create_app`.
"""
