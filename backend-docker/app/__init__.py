"""Todo Chatbot backend: FastAPI REST + chat, MCP tools, SQLModel storage."""
