"""``python -m pathways_notification``: serve the API, the consumers and the delivery worker."""

import os

import uvicorn

# As pathways_runtime.serve does, with the app built by its factory (nothing is built at import).
uvicorn.run("pathways_notification.app:create_app", factory=True, host=os.environ.get("HOST", "127.0.0.1"),
            port=int(os.environ.get("PORT", 8003)), log_config=None, access_log=False)
