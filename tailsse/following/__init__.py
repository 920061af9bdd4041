"""Following files like ``tail -F``: lines at byte positions, followers, the watcher, the file set."""
