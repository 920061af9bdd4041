"""Server-Sent Events: pure encoding and parsing, bytes in and bytes out."""
