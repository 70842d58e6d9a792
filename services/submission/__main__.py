"""`python -m services.submission`: serve the submission API."""

import uvicorn

from services.submission.app import create_app
from shared.logs import configure_logging
from shared.settings import get_settings

if __name__ == "__main__":
    configure_logging()
    settings = get_settings()
    uvicorn.run(
        create_app(settings), host=settings.api_host, port=settings.api_port, log_config=None
    )
