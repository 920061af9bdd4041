"""Sources of positioned lines, the one fan-out over them, and the catalog a server offers."""
