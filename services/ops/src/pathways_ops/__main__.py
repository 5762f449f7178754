"""``python -m pathways_ops``: serve the ops console."""

import os

import uvicorn

uvicorn.run("pathways_ops.app:create_app", factory=True, host=os.environ.get("HOST", "127.0.0.1"),
            port=int(os.environ.get("PORT", 8004)), log_config=None, access_log=False)
