"""The command line: ``tailsse serve``, ``agent``, ``follow`` and ``hash-password``."""
