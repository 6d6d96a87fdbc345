"""ASGI entry point `app.main:app` (uvicorn, gunicorn, or `python -m app`).

Settings are read from the environment at import; a missing BETTER_AUTH_SECRET
stops the process here with a message naming the variable.
"""

from . import logs
from .application import create_app
from .settings import load_settings

settings = load_settings()
logs.configure(settings.log_level)
app = create_app(settings)
