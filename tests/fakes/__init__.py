"""Test fakes shared by test packages (no mocks): a local OpenAI-compatible HTTP server."""

from .openai_server import FakeOpenAIServer, chat_response

__all__ = ["FakeOpenAIServer", "chat_response"]
