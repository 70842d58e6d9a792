"""`python -m services.web`: serve the web pages."""

import uvicorn

from services.web.app import create_app
from shared.logs import configure_logging
from shared.settings import get_settings

if __name__ == "__main__":
    configure_logging()
    settings = get_settings()
    uvicorn.run(
        create_app(settings), host=settings.web_host, port=settings.web_port, log_config=None
    )
