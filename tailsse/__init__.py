"""tailsse: follow log files like ``tail -F`` and stream new lines as Server-Sent Events."""

__version__ = "0.1.0"
