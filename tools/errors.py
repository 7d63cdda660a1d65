"""Exceptions of the tools package. Each also inherits the matching builtin.

Tools turn `ToolError` (and failed file access in the Env) into error observations; only programming
or configuration mistakes (unknown tool name in `get_tools`) and a broken Env propagate.
"""

from __future__ import annotations


class ToolError(Exception):
    """Base class for every tools error."""


class ToolArgumentError(ToolError, ValueError):
    """The model called a tool with bad arguments; the message names the problem and the fix."""


class ToolExecutionError(ToolError, RuntimeError):
    """A bookkeeping command the tool ran itself failed (git, archive); the message says how."""


class ToolConfigError(ToolError, ValueError):
    """A tool name or configuration value given by the program (not the model) is wrong."""


class ToolStateError(ToolError, RuntimeError):
    """Tool state kept inside the Env (undo history, test manifest) is unreadable."""
