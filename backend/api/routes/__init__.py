"""The API's routers, one module per area; `backend.api.app` includes them in order."""
