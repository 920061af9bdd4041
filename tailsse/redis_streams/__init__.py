"""Scale-out over Redis Streams: the agent that writes, the source a web node reads."""
